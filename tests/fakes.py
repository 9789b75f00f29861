"""Test doubles for the seams that cannot be real in a test: time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self, start: datetime | None = None, *, synced: bool = True):
        self._now = start or datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
        self._mono = 1000.0
        self.is_synced = synced
        self.boot = "boot-1"

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def synced(self) -> bool:
        return self.is_synced

    def boot_id(self) -> str:
        return self.boot

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds

    def sync(self, to: datetime) -> None:
        """The network time arrives: the wall clock jumps to `to`; monotonic time does not move."""
        self._now = to
        self.is_synced = True

    def reboot(self, boot: str, stale: datetime | None = None) -> None:
        """A power cut and a new boot: monotonic time starts again, the wall clock from a stale guess."""
        self.boot = boot
        self._mono = 10.0
        self._now = stale or self._now
        self.is_synced = False
