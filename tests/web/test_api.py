"""The JSON API as scripts use it: bearer token, the contract's alarm record, scans through the camera's path."""

from __future__ import annotations

import pytest

from appliance.store.models import Alarm, AlarmStatus, ScanEvent
from tests.web.conftest import API_TOKEN, make_alarms, make_subject

pytestmark = pytest.mark.asyncio

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
CONTRACT_FIELDS = {
    "id",
    "subject_id",
    "subject_name",
    "card_uuid",
    "created_at",
    "location",
    "is_test",
    "channel",
    "notification_status",
    "notification_sent",
    "notification_attempts",
    "last_attempt",
    "notification_error",
    "whatsapp_message_id",
    "message_sid",
    "notifications",
    "clock_synced",
}


@pytest.fixture
def ready(kiosk):
    from appliance.services.auth import set_up_admin

    set_up_admin(kiosk, "admin-password")
    return kiosk


async def test_alarms_are_contract_records_newest_first(ready, client):
    subject_id, card = make_subject(ready)
    ids = make_alarms(ready, 3, subject_id=subject_id, card_uuid=card, whatsapp_message_id="wamid.1", channel=1)
    response = await client.get("/api/alarms?limit=2", headers=AUTH)
    assert response.status == 200
    records = await response.json()
    assert [r["id"] for r in records] == ids[::-1][:2]
    assert set(records[0]) == CONTRACT_FIELDS
    first = records[0]
    assert first["subject_id"] == subject_id and first["card_uuid"] == card and first["channel"] == 1
    assert first["notification_status"] == "SENT" and first["whatsapp_message_id"] == "wamid.1"
    assert first["created_at"].endswith("+00:00")  # ISO 8601 with offset


async def test_alarms_filters_and_paging(ready, client):
    failed = make_alarms(ready, 2, status=AlarmStatus.FAILED)
    make_alarms(ready, 2)
    records = await (await client.get("/api/alarms?status=FAILED", headers=AUTH)).json()
    assert [r["id"] for r in records] == failed[::-1]
    records = await (await client.get(f"/api/alarms?before={failed[1]}", headers=AUTH)).json()
    assert [r["id"] for r in records] == [failed[0]]


@pytest.mark.page_language("en")  # the message is checked in English
@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten"])
async def test_bad_limit_is_400_json(ready, client, limit):
    response = await client.get(f"/api/alarms?limit={limit}", headers=AUTH)
    assert response.status == 400
    assert "limit" in (await response.json())["error"]


@pytest.mark.page_language("en")  # the message is checked in English
async def test_one_alarm_with_its_attempts(ready, client):
    [alarm_id] = make_alarms(ready, 1)
    record = await (await client.get(f"/api/alarms/{alarm_id}", headers=AUTH)).json()
    assert record["id"] == alarm_id and record["attempts"] == []
    missing = await client.get("/api/alarms/999", headers=AUTH)
    assert missing.status == 404 and "no alarm" in (await missing.json())["error"]


async def test_subjects(ready, client):
    subject_id, card = make_subject(ready)
    [subject] = await (await client.get("/api/subjects", headers=AUTH)).json()
    assert subject["id"] == subject_id and subject["card_uuid"] == card
    assert subject["scan_url"] == f"{ready.settings.public_url}/scan/{card}"
    assert subject["custodian_phone"] == "+525512345678"


@pytest.mark.parametrize("form", ["url", "uuid", "other-host"])
async def test_scan_accepts_the_card_url_or_uuid(ready, client, form):
    subject_id, card = make_subject(ready)
    payload = {
        "url": f"{ready.settings.public_url}/scan/{card}",
        "uuid": card.upper(),
        "other-host": f"https://old-name.local/scan/{card}",
    }[form]
    response = await client.post("/api/scans", json={"payload": payload}, headers=AUTH)
    assert response.status == 201
    answer = await response.json()
    assert answer["outcome"] == "accepted" and answer["subject_id"] == subject_id
    with ready.store.read() as session:
        alarm = session.get(Alarm, answer["alarm_id"])
        event = session.query(ScanEvent).one()
    assert alarm.card_uuid == card and alarm.notification_status == AlarmStatus.PENDING
    assert (event.source, event.outcome) == ("api", "accepted")


@pytest.mark.parametrize(
    ("payload", "outcome"),
    [
        ("0b8c6f4e-1f2a-4c3d-9e8f-1a2b3c4d5e6f", "unknown"),
        ("https://example.com/menu", "foreign"),
        ("WIFI:S:home;T:WPA;P:secret;;", "foreign"),
    ],
)
async def test_scan_of_something_else_raises_no_alarm(ready, client, payload, outcome):
    response = await client.post("/api/scans", json={"payload": payload}, headers=AUTH)
    assert response.status == 200
    assert (await response.json())["outcome"] == outcome
    with ready.store.read() as session:
        assert session.query(Alarm).count() == 0
        assert session.query(ScanEvent).one().outcome == outcome


@pytest.mark.parametrize(
    "body",
    [b"not json", b'"just a string"', b"{}", b'{"payload": 42}', b'{"payload": "   "}', b"[1, 2]"],
)
async def test_scan_with_a_malformed_body_is_400(ready, client, body):
    response = await client.post("/api/scans", data=body, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status == 400
    assert "payload" in (await response.json())["error"]
