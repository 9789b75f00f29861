"""The database around an update: its revision, a copy before the migrations, and putting that
copy back. The services are stopped meanwhile, so plain file copies (with the WAL) are consistent,
and root never opens the database (SQLite would leave root-owned -wal/-shm files behind)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from appliance.services.update.journal import fsync_dir

SUFFIXES = ("", "-wal")


def sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:/// URL, else None."""
    prefix = "sqlite:///"
    return Path(url.removeprefix(prefix)) if url.startswith(prefix) else None


def revision(database: Path) -> str | None:
    """The Alembic revision of `database` (None: no database yet), read without locks or side files."""
    if not database.is_file():
        return None
    try:
        with sqlite3.connect(f"file:{database}?immutable=1", uri=True) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _copy(source: Path, target: Path) -> None:
    partial = target.with_name(f".{target.name}.partial")
    shutil.copy2(source, partial)
    if os.geteuid() == 0:  # the keryu user keeps owning its database
        stat = source.stat()
        os.chown(partial, stat.st_uid, stat.st_gid)
    with partial.open("rb+") as handle:
        os.fsync(handle.fileno())
    partial.replace(target)


def size(database: Path) -> int:
    files = [Path(f"{database}{suffix}") for suffix in SUFFIXES]
    return sum(path.stat().st_size for path in files if path.exists())


def back_up(database: Path, folder: Path) -> None:
    """Copy the database (and its WAL) into `folder`, replacing an older copy there."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    for suffix in SUFFIXES:
        source = Path(f"{database}{suffix}")
        if source.exists():
            _copy(source, folder / source.name)
    fsync_dir(folder)


def restore(database: Path, folder: Path) -> None:
    """Put the copy in `folder` back (idempotent: a power cut during it is undone by doing it again)."""
    for suffix in SUFFIXES:
        saved = folder / f"{database.name}{suffix}"
        live = Path(f"{database}{suffix}")
        if saved.exists():
            _copy(saved, live)
        else:
            live.unlink(missing_ok=True)
    Path(f"{database}-shm").unlink(missing_ok=True)
    fsync_dir(database.parent)
