"""`keryu init`: create the kiosk's database or migrate it to this version's schema.

The data folder and a SQLite database in it are the owner's alone (0700 and 0600): they hold the
admin password hash, the session key and every custodian's phone number. Modes are set with
chmod after creating, so a permissive umask of whoever runs `keryu init` does not matter.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from appliance.services.kiosk import Kiosk
from appliance.store.migrate import upgrade

logger = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")  # SQLite gives new ones the database file's mode


@dataclass(frozen=True)
class Migration:
    """Where the schema was and where it is now (None: the database was empty)."""

    database: str  # the URL without its password
    before: str | None
    after: str | None


def migrate(kiosk: Kiosk) -> Migration:
    """Bring the schema to the newest revision; running it again changes nothing."""
    make_private_dir(kiosk.settings.data_dir)
    database = sqlite_file(kiosk.store.url)
    if database is not None:
        _create_private_file(database)
    before, after = upgrade(kiosk.store)
    if database is not None:
        for path in (database, *(Path(f"{database}{suffix}") for suffix in SQLITE_COMPANIONS)):
            if path.exists():
                _restrict(path, PRIVATE_FILE)
    return Migration(database=kiosk.store.display_url, before=before, after=after)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def make_private_dir(path: Path) -> None:
    """Create `path` (and its parents) if needed, and leave it readable by its owner only."""
    path.mkdir(parents=True, exist_ok=True)
    _restrict(path, PRIVATE_DIR)


def _restrict(path: Path, mode: int) -> None:
    if path.stat().st_uid == os.geteuid():
        path.chmod(mode)
    else:  # chmod would fail; a folder someone else gave us keeps the modes they chose
        logger.warning("%s belongs to another user; not changing its permissions", path)


def _create_private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))  # never readable by others, even briefly
        path.chmod(PRIVATE_FILE)  # a strict umask may have taken the owner's own bits
