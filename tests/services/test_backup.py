"""Backup and restore: an online, consistent copy; a restore that refuses anything but a healthy
Keryu database and keeps what it replaces."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.errors import DatabaseMissing, UserError
from appliance.services.backup import NotAKeryuDatabase, backup_to, check_backup, database_path, restore_from
from appliance.services.kiosk import Kiosk
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject


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

    info = restore_from(kiosk, tmp_path / "monday.db")

    live = database_path(kiosk)
    assert info.alarms == 1
    assert alarm_ids(live) == [kept]
    assert alarm_ids(live.with_name("keryu.db.before-restore")) == [kept, later]
    with sqlite3.connect(live) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # the kiosk keeps working on the restored database
    assert add_alarm(kiosk, "Carla") > kept


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
        assert not (tmp_path / "new-card" / "keryu.db.before-restore").exists()
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
    assert not database_path(kiosk).with_name("keryu.db.before-restore").exists()


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
