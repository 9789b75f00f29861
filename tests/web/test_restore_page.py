"""Restoring a backup from the settings page: upload, a summary to confirm, then the restore,
with the same checks as `keryu restore` and a CSRF token on both steps."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from aiohttp import FormData

from appliance.services.backup import backup_to, database_path
from appliance.services.kiosk import Kiosk
from appliance.store.migrate import head_revision
from tests.web.conftest import Admin, make_subject

pytestmark = pytest.mark.asyncio


def subject_names(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM subjects ORDER BY id")]


def dump(path: Path) -> list[str]:
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        return list(conn.iterdump())


def uploads(kiosk: Kiosk) -> list[Path]:
    return sorted((kiosk.settings.data_dir / "run").glob("restore-upload-*"))


async def upload(admin: Admin, path: Path, *, token: str | None = None):
    if not admin.token:
        await admin.page("/settings")
    form = FormData()
    form.add_field("csrf_token", admin.token if token is None else token)
    form.add_field("backup", path.read_bytes(), filename=path.name, content_type="application/vnd.sqlite3")
    return await admin.client.post("/settings/restore", data=form, allow_redirects=False)


def pending_upload(page: str) -> str:
    """The upload token the confirmation form carries."""
    return page.split('name="upload" value="')[1].split('"')[0]


@pytest.fixture
def monday(kiosk: Kiosk, tmp_path: Path) -> Path:
    """A backup holding the subject Ana; Beto is added to the live kiosk after it was made."""
    make_subject(kiosk, "Ana")
    path = tmp_path / "keryu-backup-monday.db"
    backup_to(kiosk, path)
    make_subject(kiosk, "Beto", "55 1234 5679")
    return path


async def test_the_page_restores_a_backup_in_two_steps(admin: Admin, kiosk: Kiosk, monday: Path) -> None:
    live = database_path(kiosk)

    shown = await upload(admin, monday)

    text = await shown.text()
    assert shown.status == 200, text
    assert "keryu-backup-monday.db" in text and "<dt>Personas</dt><dd>1</dd>" in text
    assert f"revisión {head_revision()}" in text
    assert subject_names(live) == ["Ana", "Beto"]  # nothing changes before the confirmation
    upload_token = pending_upload(text)

    done = await admin.submit("/settings/restore/confirm", {"upload": upload_token})

    assert (done.status, done.headers["Location"]) == (303, "/settings")
    assert subject_names(live) == ["Ana"]
    [kept] = live.parent.glob("keryu.db.before-restore-*")
    assert subject_names(kept) == ["Ana", "Beto"]
    page = await admin.page("/settings")  # still logged in: a restore keeps the device's sessions
    assert "Respaldo restaurado" in page and "systemctl restart keryu.target" in page
    assert uploads(kiosk) == []


async def test_the_restore_steps_need_the_csrf_token(admin: Admin, kiosk: Kiosk, monday: Path) -> None:
    live = database_path(kiosk)
    refused = await upload(admin, monday, token="forged")
    assert refused.status == 403 and uploads(kiosk) == []

    shown = await upload(admin, monday)
    upload_token = pending_upload(await shown.text())
    refused = await admin.client.post(
        "/settings/restore/confirm", data={"upload": upload_token, "csrf_token": "forged"}, allow_redirects=False
    )
    assert refused.status == 403
    assert subject_names(live) == ["Ana", "Beto"]


async def test_a_confirmation_restores_only_the_upload_this_browser_was_shown(
    admin: Admin, kiosk: Kiosk, monday: Path
) -> None:
    first = pending_upload(await (await upload(admin, monday)).text())
    await upload(admin, monday)  # another tab replaced it

    refused = await admin.submit("/settings/restore/confirm", {"upload": first})

    assert refused.status == 400 and "vuelva a subir el respaldo" in await refused.text()
    assert subject_names(database_path(kiosk)) == ["Ana", "Beto"]
    assert len(uploads(kiosk)) == 1


@pytest.mark.page_language("en")  # the message is checked in English
@pytest.mark.parametrize(
    ("statement", "name"),
    [
        ("CREATE TRIGGER reroute AFTER INSERT ON alarms BEGIN UPDATE alarms SET recipient_phone = '1'; END", "reroute"),
        ("CREATE VIEW everything AS SELECT * FROM alarms", "everything"),
    ],
    ids=["trigger", "view"],
)
async def test_a_backup_carrying_a_trigger_or_view_is_refused_by_the_page(
    admin: Admin, kiosk: Kiosk, monday: Path, statement: str, name: str
) -> None:
    with sqlite3.connect(monday) as conn:
        conn.execute(statement)
    live = database_path(kiosk)
    before = dump(live)

    refused = await upload(admin, monday)

    text = await refused.text()
    assert refused.status == 400 and "keryu-backup-monday.db holds a" in text and name in text
    assert dump(live) == before and uploads(kiosk) == []


async def test_a_damaged_file_is_refused_by_the_page(admin: Admin, kiosk: Kiosk, monday: Path) -> None:
    data = bytearray(monday.read_bytes())
    data[4096 + 8 : 4096 + 400] = b"\xff" * 392
    monday.write_bytes(bytes(data))
    before = dump(database_path(kiosk))

    refused = await upload(admin, monday)

    assert refused.status == 400 and "keryu-backup-monday.db" in await refused.text()
    assert dump(database_path(kiosk)) == before and uploads(kiosk) == []


async def test_a_backup_larger_than_an_ordinary_request_can_be_uploaded(
    admin: Admin, kiosk: Kiosk, monday: Path
) -> None:
    with sqlite3.connect(monday) as conn:
        conn.executemany(
            "INSERT INTO scan_events (created_at, source, outcome, payload)"
            " VALUES ('2026-01-01', 'camera', 'unknown', ?)",
            [("x" * 200,) for _ in range(15_000)],
        )
    assert monday.stat().st_size > 3 * 1024 * 1024

    shown = await upload(admin, monday)

    assert shown.status == 200 and "<dt>Escaneos</dt><dd>15000</dd>" in await shown.text()
