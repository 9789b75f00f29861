"""What an admin or a script does with an alarm: retry a FAILED one (whatever made it fail, and only
where a retry can work), resolve it with a note, and see an unconfirmable WhatsApp SENT said plainly."""

from __future__ import annotations

import pytest

from appliance.services.auth import set_up_admin
from appliance.store.models import Alarm, AlarmStatus, DeliveryAttempt
from tests.web.conftest import API_TOKEN, PASSWORD, Admin, make_alarms

pytestmark = [pytest.mark.asyncio, pytest.mark.page_language("en")]  # read in an English browser

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
SMS = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t" * 32, "TWILIO_PHONE_NUMBER": "+14155550100"}
META = {"WHATSAPP_PHONE_NUMBER_ID": "123456", "WHATSAPP_ACCESS_TOKEN": "token"}
with_settings = pytest.mark.parametrize("settings", [SMS], indirect=True)


def _undelivered(kiosk) -> int:
    """An alarm SMS took, then reported undeliverable: FAILED after SENT."""
    [alarm_id] = make_alarms(
        kiosk,
        1,
        status=AlarmStatus.FAILED,
        notification_sent=True,
        channel=3,
        message_sid="SM" + "1" * 32,
        provider_status="failed",
        notification_error="Provider reported the message undeliverable: unreachable (code 30003)",
    )
    with kiosk.store.session() as session:
        session.add(DeliveryAttempt(alarm_id=alarm_id, channel=3, outcome="sent", provider_message_id="SM" + "1" * 32))
    return alarm_id


def _alarm(kiosk, alarm_id: int) -> Alarm:
    with kiosk.store.read() as session:
        alarm = session.get(Alarm, alarm_id)
        assert alarm is not None
        session.expunge(alarm)
        return alarm


@with_settings
async def test_a_script_retries_an_alarm_the_provider_reported_undeliverable(kiosk, client):
    alarm_id = _undelivered(kiosk)
    response = await client.post(f"/api/alarms/{alarm_id}/retry", headers=AUTH)
    record = await response.json()
    assert response.status == 200, record
    assert (record["notification_status"], record["notification_sent"], record["message_sid"]) == (
        "PENDING",
        False,
        None,
    )
    assert [attempt["outcome"] for attempt in record["attempts"]] == ["undelivered"]  # sent anew, not "finished"


@with_settings
async def test_the_retry_button_is_on_a_failed_alarm_only(kiosk, admin: Admin):
    failed, sent = _undelivered(kiosk), make_alarms(kiosk, 1, status=AlarmStatus.SENT, channel=3)[0]
    assert "Retry from the first channel" in await admin.page(f"/alarms/{failed}")
    assert "Retry from the first channel" not in await admin.page(f"/alarms/{sent}")
    response = await admin.submit(f"/alarms/{failed}/retry")
    assert response.status == 303
    assert _alarm(kiosk, failed).notification_status == AlarmStatus.PENDING


async def test_without_any_channel_the_page_says_why_instead_of_a_retry_button(kiosk, admin: Admin):
    [alarm_id] = make_alarms(kiosk, 1, status=AlarmStatus.FAILED)
    text = await admin.page(f"/alarms/{alarm_id}")
    assert "Retry from the first channel" not in text
    assert "No channel has credentials" in text
    response = await admin.submit(f"/alarms/{alarm_id}/retry")
    assert response.status == 400
    assert _alarm(kiosk, alarm_id).notification_status == AlarmStatus.FAILED


@with_settings
async def test_a_script_cannot_retry_an_alarm_that_did_not_fail(kiosk, client):
    [alarm_id] = make_alarms(kiosk, 1, status=AlarmStatus.SENT, channel=3)
    response = await client.post(f"/api/alarms/{alarm_id}/retry", headers=AUTH)
    assert response.status == 400
    assert "only a FAILED alarm can be retried" in (await response.json())["error"]


async def test_a_script_resolves_an_alarm_with_a_note(kiosk, client):
    [alarm_id] = make_alarms(kiosk, 1)
    response = await client.post(
        f"/api/alarms/{alarm_id}/resolve", json={"note": "Picked up by her aunt"}, headers=AUTH
    )
    record = await response.json()
    assert response.status == 200, record
    assert record["resolution_notes"] == "Picked up by her aunt" and record["resolved_at"]
    bare = await client.post(f"/api/alarms/{alarm_id}/resolve", headers=AUTH)
    assert bare.status == 200
    bad = await client.post(f"/api/alarms/{alarm_id}/resolve", data="note", headers=AUTH)
    assert bad.status == 400


async def test_resolving_needs_the_token_or_a_session_and_its_csrf_token(kiosk, client):
    set_up_admin(kiosk, PASSWORD)
    [alarm_id] = make_alarms(kiosk, 1)
    assert (await client.post(f"/api/alarms/{alarm_id}/resolve")).status == 401
    assert _alarm(kiosk, alarm_id).resolved_at is None


@pytest.mark.parametrize("settings", [META], indirect=True)
async def test_a_whatsapp_message_no_webhook_can_confirm_says_so(kiosk, admin: Admin, client):
    [alarm_id] = make_alarms(kiosk, 1, status=AlarmStatus.SENT, channel=1, whatsapp_message_id="wamid.1")
    assert "delivery not confirmed (no webhook)" in await admin.page(f"/alarms/{alarm_id}")
    record = await (await client.get(f"/api/alarms/{alarm_id}", headers=AUTH)).json()
    assert record["status_note"] == "delivery not confirmed (no webhook)"


@pytest.mark.parametrize(
    "settings",
    [{**META, "KERYU_PUBLIC_URL": "https://kiosk.example.org", "WHATSAPP_APP_SECRET": "s" * 32}],
    indirect=True,
)
async def test_with_a_public_webhook_a_sent_whatsapp_message_waits_for_its_receipt(kiosk, admin: Admin):
    [alarm_id] = make_alarms(kiosk, 1, status=AlarmStatus.SENT, channel=1, whatsapp_message_id="wamid.1")
    assert "delivery not confirmed" not in await admin.page(f"/alarms/{alarm_id}")


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("+5212345678901", "+52 234 567 8901 (Mexico)"), ("55 1234 5678", "+52 55 1234 5678 (Mexico)")],
)
async def test_the_subject_form_can_show_the_number_as_understood_before_saving(admin: Admin, typed, shown):
    assert "data-phone-preview" in await admin.page("/subjects/new")
    response = await admin.client.get("/api/phone-preview", params={"phone": typed})
    assert response.status == 200
    assert (await response.json())["shown"] == shown


async def test_the_preview_says_what_is_wrong_with_a_number(admin: Admin):
    response = await admin.client.get("/api/phone-preview", params={"phone": "12"})
    assert response.status == 400
    assert "is not a valid phone number" in (await response.json())["error"]
