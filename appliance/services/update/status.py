"""The last update's outcome, as the admin page shows it: written by the root-run updater into its
own folder, read by the unprivileged web process."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from appliance.services.update.journal import write_atomic


@dataclass(frozen=True)
class UpdateStatus:
    """One line for the admin page: `state` is installing, installed, refused or rolled-back."""

    state: str
    version: str | None
    message: str
    at: float

    @property
    def failed(self) -> bool:
        return self.state in ("refused", "rolled-back")


def record(path: Path, state: str, version: str | None, message: str) -> UpdateStatus:
    status = UpdateStatus(state=state, version=version, message=message, at=time.time())
    write_atomic(path, json.dumps(asdict(status)).encode())
    return status


def last(path: Path) -> UpdateStatus | None:
    """The last outcome, or None when no update ever ran here (or the file is unreadable)."""
    try:
        return UpdateStatus(**json.loads(path.read_bytes()))
    except (OSError, ValueError, TypeError):
        return None
