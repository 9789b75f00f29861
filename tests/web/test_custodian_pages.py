"""Custodians on the admin page and the API: the subject page lists, adds and removes them; the alarm page
shows each one's notification; the settings page says when escalation waits only for failures."""

from __future__ import annotations

import pytest

from appliance.services.custodians import add_custodian, list_custodians
from appliance.services.escalation import escalate
from appliance.services.scans import ScanSource, record_scan
from tests.web.conftest import API_TOKEN, Admin, make_subject

pytestmark = [pytest.mark.asyncio, pytest.mark.page_language("en")]  # read in an English browser


async def test_the_subject_page_adds_and_removes_a_custodian(kiosk, admin: Admin):
    subject_id, _ = make_subject(kiosk)
    page = await admin.page(f"/subjects/{subject_id}")
    assert "Custodians" in page and "María" in page and "Remove" not in page  # the only one stays
    response = await admin.submit(
        f"/subjects/{subject_id}/custodians",
        {"new_custodian_name": "Jorge", "new_custodian_phone": "55 8765 4321", "new_custodian_language": "en"},
    )
    assert response.status == 303
    page = await admin.page(response.headers["Location"])
    assert "Jorge (+525587654321) will be told" in page
    table = page[page.index('data-section="custodians"') :]
    assert table.index("María") < table.index("Jorge") < table.index("+525587654321")
    jorge = list_custodians(kiosk, subject_id)[1]
    response = await admin.submit(f"/custodians/{jorge.id}/remove")
    assert response.status == 303 and response.headers["Location"] == f"/subjects/{subject_id}"
    assert [c.name for c in list_custodians(kiosk, subject_id)] == ["María"]


async def test_a_bad_phone_is_one_sentence_and_nothing_is_added(kiosk, admin: Admin):
    subject_id, _ = make_subject(kiosk)
    await admin.page(f"/subjects/{subject_id}")
    response = await admin.submit(
        f"/subjects/{subject_id}/custodians", {"new_custodian_name": "Jorge", "new_custodian_phone": "12"}
    )
    assert response.status == 400 and "not a valid phone number" in await response.text()
    assert len(list_custodians(kiosk, subject_id)) == 1


async def test_the_api_lists_each_subjects_custodians(kiosk, client):
    subject_id, _ = make_subject(kiosk)
    add_custodian(kiosk, subject_id, "Jorge", "+525587654321", "en")
    [subject] = await (await client.get("/api/subjects", headers={"Authorization": f"Bearer {API_TOKEN}"})).json()
    assert [(c["name"], c["phone"], c["language"]) for c in subject["custodians"]] == [
        ("María", "+525512345678", "es"),
        ("Jorge", "+525587654321", "en"),
    ]


async def test_the_alarm_page_and_api_show_every_custodians_notification(kiosk, admin: Admin, client):
    subject_id, card_uuid = make_subject(kiosk)
    add_custodian(kiosk, subject_id, "Jorge", "+525587654321")
    alarm_id = record_scan(kiosk, card_uuid, ScanSource.WEB).alarm_id
    escalate(kiosk, alarm_id, "+525511223344", "every custodian's message failed.")
    page = await admin.page(f"/alarms/{alarm_id}")
    table = page[page.index('data-section="notifications"') :]
    assert table.index("María") < table.index("Jorge") and "+525587654321" in table
    assert "On-duty contact told" in page and "every custodian&#39;s message failed." in page
    [record] = await (await client.get("/api/alarms", headers={"Authorization": f"Bearer {API_TOKEN}"})).json()
    assert record["id"] == alarm_id
    assert [(n["custodian"], n["status"]) for n in record["notifications"]] == [
        ("María", "PENDING"),
        ("Jorge", "PENDING"),
    ]


@pytest.mark.parametrize("settings", [{"KERYU_DUTY_PHONE": "+525511223344"}], indirect=True)
async def test_the_settings_page_says_escalation_waits_for_failures_without_receipts(kiosk, admin: Admin):
    page = await admin.page("/settings")
    section = page[page.index('data-section="escalation"') :]
    assert "+525511223344" in section and "10 minutes" in section
    assert "Meta WhatsApp" in section and "waits only for failed messages" in section
