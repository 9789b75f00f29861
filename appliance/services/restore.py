"""Restore of a backup that runs nothing the file brings.

The file is opened read-only with SQLite's untrusted-schema protection on, and its schema must
be exactly the one this version's migrations create at the file's revision: one trigger, view,
table, index or column more (or less) and it is refused with a sentence naming it. Its rows are
then copied, table by table and known column by known column, into a fresh database the
migrations build beside the live one, in one transaction; the migrations take that database up
to this version, and the device's own secrets and sessions are copied in from the live database
(a restore keeps the device's password, session key and logged-in browsers: a backup never
holds them). Only when that staged database passes its checks is the live one kept as
`keryu.db.before-restore-<time>` and its pages replaced in one SQLite transaction (the backup
API honours WAL and the other processes' locks, so they see the old or the new database, never
a mix, and no `-wal` file of the old one is ever read against the new). On any error before
that, the live database is untouched. The services keep running; restart them to drop caches.
"""

from __future__ import annotations

import functools
import logging
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from appliance.clock import Clock
from appliance.errors import UserError
from appliance.services.backup import (
    BACKED_UP_PARAMETERS,
    BACKED_UP_TABLES,
    DERIVED_TABLES,
    OUTBOX_TABLES,
    BackupInfo,
    NotAKeryuDatabase,
    connect,
    database_path,
    describe,
    describe_file,
    snapshot,
)
from appliance.services.kiosk import Kiosk
from appliance.store.db import Store
from appliance.store.migrate import head_revision, known_revisions, upgrade

logger = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
REQUIRED_TABLES = ("alembic_version", "alarms")


@dataclass(frozen=True)
class SchemaObject:
    """One `sqlite_master` entry: its type, its table, and for a table its columns."""

    type: str
    table: str
    columns: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RestoreInfo:
    """What a restore put in place, and where the database it replaced was kept."""

    restored: BackupInfo
    kept: Path | None


def _open_untrusted(path: Path) -> sqlite3.Connection:
    conn = connect(path, readonly=True)
    _distrust(conn)
    return conn


def _distrust(conn: sqlite3.Connection) -> None:
    # Functions with side effects may not run from a schema (views, triggers, defaults, indexes).
    conn.execute("PRAGMA trusted_schema=OFF")
    conn.execute("PRAGMA cell_size_check=ON")


def _schema(conn: sqlite3.Connection, schema: str = "main") -> dict[str, SchemaObject]:
    """Every object of `schema` but SQLite's own `sqlite_*` ones (which no SQL can create)."""
    objects = {}
    rows = conn.execute(f"SELECT type, name, tbl_name, sql FROM {schema}.sqlite_master").fetchall()
    for kind, name, table, sql in rows:
        if name.startswith("sqlite_"):
            continue
        if kind == "table" and not (sql or "").lstrip().upper().startswith("CREATE TABLE"):
            kind = "virtual table"  # runs a module's code on every read
        columns = frozenset()
        if kind == "table":
            columns = frozenset(row[1] for row in conn.execute(f'PRAGMA {schema}.table_xinfo("{name}")'))
        objects[name] = SchemaObject(kind, table, columns)
    return objects


def _migrate(path: Path, revision: str) -> None:
    store = Store(f"sqlite:///{path}")
    try:
        upgrade(store, revision)
    finally:
        store.dispose()


@functools.cache
def _reference(revision: str) -> dict[str, SchemaObject]:
    """The schema this version's migrations create at `revision` (built once per process)."""
    with tempfile.TemporaryDirectory(prefix="keryu-schema-") as folder:
        path = Path(folder) / "reference.db"
        _migrate(path, revision)
        conn = sqlite3.connect(path)
        try:
            return _schema(conn)
        finally:
            conn.close()


def _check_schema(path: Path | str, found: dict[str, SchemaObject], revision: str) -> None:
    """Refuse, naming it, the first object the migrations do not create exactly so."""
    expected = _reference(revision)
    for name, obj in sorted(found.items(), key=lambda item: item[0]):
        wanted = expected.get(name)
        if wanted is None or (wanted.type, wanted.table) != (obj.type, obj.table):
            raise NotAKeryuDatabase(
                "{path} holds a {kind} {name!r} that this version of Keryu does not create; nothing was restored.",
                path=str(path),
                kind=obj.type,
                name=name,
            )
        if obj.columns != wanted.columns:
            odd = sorted(obj.columns ^ wanted.columns)
            raise NotAKeryuDatabase(
                "{path} has a table {name!r} whose columns differ from this version's ({columns});"
                " nothing was restored.",
                path=str(path),
                name=name,
                columns=", ".join(odd),
            )
    for name in sorted(expected.keys() - found.keys()):
        raise NotAKeryuDatabase(
            "{path} lacks the {kind} {name!r} of its schema; nothing was restored.",
            path=str(path),
            kind=expected[name].type,
            name=name,
        )


def check_backup(file: Path | str, label: str | None = None) -> BackupInfo:
    """What the backup `file` holds; raises `NotAKeryuDatabase` (naming it `label`, if given) unless this
    version may restore it."""
    file = Path(file)
    path = label or str(file)
    if not file.is_file():
        raise NotAKeryuDatabase("{path} is not a Keryu database: there is no such file.", path=path)
    with file.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise NotAKeryuDatabase("{path} is not a Keryu database: it is not an SQLite file.", path=path)
    try:
        conn = _open_untrusted(file)
    except sqlite3.Error as exc:
        raise NotAKeryuDatabase(
            "{path} is not a Keryu database: SQLite cannot open it ({problem}).", path=path, problem=str(exc)
        ) from None
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [name for name in REQUIRED_TABLES if name not in tables]
        if missing:
            raise NotAKeryuDatabase(
                "{path} is not a Keryu database: it has no {tables} table.", path=path, tables=" or ".join(missing)
            )
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise NotAKeryuDatabase(
                "{path} is damaged: SQLite's integrity check found {problem!r}.", path=path, problem=problems[0]
            )
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
        if revision not in known_revisions():
            raise NotAKeryuDatabase(
                "{path} comes from a different Keryu version (schema revision {revision}); update this kiosk first.",
                path=path,
                revision=revision,
            )
        _check_schema(path, _schema(conn), revision)
        return describe(conn, file)
    except sqlite3.DatabaseError as exc:
        raise NotAKeryuDatabase("{path} is not a Keryu database: {problem}.", path=path, problem=str(exc)) from None
    finally:
        conn.close()


def _columns(conn: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f'PRAGMA {schema}.table_info("{table}")')]


def _copy(conn: sqlite3.Connection, source: str, table: str, where: str = "", params: tuple[str, ...] = ()) -> None:
    """Rows of `source`.`table` into main's, by the columns main's table has (named, never `*`)."""
    shared = [c for c in _columns(conn, "main", table) if c in set(_columns(conn, source, table))]
    names = ", ".join(f'"{c}"' for c in shared)
    conn.execute(f'INSERT INTO main."{table}" ({names}) SELECT {names} FROM {source}."{table}" {where}', params)


def _fill_from_backup(staged: Path, backup: Path, revision: str, label: str) -> None:
    """The backup's data into a database the migrations built at the backup's revision, in one transaction."""
    _migrate(staged, revision)
    conn = sqlite3.connect(staged, isolation_level=None)
    try:
        _distrust(conn)
        conn.execute("PRAGMA foreign_keys=OFF")  # rows come in any order; checked once all are in
        conn.execute("ATTACH DATABASE ? AS backup", (f"{backup.resolve().as_uri()}?mode=ro",))
        _check_schema(label, _schema(conn, "backup"), revision)  # the file may have changed since its check
        kept = sorted(BACKED_UP_PARAMETERS)
        conn.execute("BEGIN")
        for table in BACKED_UP_TABLES:
            if table == "system_parameters":
                _copy(conn, "backup", table, f"WHERE key IN ({', '.join('?' * len(kept))})", tuple(kept))
            else:
                _copy(conn, "backup", table)
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE backup")
        broken = conn.execute("PRAGMA foreign_key_check").fetchone()
        if broken:
            raise NotAKeryuDatabase(
                "{path} has a row in {table} that points at a missing {parent} row.",
                path=label,
                table=broken[0],
                parent=broken[2],
            )
    finally:
        conn.close()


def _keep_device_rows(staged: Path, live: Path) -> None:
    """The device's own parameters and tables (password, keys, sessions) from the live database."""
    conn = sqlite3.connect(staged, isolation_level=None)
    try:
        conn.execute("ATTACH DATABASE ? AS live", (str(live),))
        live_tables = {row[0] for row in conn.execute("SELECT name FROM live.sqlite_master WHERE type = 'table'")}
        staged_tables = {row[0] for row in conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")}
        device_tables = staged_tables & live_tables - set(BACKED_UP_TABLES) - DERIVED_TABLES - {"alembic_version"}
        kept = sorted(BACKED_UP_PARAMETERS)
        conn.execute("BEGIN")
        if "system_parameters" in live_tables:
            where = f"WHERE key NOT IN ({', '.join('?' * len(kept))})"
            _copy(conn, "live", "system_parameters", where, tuple(kept))
        for table in sorted(t for t in device_tables if not t.startswith("sqlite_")):
            _copy(conn, "live", table)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise UserError(
            "The live database at {path} cannot be read ({problem}); move it aside and restore again.",
            path=str(live),
            problem=str(exc),
        ) from None
    finally:
        conn.close()


def _empty_outbox(staged: Path) -> None:
    """What the triggers wrote while the backup's rows were copied in is not news: it goes."""
    conn = sqlite3.connect(staged, isolation_level=None)
    try:
        for table in sorted(OUTBOX_TABLES):
            conn.execute(f'DELETE FROM "{table}"')
    finally:
        conn.close()


def _verify(staged: Path) -> None:
    conn = connect(staged)
    try:
        if [row[0] for row in conn.execute("PRAGMA integrity_check")] != ["ok"]:
            raise UserError("The restored database failed its integrity check; nothing was restored.")
        if conn.execute("SELECT version_num FROM alembic_version").fetchone() != (head_revision(),):
            raise UserError("The restored database did not reach this version's schema; nothing was restored.")
    finally:
        conn.close()


def _keep_path(live: Path, clock: Clock) -> Path:
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    candidate = live.with_name(f"{live.name}.before-restore-{stamp}")
    number = 1
    while candidate.exists():
        number += 1
        candidate = live.with_name(f"{live.name}.before-restore-{stamp}-{number}")
    return candidate


def _replace_pages(staged: Path, live: Path) -> None:
    source = connect(staged)
    target = connect(live)
    try:
        source.backup(target)  # every page in one transaction: the other processes see old or new
    except sqlite3.Error as exc:
        raise UserError(
            "Could not write the restored database into {path}: {problem}.", path=str(live), problem=str(exc)
        ) from None
    finally:
        target.close()
        source.close()


def restore_from(kiosk: Kiosk, path: Path | str, label: str | None = None) -> RestoreInfo:
    """Replace the live database's data with the backup at `path`, after the checks above."""
    backup = Path(path)
    info = check_backup(backup, label)
    live = database_path(kiosk)
    live.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".restore-", dir=live.parent))
    kept = None
    try:
        staged = folder / live.name
        _fill_from_backup(staged, backup, str(info.revision), label or str(backup))
        _migrate(staged, "head")
        _empty_outbox(staged)
        if live.is_file():
            _keep_device_rows(staged, live)
        _verify(staged)
        if live.is_file():
            kept = _keep_path(live, kiosk.clock)
            snapshot(live, kept)
            shutil.copymode(live, kept)
            logger.info("Kept the database being replaced as %s", kept)
        _replace_pages(staged, live)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    kiosk.store.dispose()  # drop pooled connections that saw the old pages
    restored = describe_file(live)
    logger.info("Restored the database from %s (%d alarms, schema %s)", backup, restored.alarms, restored.revision)
    return RestoreInfo(restored=restored, kept=kept)
