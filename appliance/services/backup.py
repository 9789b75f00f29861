"""Backup of the kiosk's SQLite database while the kiosk keeps running, without the device's secrets.

A backup is SQLite's online backup of the live database (a consistent snapshot even while the
scanner writes: WAL readers never block writers), from which everything that is the device's
own rather than its data is then deleted for good (secure_delete, then VACUUM): the admin
password hash, the session key, the setup code, the admin sessions. What stays is named here:
`BACKED_UP_TABLES` and, of the parameters, `BACKED_UP_PARAMETERS`; anything added later is the
device's own until it is named. Restoring is in `services/restore.py`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from appliance.errors import DatabaseMissing, UserError
from appliance.services.kiosk import Kiosk
from appliance.services.parameters import CHANNEL

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 30.0
PAGES_PER_STEP = 1024  # copy in slices so that writers get the lock between them
# The kiosk's data: what a backup holds and a restore copies. `alembic_version` travels too.
BACKED_UP_TABLES = (
    "custodians",
    "subjects",
    "cards",
    "alarms",
    "delivery_attempts",
    "scan_events",
    "system_parameters",
)
BACKED_UP_PARAMETERS = frozenset({CHANNEL})
# The publishers' outbox (migration 0008): news for MQTT and the webhook, never backed up; a
# restore empties it, so restored alarms are not published again, and each publisher starts anew.
OUTBOX_TABLES = frozenset({"outbox_events", "outbox_cursors"})
# Kept by the database's own triggers from the alarms: a restore rebuilds them, never copies them.
DERIVED_TABLES = frozenset({"alarm_status_counts", *OUTBOX_TABLES})
# Written into the copy only, so that a restore can say when the backup was made.
BACKUP_MADE_AT = "backup_made_at"


class NotAKeryuDatabase(UserError):
    """A file given to `restore` that is not a healthy Keryu database of a schema this version made."""


@dataclass(frozen=True)
class BackupInfo:
    """What a backup holds, for the user's confirmation line or page."""

    path: Path
    size: int
    revision: str | None
    alarms: int
    subjects: int = 0
    cards: int = 0
    attempts: int = 0
    scan_events: int = 0
    made_at: datetime | None = None  # when the backup was made, if the file records it


def database_path(kiosk: Kiosk) -> Path:
    """The SQLite file of the kiosk's database (backups are a SQLite feature)."""
    url = make_url(kiosk.store.url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise UserError("Backup and restore work on the kiosk's SQLite database; use pg_dump for PostgreSQL.")
    return Path(url.database)


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A plain sqlite3 connection that waits for the other processes' locks."""
    if readonly:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def describe(conn: sqlite3.Connection, path: Path, schema: str = "main") -> BackupInfo:
    """Counts, revision and date of the Keryu database open as `schema` on `conn`."""

    def count(table: str) -> int:
        return conn.execute(f'SELECT count(*) FROM {schema}."{table}"').fetchone()[0]

    revision = conn.execute(f"SELECT version_num FROM {schema}.alembic_version").fetchone()
    made_at = conn.execute(f"SELECT value FROM {schema}.system_parameters WHERE key = ?", (BACKUP_MADE_AT,)).fetchone()
    return BackupInfo(
        path=path,
        size=path.stat().st_size,
        revision=revision[0] if revision else None,
        alarms=count("alarms"),
        subjects=count("subjects"),
        cards=count("cards"),
        attempts=count("delivery_attempts"),
        scan_events=count("scan_events"),
        made_at=_parse_time(made_at[0]) if made_at else None,
    )


def describe_file(path: Path) -> BackupInfo:
    """Counts, revision and date of the Keryu database file at `path`, opened read-only."""
    conn = connect(path, readonly=True)
    try:
        return describe(conn, path)
    finally:
        conn.close()


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def snapshot(source_path: Path, target: Path) -> None:
    """A consistent, self-contained copy of `source_path` at `target` (replaced whole, or not at all)."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    source = connect(source_path)
    copy = connect(partial)
    try:
        source.backup(copy, pages=PAGES_PER_STEP)
        # One file, no -wal beside it: the copy can be mailed, downloaded or restored as is.
        copy.execute("PRAGMA journal_mode=DELETE")
    except BaseException:
        copy.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    copy.close()
    fsync(partial)
    os.replace(partial, target)
    fsync(target.parent)


def _strip_device_secrets(path: Path, made_at: datetime) -> None:
    """Delete every row that is the device's own, leaving no trace of it in the file."""
    conn = connect(path)
    try:
        conn.execute("PRAGMA secure_delete=ON")  # freed space is zeroed, not left readable
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        with conn:
            for table in tables:
                if table not in BACKED_UP_TABLES and table != "alembic_version" and not table.startswith("sqlite_"):
                    conn.execute(f'DELETE FROM "{table}"')
            kept = sorted(BACKED_UP_PARAMETERS)
            conn.execute(f"DELETE FROM system_parameters WHERE key NOT IN ({', '.join('?' * len(kept))})", kept)
            conn.execute(
                "INSERT INTO system_parameters (key, value, updated_at) VALUES (?, ?, ?)",
                (BACKUP_MADE_AT, made_at.isoformat(timespec="seconds"), made_at.strftime("%Y-%m-%d %H:%M:%S.%f")),
            )
        conn.execute("VACUUM")  # rewrite every page: nothing deleted survives in free pages
    finally:
        conn.close()


def backup_to(kiosk: Kiosk, path: Path | str) -> BackupInfo:
    """Write a consistent copy of the live database's data (no device secrets) to `path`, one file."""
    source_path = database_path(kiosk)
    if not source_path.is_file():
        raise DatabaseMissing(
            "There is no database at {path} to back up; run `keryu init` first.", path=str(source_path)
        )
    target = Path(path)
    if target.resolve() == source_path.resolve():
        raise UserError("The backup file must not be the live database itself.")
    if not target.parent.is_dir():
        raise UserError("Cannot write the backup: the folder {folder} does not exist.", folder=str(target.parent))
    staged = target.with_name(f".{target.name}.staged")
    staged.unlink(missing_ok=True)
    try:
        snapshot(source_path, staged)
        _strip_device_secrets(staged, kiosk.clock.now())
        fsync(staged)
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    fsync(target.parent)
    info = describe_file(target)
    logger.info("Backed up the database to %s (%d alarms, %d bytes)", target, info.alarms, info.size)
    return info
