"""Time, behind a seam so that debounce, backoff and leases can be tested with fake time."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from appliance.timesync import BOOT_ID_FILE, TIMESYNC_RUN_DIR, boot_id, clock_synced


class Clock(Protocol):
    """Where code that reasons about time gets it."""

    def now(self) -> datetime:
        """Aware UTC wall-clock time."""
        ...

    def monotonic(self) -> float:
        """Seconds since this boot's start (the same for every process of the boot); never goes backwards."""
        ...

    def synced(self) -> bool:
        """Whether `now` is the real time (the network time arrived this boot), not a stale guess."""
        ...

    def boot_id(self) -> str:
        """Which boot `monotonic` counts from."""
        ...


class SystemClock:
    """The real clock; the time-sync and boot-id files move for tests."""

    def __init__(self, timesync_dir: Path = TIMESYNC_RUN_DIR, boot_id_file: Path = BOOT_ID_FILE):
        self.timesync_dir = timesync_dir
        self.boot_id_file = boot_id_file

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def synced(self) -> bool:
        return clock_synced(self.timesync_dir)

    def boot_id(self) -> str:
        return boot_id(self.boot_id_file)


def utcnow() -> datetime:
    """Aware UTC now; the one spelling used for timestamps stored in the database."""
    return datetime.now(UTC)
