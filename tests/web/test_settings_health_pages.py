"""Settings (channel, credentials without secrets, test message), health, metrics and the backup download."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from appliance.services.parameters import get_channel
from appliance.store.models import Alarm
from tests.web.conftest import API_TOKEN, Admin, make_alarms

pytestmark = pytest.mark.asyncio

SECRETS = {
    "whatsapp_access_token": "EAAG-very-secret-token",
    "whatsapp_phone_number_id": "1234567890",
    "twilio_account_sid": "AC" + "5" * 32,
    "twilio_auth_token": "twilio-secret-auth-token",
    "twilio_phone_number": "+15005550006",
}


async def test_channel_can_be_changed(kiosk, admin: Admin):
    text = await admin.page("/settings")
    assert 'value="1" checked' in text
    response = await admin.submit("/settings/channel", {"channel": "3"})
    assert (response.status, response.headers["Location"]) == (303, "/settings")
    with kiosk.store.read() as session:
        assert get_channel(session) == 3
    text = await admin.page("/settings")
    assert 'value="3" checked' in text and "canal 3, Twilio SMS" in text


@pytest.mark.page_language("en")  # the message is checked in English
@pytest.mark.parametrize("value", ["0", "4", "", "sms"])
async def test_a_bad_channel_is_refused(kiosk, admin: Admin, value):
    await admin.page("/settings")
    response = await admin.submit("/settings/channel", {"channel": value})
    assert response.status == 400
    assert "Channel must be 1" in await response.text()
    with kiosk.store.read() as session:
        assert get_channel(session) == 1


@pytest.mark.parametrize("settings", [SECRETS], indirect=True)
async def test_settings_say_which_channels_are_ready_and_never_show_secrets(kiosk, admin: Admin):
    text = await admin.page("/settings")
    for secret in SECRETS.values():
        assert secret not in text
    assert "<code>WHATSAPP_ACCESS_TOKEN</code> configurada" in text
    assert "<code>TWILIO_WHATSAPP_NUMBER</code> falta" in text
    assert text.count(">sí</span>") == 2 and text.count(">no</span>") == 1  # Twilio WhatsApp lacks its number
    assert "Test gate" in text


async def test_test_message_records_a_test_alarm(kiosk, admin: Admin):
    await admin.page("/settings")
    response = await admin.submit("/settings/test-message", {"phone": "55 1234 5678"})
    with kiosk.store.read() as session:
        [alarm] = session.query(Alarm).all()
    assert alarm.is_test and alarm.recipient_phone == "+525512345678"
    assert response.headers["Location"] == f"/alarms/{alarm.id}"
    assert "en cola para +525512345678" in await admin.page(response.headers["Location"])


@pytest.mark.page_language("en")  # the message is checked in English
async def test_test_message_to_a_bad_number_is_a_clear_400(kiosk, admin: Admin):
    await admin.page("/settings")
    response = await admin.submit("/settings/test-message", {"phone": "123"})
    assert response.status == 400 and "not a valid phone number" in await response.text()
    with kiosk.store.read() as session:
        assert session.query(Alarm).count() == 0


async def test_api_health_is_open_and_names_every_component(client):
    response = await client.get("/api/health")
    assert response.status == 200
    report = await response.json()
    assert report["status"] == "degraded"  # no Redis, worker, beat or scanner in this test
    assert report["components"]["database"]["status"] == "ok"
    assert report["components"]["redis"]["status"] == "down"
    assert report["components"]["web"]["status"] == "ok"
    assert {"database", "redis", "worker", "beat", "scanner", "disk", "web"} <= set(report["components"])


async def test_health_page(admin: Admin):
    text = await admin.page("/health")
    assert "Estado del sistema: " in text and "base de datos" in text and "Redis (cola)" in text


async def test_metrics_need_auth_and_count_from_the_database(kiosk, client):
    from appliance.services.auth import set_up_admin

    set_up_admin(kiosk, "admin-password")
    make_alarms(kiosk, 2, status="FAILED")
    assert (await client.get("/metrics")).status == 401
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {API_TOKEN}"})
    text = await response.text()
    assert response.status == 200 and response.content_type == "text/plain"
    assert 'keryu_alarms{status="FAILED"} 2.0' in text
    assert "keryu_delivery_latency_seconds_bucket" in text


async def test_static_files_are_cached(client):
    response = await client.get("/static/style.css")
    assert response.status == 200 and response.headers["Cache-Control"] == "public, max-age=3600"
    response = await client.get("/static/app.js?v=anything")
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


async def test_backup_downloads_a_copy_of_the_database(kiosk, admin: Admin, tmp_path):
    make_alarms(kiosk, 3)
    await admin.page("/")
    response = await admin.submit("/backup", form_page="/")
    assert response.status == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="keryu-backup-')
    copy = tmp_path / "copy.db"
    copy.write_bytes(await response.read())
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT count(*) FROM alarms").fetchone() == (3,)
    for _ in range(50):  # the handler deletes its file after the last byte went out
        if not list((kiosk.settings.data_dir / "run").glob("web-backup-*")):
            break
        await asyncio.sleep(0.02)
    assert list((kiosk.settings.data_dir / "run").glob("web-backup-*")) == []  # nothing left behind
