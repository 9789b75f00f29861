"""`keryu backup` and `keryu restore` as a person types them on the device."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

KERYU = str(Path(sys.executable).with_name("keryu"))


def keryu(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KERYU_", "REDIS_", "CELERY_"))}
    env.update(KERYU_DATA_DIR=str(data_dir), KERYU_CAMERA="none", REDIS_URL="redis://127.0.0.1:9/0")
    env["KERYU_LANGUAGE"] = "en"  # an English kiosk: the refusals below are read in English
    return subprocess.run([KERYU, *args], env=env, cwd=data_dir, capture_output=True, text=True, timeout=60)


@pytest.fixture
def device(tmp_path: Path) -> Path:
    """A data folder with a database holding one subject and one alarm."""
    data = tmp_path / "data"
    data.mkdir()
    assert keryu(data, "init").returncode == 0
    added = keryu(data, "subject", "add", "--name", "Ana", "--phone", "+525512345678")
    assert added.returncode == 0, added.stderr
    card = json.loads(added.stdout)["card_uuid"]
    with sqlite3.connect(data / "keryu.db") as conn:
        assert conn.execute("SELECT count(*) FROM cards WHERE uuid = ?", (card,)).fetchone()[0] == 1
    return data


def subject_names(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM subjects ORDER BY id")]


def test_backup_then_restore_round_trip(device: Path, tmp_path: Path) -> None:
    out = tmp_path / "backup.db"
    made = keryu(device, "backup", "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"Backup written to {out} (")
    assert subject_names(out) == ["Ana"]

    assert keryu(device, "subject", "add", "--name", "Beto", "--phone", "+525512345679").returncode == 0
    assert subject_names(device / "keryu.db") == ["Ana", "Beto"]

    restored = keryu(device, "restore", str(out))
    assert restored.returncode == 0, restored.stderr
    assert "restored" in restored.stdout and "restart the kiosk" in restored.stdout
    assert subject_names(device / "keryu.db") == ["Ana"]
    [kept] = device.glob("keryu.db.before-restore-*")
    assert f"kept as {kept}" in restored.stdout
    assert subject_names(kept) == ["Ana", "Beto"]


@pytest.mark.parametrize(
    ("statement", "name"),
    [
        (
            "CREATE TRIGGER reroute AFTER INSERT ON alarms BEGIN UPDATE alarms SET recipient_phone = '+1555'; END",
            "reroute",
        ),
        ("CREATE VIEW everything AS SELECT * FROM alarms", "everything"),
    ],
    ids=["trigger", "view"],
)
def test_restore_refuses_a_backup_carrying_a_trigger_or_view(
    device: Path, tmp_path: Path, statement: str, name: str
) -> None:
    backup = tmp_path / "tampered.db"
    assert keryu(device, "backup", "--out", str(backup)).returncode == 0
    with sqlite3.connect(backup) as conn:
        conn.execute(statement)
    live = (device / "keryu.db").read_bytes()

    refused = keryu(device, "restore", str(backup))

    assert refused.returncode == 2, refused.stdout
    assert refused.stderr.startswith(f"keryu: {backup} holds a ") and repr(name) in refused.stderr
    assert "Traceback" not in refused.stderr and refused.stderr.count("\n") == 1
    assert (device / "keryu.db").read_bytes() == live
    assert list(device.glob("keryu.db.before-restore*")) == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not an SQLite file"),
        (b"WHATSAPP_ACCESS_TOKEN=x\n", "not an SQLite file"),
        (None, "no alembic_version or alarms table"),
    ],
    ids=["empty", "text", "other-sqlite"],
)
def test_restore_refuses_with_one_sentence(device: Path, tmp_path: Path, content: bytes | None, reason: str) -> None:
    bad = tmp_path / "bad.db"
    if content is None:
        with sqlite3.connect(bad) as conn:
            conn.execute("CREATE TABLE t (x)")
    else:
        bad.write_bytes(content)

    refused = keryu(device, "restore", str(bad))

    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.startswith(f"keryu: {bad} is not a Keryu database") and reason in refused.stderr
    assert "Traceback" not in refused.stderr and refused.stderr.count("\n") == 1
    assert subject_names(device / "keryu.db") == ["Ana"]


def test_backup_without_a_database_says_so(tmp_path: Path) -> None:
    result = keryu(tmp_path, "backup", "--out", str(tmp_path / "x.db"))
    assert result.returncode == 2
    assert "keryu init" in result.stderr and "Traceback" not in result.stderr
