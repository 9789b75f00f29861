"""The update journal: one small JSON file, rewritten atomically at each step, so that the next
start knows how far an interrupted update got and can undo it (`keryu update --resume`)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

# The steps in order; each is written once it is complete.
STEPS = ("verified", "installed", "stopped", "backed-up", "migrated", "switched", "started")


@dataclass(frozen=True)
class Entry:
    """What an update in progress is doing: from which version to which, and its last finished step."""

    version: str  # the version being installed (or rolled back to)
    previous: str  # the venv the link pointed to before
    step: str
    database: str | None  # the SQLite file the update backs up
    backup: str | None  # the folder holding that backup
    kind: str = "update"  # or "rollback" (`keryu update --rollback`)

    def reached(self, step: str) -> bool:
        return STEPS.index(self.step) >= STEPS.index(step)

    def at(self, step: str) -> Entry:
        return replace(self, step=step)


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in `folder` survive a power cut."""
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data`: a power cut leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)
    fsync_dir(path.parent)


def write(path: Path, entry: Entry) -> None:
    write_atomic(path, json.dumps(asdict(entry), indent=2).encode())


def read(path: Path) -> Entry | None:
    """The journal, or None when no update is in progress (writes are atomic: never half a file)."""
    try:
        body = json.loads(path.read_bytes())
        return Entry(**body)
    except FileNotFoundError:
        return None


def clear(path: Path) -> None:
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)
