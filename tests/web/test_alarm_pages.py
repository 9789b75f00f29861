"""Alarms on the admin page: newest first, filters, keyset paging, detail with attempts, retry, resolve,
and the simulated scan that takes the camera's path."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from appliance.store.models import Alarm, AlarmStatus, DeliveryAttempt, ScanEvent
from tests.web.conftest import Admin, make_alarms, make_subject

pytestmark = pytest.mark.asyncio
# Twilio SMS credentials (never used: no worker runs here), so that a retry has a channel to try.
WITH_SMS = pytest.mark.parametrize(
    "settings",
    [{"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t" * 32, "TWILIO_PHONE_NUMBER": "+14155550100"}],
    indirect=True,
)


def _ids(text: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr data-alarm-id="(\d+)"', text)]


async def test_list_is_newest_first_and_pages_by_id(kiosk, admin: Admin):
    ids = make_alarms(kiosk, 120)
    first = await admin.page("/alarms")
    assert _ids(first) == ids[::-1][:50]
    assert 'href="/alarms?before=' + str(ids[70]) + '"' in first
    second = await admin.page(f"/alarms?before={ids[70]}")
    assert _ids(second) == ids[::-1][50:100]
    third = await admin.page(f"/alarms?before={ids[20]}")
    assert _ids(third) == ids[::-1][100:]
    assert "Anteriores →" not in third and "← Más recientes" in third


async def test_filters_by_status_subject_and_dates(kiosk, admin: Admin):
    subject_id, _ = make_subject(kiosk)
    failed = make_alarms(kiosk, 3, status=AlarmStatus.FAILED)
    mine = make_alarms(kiosk, 2, subject_id=subject_id)
    assert _ids(await admin.page("/alarms?status=FAILED")) == failed[::-1]
    assert _ids(await admin.page("/alarms?status=failed")) == failed[::-1]
    assert _ids(await admin.page(f"/alarms?subject_id={subject_id}")) == mine[::-1]
    today = kiosk.clock.now().astimezone().date()
    tomorrow = today + timedelta(days=1)
    assert len(_ids(await admin.page(f"/alarms?since={today - timedelta(days=1)}&until={today}"))) == 5
    assert _ids(await admin.page(f"/alarms?since={tomorrow}")) == []


@pytest.mark.page_language("en")  # the message is checked in English
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=LOST", "Unknown status"),
        ("since=yesterday", "must be a date"),
        ("until=2026-13-01", "must be a date"),
        ("subject_id=abc", "whole number"),
        ("before=1.5", "whole number"),
    ],
)
async def test_bad_filters_are_a_clear_400(admin: Admin, query, message):
    text = await admin.page(f"/alarms?{query}", status=400)
    assert message in text


@WITH_SMS
async def test_detail_shows_every_delivery_attempt(kiosk, admin: Admin):
    [alarm_id] = make_alarms(kiosk, 1, status=AlarmStatus.FAILED, notification_error="Gave up after 3 channels")
    with kiosk.store.session() as session:
        for channel, code, message in [(1, "131026", "Message undeliverable"), (2, "63016", "Outside the window")]:
            session.add(
                DeliveryAttempt(
                    alarm_id=alarm_id, channel=channel, outcome="permanent", error_code=code, error_message=message
                )
            )
    text = await admin.page(f"/alarms/{alarm_id}")
    assert "Meta WhatsApp" in text and "Twilio WhatsApp" in text
    assert "[131026] Message undeliverable" in text and "[63016] Outside the window" in text
    assert "Gave up after 3 channels" in text
    assert "Reintentar desde el primer canal" in text


@WITH_SMS
async def test_retry_puts_a_failed_alarm_back_in_the_queue(kiosk, admin: Admin):
    [alarm_id] = make_alarms(kiosk, 1, status=AlarmStatus.FAILED)
    await admin.page(f"/alarms/{alarm_id}")
    response = await admin.submit(f"/alarms/{alarm_id}/retry")
    assert (response.status, response.headers["Location"]) == (303, f"/alarms/{alarm_id}")
    with kiosk.store.read() as session:
        assert session.get(Alarm, alarm_id).notification_status == AlarmStatus.PENDING


@pytest.mark.page_language("en")  # the message is checked in English
async def test_retry_refuses_an_alarm_that_was_sent(kiosk, admin: Admin):
    [alarm_id] = make_alarms(kiosk, 1, status=AlarmStatus.SENT, notification_sent=True)
    await admin.page(f"/alarms/{alarm_id}")
    response = await admin.submit(f"/alarms/{alarm_id}/retry")
    assert response.status == 400
    assert "only a FAILED alarm can be retried" in await response.text()
    with kiosk.store.read() as session:
        assert session.get(Alarm, alarm_id).notification_status == AlarmStatus.SENT


async def test_resolve_keeps_the_notes(kiosk, admin: Admin):
    [alarm_id] = make_alarms(kiosk, 1)
    await admin.page(f"/alarms/{alarm_id}")
    await admin.submit(f"/alarms/{alarm_id}/resolve", {"notes": "Picked up by her aunt"})
    with kiosk.store.read() as session:
        alarm = session.get(Alarm, alarm_id)
        assert alarm.resolved_at is not None and alarm.resolution_notes == "Picked up by her aunt"
    assert "Picked up by her aunt" in await admin.page(f"/alarms/{alarm_id}")


@pytest.mark.page_language("en")  # the message is checked in English
async def test_unknown_alarm_is_404(admin: Admin):
    assert "There is no alarm with id 4242." in await admin.page("/alarms/4242", status=404)


async def test_simulated_scan_records_an_alarm_like_the_camera(kiosk, admin: Admin):
    subject_id, card = make_subject(kiosk)
    text = await admin.page(f"/scan/{card}")
    assert f'href="{kiosk.settings.public_url}/scan/{card}"' in text  # the scan URL is a clickable link
    response = await admin.submit(f"/scan/{card}")
    with kiosk.store.read() as session:
        [alarm] = session.query(Alarm).all()
        [event] = session.query(ScanEvent).all()
    assert response.headers["Location"] == f"/alarms/{alarm.id}"
    assert (alarm.subject_id, alarm.card_uuid, alarm.location) == (subject_id, card, "Test gate")
    assert (event.source, event.outcome, event.alarm_id) == ("web", "accepted", alarm.id)
    assert f"Alarma #{alarm.id} registrada" in await admin.page(response.headers["Location"])


async def test_simulated_scan_of_a_deactivated_card_raises_no_alarm(kiosk, admin: Admin):
    subject_id, card = make_subject(kiosk)
    await admin.page(f"/subjects/{subject_id}")
    await admin.submit(f"/cards/{card}/active", {"active": "0"})
    response = await admin.submit(f"/scan/{card}")
    assert response.headers["Location"] == f"/scan/{card}"
    assert "desactivados; no se levantó ninguna alarma" in await admin.page(f"/scan/{card}")
    with kiosk.store.read() as session:
        assert session.query(Alarm).count() == 0


@pytest.mark.page_language("en")  # the message is checked in English
async def test_unknown_card_page_is_404(admin: Admin):
    assert "There is no card" in await admin.page("/scan/0b8c6f4e-1f2a-4c3d-9e8f-1a2b3c4d5e6f", status=404)


async def test_dashboard_counts_by_status(kiosk, admin: Admin):
    make_alarms(kiosk, 3, status=AlarmStatus.FAILED)
    make_alarms(kiosk, 2, status=AlarmStatus.DELIVERED)
    text = await admin.page("/")
    assert re.search(r"<strong>3</strong> FAILED", text) and re.search(r"<strong>2</strong> DELIVERED", text)
    assert len(_ids(text)) == 5
