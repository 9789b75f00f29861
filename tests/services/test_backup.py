"""Backup and restore: an online, consistent copy without the device's secrets; a restore that
refuses anything but a healthy Keryu database of this version's schema and keeps what it replaces."""

from __future__ import annotations

import base64
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from appliance.config import load_settings
from appliance.errors import DatabaseMissing, UserError
from appliance.services.auth import (
    ADMIN_PASSWORD_HASH,
    SESSION_SECRET,
    session_secret,
    set_up_admin,
    verify_admin_password,
)
from appliance.services.backup import BACKED_UP_TABLES, DERIVED_TABLES, NotAKeryuDatabase, backup_to, database_path
from appliance.services.kiosk import Kiosk
from appliance.services.parameters import get_channel, get_parameter, set_channel, set_parameter
from appliance.services.restore import check_backup, restore_from
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.services.web_sessions import session_is_active, start_session
from appliance.store.db import Store
from appliance.store.migrate import head_revision, upgrade
from appliance.store.models import Alarm, Base


def add_alarm(kiosk: Kiosk, name: str = "Ana") -> int:
    """A subject with a card, scanned once: one PENDING alarm in the database."""
    card = add_subject(kiosk, SubjectInput(name=name, phone="+525512345678", custodian_name="Rosa"))
    result = record_scan(kiosk, card.uuid, ScanSource.FILE)
    assert result.alarm_id is not None
    return result.alarm_id


def alarm_ids(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM alarms ORDER BY id")]


def test_backup_is_one_self_contained_file_with_every_committed_alarm(kiosk: Kiosk, tmp_path: Path) -> None:
    first, second = add_alarm(kiosk, "Ana"), add_alarm(kiosk, "Beto")
    out = tmp_path / "keryu-backup.db"

    info = backup_to(kiosk, out)

    assert info.alarms == 2 and info.size == out.stat().st_size and info.revision
    assert alarm_ids(out) == [first, second]
    with sqlite3.connect(out) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("keryu-backup", ".keryu"))) == [
        "keryu-backup.db"
    ]


def test_backup_runs_beside_an_open_write_and_copies_only_what_is_committed(kiosk: Kiosk, tmp_path: Path) -> None:
    committed = add_alarm(kiosk)
    writer = sqlite3.connect(database_path(kiosk), isolation_level=None, timeout=1)
    writer.execute("BEGIN IMMEDIATE")  # the scanner in the middle of recording an alarm
    writer.execute("UPDATE alarms SET subject_name = 'not yet committed'")
    writer.execute("DELETE FROM scan_events")
    try:
        info = backup_to(kiosk, tmp_path / "during-write.db")
    finally:
        writer.execute("COMMIT")
        writer.close()

    assert info.alarms == 1
    assert alarm_ids(tmp_path / "during-write.db") == [committed]
    with sqlite3.connect(tmp_path / "during-write.db") as conn:
        assert conn.execute("SELECT subject_name FROM alarms").fetchone()[0] == "Ana"
        assert conn.execute("SELECT count(*) FROM scan_events").fetchone()[0] == 1


def test_backup_while_alarms_keep_arriving_is_consistent(kiosk: Kiosk, tmp_path: Path) -> None:
    add_alarm(kiosk)
    stop = threading.Event()

    def scanner() -> None:
        while not stop.is_set():
            add_alarm(kiosk, "Carla")

    thread = threading.Thread(target=scanner)
    thread.start()
    try:
        infos = [backup_to(kiosk, tmp_path / f"b{i}.db") for i in range(5)]
    finally:
        stop.set()
        thread.join()

    for i, info in enumerate(infos):
        assert check_backup(tmp_path / f"b{i}.db").alarms == info.alarms
    assert [info.alarms for info in infos] == sorted(info.alarms for info in infos)


def test_restore_brings_back_the_backup_and_keeps_the_replaced_database(kiosk: Kiosk, tmp_path: Path) -> None:
    kept = add_alarm(kiosk, "Ana")
    backup_to(kiosk, tmp_path / "monday.db")
    later = add_alarm(kiosk, "Beto")

    result = restore_from(kiosk, tmp_path / "monday.db")

    live = database_path(kiosk)
    assert result.restored.alarms == 1
    assert alarm_ids(live) == [kept]
    assert result.kept is not None and result.kept.name.startswith("keryu.db.before-restore-")
    assert kept_copies(live) == [result.kept]
    assert alarm_ids(result.kept) == [kept, later]
    with sqlite3.connect(live) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # the kiosk keeps working on the restored database
    assert add_alarm(kiosk, "Carla") > kept


def kept_copies(live: Path) -> list[Path]:
    """The databases a restore kept next to `live` before replacing it."""
    return sorted(live.parent.glob(f"{live.name}.before-restore-*"))


def fresh_kiosk(data_dir: Path) -> Kiosk:
    """A kiosk on a data folder where `keryu init` never ran (a new SD card)."""
    return Kiosk.from_settings(load_settings(KERYU_DATA_DIR=str(data_dir), KERYU_CAMERA="none"))


def test_restore_onto_a_new_card_without_a_database(kiosk: Kiosk, tmp_path: Path) -> None:
    alarm = add_alarm(kiosk)
    backup_to(kiosk, tmp_path / "old-kiosk.db")
    new_kiosk = fresh_kiosk(tmp_path / "new-card")
    try:
        assert not database_path(new_kiosk).exists()
        restore_from(new_kiosk, tmp_path / "old-kiosk.db")
        assert database_path(new_kiosk) == (tmp_path / "new-card" / "keryu.db").resolve()
        assert alarm_ids(database_path(new_kiosk)) == [alarm]
        assert kept_copies(database_path(new_kiosk)) == []
    finally:
        new_kiosk.close()


def _sqlite_file(path: Path, *statements: str) -> None:
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)


def _damaged_copy(kiosk: Kiosk, path: Path) -> None:
    for i in range(30):
        add_alarm(kiosk, f"Subject {i}")
    backup_to(kiosk, path)
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page * 2, len(data) - page, page):
        data[offset + 8 : offset + 200] = b"\xff" * 192  # scribble over every b-tree page's cells
    path.write_bytes(bytes(data))


BAD_FILES = [
    ("missing", lambda kiosk, p: None, "there is no such file"),
    ("empty", lambda kiosk, p: p.write_bytes(b""), "not an SQLite file"),
    ("text", lambda kiosk, p: p.write_text("KERYU_WEB_PORT=80\n"), "not an SQLite file"),
    ("png", lambda kiosk, p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100), "not an SQLite file"),
    (
        "other-app",
        lambda kiosk, p: _sqlite_file(p, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"),
        "no alembic_version or alarms table",
    ),
    (
        "no-alarms",
        lambda kiosk, p: _sqlite_file(p, "CREATE TABLE alembic_version (version_num TEXT)"),
        "no alarms table",
    ),
    (
        "future-version",
        lambda kiosk, p: (
            backup_to(kiosk, p),
            _sqlite_file(p, "UPDATE alembic_version SET version_num = '9999_from_the_future'"),
        ),
        "different Keryu version",
    ),
    ("damaged", _damaged_copy, "damaged|malformed|not a Keryu database"),
]


@pytest.mark.parametrize(
    ("make", "reason"), [(make, reason) for _, make, reason in BAD_FILES], ids=[b[0] for b in BAD_FILES]
)
def test_restore_refuses_what_is_not_a_healthy_keryu_database(kiosk: Kiosk, tmp_path: Path, make, reason) -> None:
    before = add_alarm(kiosk)
    bad = tmp_path / "suspect.db"
    make(kiosk, bad)
    live_before = alarm_ids(database_path(kiosk))

    with pytest.raises(NotAKeryuDatabase, match=reason) as refused:
        restore_from(kiosk, bad)

    assert str(bad) in str(refused.value)
    assert isinstance(refused.value, UserError)  # the CLI prints it as one sentence
    assert alarm_ids(database_path(kiosk)) == live_before and before in live_before
    assert kept_copies(database_path(kiosk)) == []


def test_backup_needs_a_database(kiosk: Kiosk, tmp_path: Path) -> None:
    empty = fresh_kiosk(tmp_path / "x")
    try:
        with pytest.raises(DatabaseMissing):
            backup_to(empty, tmp_path / "out.db")
    finally:
        empty.close()


@pytest.mark.parametrize(
    ("target", "message"),
    [("live", "must not be the live database"), ("no-folder", "does not exist")],
)
def test_backup_refuses_a_bad_target(kiosk: Kiosk, tmp_path: Path, target: str, message: str) -> None:
    path = database_path(kiosk) if target == "live" else tmp_path / "nowhere" / "out.db"
    with pytest.raises(UserError, match=message):
        backup_to(kiosk, path)


# --- the device's secrets stay on the device ----------------------------------------------


PASSWORD = "correct horse battery"
SETUP_CODE = "4821-7730-1956"


def _device_secrets(kiosk: Kiosk) -> dict[str, str]:
    """A kiosk with an admin password, a session key, a setup code and a logged-in browser."""
    set_up_admin(kiosk, PASSWORD)
    session_secret(kiosk)
    with kiosk.store.session() as session:
        set_parameter(session, "setup_code", SETUP_CODE)
        set_channel(session, 2)
    token = start_session(kiosk)
    with kiosk.store.read() as session:
        secrets = {key: get_parameter(session, key) or "" for key in (ADMIN_PASSWORD_HASH, SESSION_SECRET)}
    return {**secrets, "setup_code": SETUP_CODE, "token": token}


def test_a_backup_file_holds_no_password_hash_no_session_key_and_no_sessions(kiosk: Kiosk, tmp_path: Path) -> None:
    add_alarm(kiosk)
    secrets = _device_secrets(kiosk)
    out = tmp_path / "backup.db"

    backup_to(kiosk, out)

    raw = out.read_bytes()
    for name in (ADMIN_PASSWORD_HASH, SESSION_SECRET, "setup_code"):
        value = secrets[name]
        assert value and value.encode() not in raw, f"the backup holds {name}"
    with sqlite3.connect(out) as conn:
        parameters = dict(conn.execute("SELECT key, value FROM system_parameters").fetchall())
        assert conn.execute("SELECT count(*) FROM web_sessions").fetchone()[0] == 0
    assert parameters.pop("channel") == "2"
    assert set(parameters) == {"backup_made_at"}
    assert check_backup(out).made_at == datetime.fromisoformat(parameters["backup_made_at"])


def test_every_table_is_either_backed_up_or_the_devices_own() -> None:
    assert set(Base.metadata.tables) - set(BACKED_UP_TABLES) - DERIVED_TABLES == {"web_sessions"}


def test_restoring_keeps_the_devices_password_key_and_sessions(kiosk: Kiosk, tmp_path: Path) -> None:
    """Even a backup that carries a password hash and a session key (as they once did) brings neither."""
    alarm = add_alarm(kiosk)
    mine = _device_secrets(kiosk)
    backup = tmp_path / "from-another-kiosk.db"
    backup_to(kiosk, backup)
    with sqlite3.connect(backup) as conn:  # the other kiosk's secrets, as an old backup carried them
        conn.executemany(
            "INSERT OR REPLACE INTO system_parameters (key, value, updated_at) VALUES (?, ?, '2026-01-01 00:00:00')",
            [(ADMIN_PASSWORD_HASH, PasswordHasher().hash("the other kiosk's")), (SESSION_SECRET, "A" * 44)],
        )

    restore_from(kiosk, backup)

    assert alarm_ids(database_path(kiosk)) == [alarm]
    assert verify_admin_password(kiosk, PASSWORD) and not verify_admin_password(kiosk, "the other kiosk's")
    assert base64.urlsafe_b64encode(session_secret(kiosk)).decode() == mine[SESSION_SECRET]
    assert session_is_active(kiosk, mine["token"])
    with kiosk.store.read() as session:
        assert get_parameter(session, "setup_code") == SETUP_CODE
        assert get_channel(session) == 2  # a setting travels with the data


# --- a restore runs nothing the file brings --------------------------------------------------

REWRITE = "UPDATE alarms SET recipient_phone = '+15550100000'"
SMUGGLED = [
    ("trigger", f"CREATE TRIGGER reroute AFTER INSERT ON alarms BEGIN {REWRITE}; END", "reroute"),
    ("view", "CREATE VIEW recent AS SELECT * FROM alarms", "recent"),
    ("table", "CREATE TABLE payload (x)", "payload"),
    ("index", "CREATE INDEX ix_sneaky ON alarms (recipient_phone)", "ix_sneaky"),
    ("column", "ALTER TABLE alarms ADD COLUMN extra TEXT", "extra"),
    ("missing index", "DROP INDEX ix_alarms_created_at", "ix_alarms_created_at"),
]


def dump(path: Path) -> list[str]:
    """Schema and rows of the database at `path`, read-only."""
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        return list(conn.iterdump())


@pytest.mark.parametrize(("statement", "name"), [s[1:] for s in SMUGGLED], ids=[s[0] for s in SMUGGLED])
def test_a_backup_carrying_schema_of_its_own_is_refused_and_the_live_database_is_unchanged(
    kiosk: Kiosk, tmp_path: Path, statement: str, name: str
) -> None:
    add_alarm(kiosk)
    backup = tmp_path / "tampered.db"
    backup_to(kiosk, backup)
    _sqlite_file(backup, statement)
    live = database_path(kiosk)
    before = dump(live)

    with pytest.raises(NotAKeryuDatabase, match=name) as refused:
        restore_from(kiosk, backup)

    assert str(refused.value).count(". ") == 0 and "\n" not in str(refused.value)  # one sentence
    assert dump(live) == before
    assert kept_copies(live) == [] and list(live.parent.glob(".restore-*")) == []
    add_alarm(kiosk, "Beto")  # a scan after the attempt is recorded as scanned
    with sqlite3.connect(live) as conn:
        assert {row[0] for row in conn.execute("SELECT recipient_phone FROM alarms")} == {"+525512345678"}


def test_a_backup_of_an_older_schema_is_migrated_on_restore(kiosk: Kiosk, tmp_path: Path) -> None:
    _device_secrets(kiosk)
    old = tmp_path / "made-by-0001.db"
    store = Store(f"sqlite:///{old}")
    upgrade(store, "0001")
    store.dispose()
    _sqlite_file(
        old,
        "INSERT INTO custodians VALUES (1, 'Rosa', '+525512345678', '2026-01-01 00:00:00')",
        "INSERT INTO subjects VALUES (1, 'Ana', 1, '', 1, '2026-01-01 00:00:00')",
        "INSERT INTO alarms (id, subject_id, subject_name, recipient_phone, created_at, location, is_test,"
        " notification_status, notification_sent, notification_attempts, plan_position, channel_attempts,"
        " updated_at, channel_plan) VALUES (7, 1, 'Ana', '+525512345678', '2026-01-01 00:00:00', '', 0, 'SENT',"
        " 1, 1, 0, 0, '2026-01-01 00:00:00', '1,3')",
    )
    assert check_backup(old).revision == "0001"

    result = restore_from(kiosk, old)

    assert result.restored.revision == head_revision() and result.restored.alarms == 1
    with kiosk.store.read() as session:
        assert session.scalars(select(Alarm.channel_plan)).all() == [[1, 3]]
    assert verify_admin_password(kiosk, PASSWORD)
