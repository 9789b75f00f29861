"""Backup and restore of the kiosk's SQLite database while the kiosk keeps running.

Both directions use SQLite's online backup API: a backup is a consistent snapshot even while
the scanner is writing (WAL readers never block writers), and a restore replaces the live
database's pages in one transaction that the other processes see whole or not at all. A
restore accepts only a file that is a healthy Keryu database, keeps the database it replaces
next to it (`keryu.db.before-restore`), and migrates the restored schema to this version.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from appliance.errors import DatabaseMissing, UserError
from appliance.services.kiosk import Kiosk
from appliance.store.migrate import MIGRATIONS_DIR, upgrade

logger = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
REQUIRED_TABLES = ("alembic_version", "alarms")
BUSY_TIMEOUT_S = 30.0
PAGES_PER_STEP = 1024  # copy in slices so that writers get the lock between them


class NotAKeryuDatabase(UserError):
    """A file given to `restore` that is not a healthy Keryu database."""


@dataclass(frozen=True)
class BackupInfo:
    """What a backup or restore copied, for the user's confirmation line."""

    path: Path
    size: int
    alarms: int
    revision: str | None


def database_path(kiosk: Kiosk) -> Path:
    """The SQLite file of the kiosk's database (backups are a SQLite feature)."""
    url = make_url(kiosk.store.url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise UserError("Backup and restore work on the kiosk's SQLite database; use pg_dump for PostgreSQL.")
    return Path(url.database)


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _describe(conn: sqlite3.Connection, path: Path) -> BackupInfo:
    alarms = conn.execute("SELECT count(*) FROM alarms").fetchone()[0]
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return BackupInfo(path=path, size=path.stat().st_size, alarms=alarms, revision=row[0] if row else None)


def backup_to(kiosk: Kiosk, path: Path | str) -> BackupInfo:
    """Write a consistent copy of the live database to `path` (a single self-contained file)."""
    source_path = database_path(kiosk)
    if not source_path.is_file():
        raise DatabaseMissing(f"There is no database at {source_path} to back up; run `keryu init` first.")
    target = Path(path)
    if target.resolve() == source_path.resolve():
        raise UserError("The backup file must not be the live database itself.")
    if not target.parent.is_dir():
        raise UserError(f"Cannot write the backup: the folder {target.parent} does not exist.")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    source = _connect(source_path)
    copy = _connect(partial)
    try:
        source.backup(copy, pages=PAGES_PER_STEP)
        # One file, no -wal beside it: the copy can be mailed, downloaded or restored as is.
        copy.execute("PRAGMA journal_mode=DELETE")
        info = _describe(copy, partial)
    finally:
        copy.close()
        source.close()
    _fsync(partial)
    os.replace(partial, target)
    _fsync(target.parent)
    info = BackupInfo(path=target, size=target.stat().st_size, alarms=info.alarms, revision=info.revision)
    logger.info("Backed up the database to %s (%d alarms, %d bytes)", target, info.alarms, info.size)
    return info


def check_backup(path: Path | str) -> BackupInfo:
    """Raise `NotAKeryuDatabase` unless `path` is an intact Keryu database this version can use."""
    path = Path(path)
    if not path.is_file():
        raise NotAKeryuDatabase(f"{path} is not a Keryu database: there is no such file.")
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise NotAKeryuDatabase(f"{path} is not a Keryu database: it is not an SQLite file.")
    try:
        conn = _connect(path, readonly=True)
    except sqlite3.Error as exc:
        raise NotAKeryuDatabase(f"{path} is not a Keryu database: SQLite cannot open it ({exc}).") from None
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [name for name in REQUIRED_TABLES if name not in tables]
        if missing:
            raise NotAKeryuDatabase(f"{path} is not a Keryu database: it has no {' or '.join(missing)} table.")
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise NotAKeryuDatabase(f"{path} is damaged: SQLite's integrity check found {problems[0]!r}.")
        info = _describe(conn, path)
    except sqlite3.DatabaseError as exc:
        raise NotAKeryuDatabase(f"{path} is not a Keryu database: {exc}.") from None
    finally:
        conn.close()
    known = {script.revision for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}
    if info.revision not in known:
        raise NotAKeryuDatabase(
            f"{path} comes from a different Keryu version (schema revision {info.revision}); update this kiosk first."
        )
    return info


def restore_from(kiosk: Kiosk, path: Path | str) -> BackupInfo:
    """Replace the live database with the backup at `path`, after checking it is one."""
    info = check_backup(path)
    target_path = database_path(kiosk)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    if target_path.is_file():
        keep = target_path.with_name(target_path.name + ".before-restore")
        backup_to(kiosk, keep)
        logger.info("Kept the database being replaced as %s", keep)
    source = _connect(Path(path), readonly=True)
    target = _connect(target_path)
    try:
        # Pages replaced in one transaction: other processes see the old or the new database.
        source.backup(target)
    except sqlite3.Error as exc:
        raise UserError(f"Could not restore {path}: {exc}.") from None
    finally:
        target.close()
        source.close()
    kiosk.store.dispose()  # drop pooled connections that saw the old pages
    upgrade(kiosk.store)
    conn = _connect(target_path, readonly=True)
    try:
        if [row[0] for row in conn.execute("PRAGMA integrity_check")] != ["ok"]:
            raise UserError(f"The restored database at {target_path} failed its integrity check.")
        restored = _describe(conn, target_path)
    finally:
        conn.close()
    logger.info("Restored the database from %s (%d alarms)", path, restored.alarms)
    return BackupInfo(path=Path(path), size=info.size, alarms=restored.alarms, revision=restored.revision)
