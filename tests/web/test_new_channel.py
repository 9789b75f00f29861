"""A fourth channel is one class and one registry entry: the plan, the pages and the API pick it up."""

from __future__ import annotations

import pytest

from appliance.messaging.registry import CHANNEL_CLASSES
from appliance.services.delivery import channel_plan, deliver
from appliance.services.scans import ScanSource, record_scan
from appliance.services.status_updates import poll_providers
from appliance.store.models import AlarmStatus
from tests.standins.channels import Pager
from tests.web.conftest import API_TOKEN, Admin, make_subject

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def pager(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in registered as channel 4 before the kiosk and the app are built."""
    monkeypatch.setitem(CHANNEL_CLASSES, Pager.number, Pager)


async def test_the_settings_page_offers_it_and_app_js_gets_its_name(admin: Admin):
    text = await admin.page("/settings")
    assert '<input type="radio" name="channel" value="4" > 4. Test pager</label>' in text
    assert '"4": "Test pager"' in text  # data-channel-names, read by app.js for live rows
    response = await admin.submit("/settings/channel", {"channel": "4"})
    assert response.status == 303
    assert "canal 4, Test pager" in await admin.page("/settings")


async def test_an_alarm_goes_through_it_and_the_api_and_alarm_page_show_it(kiosk, admin: Admin):
    assert channel_plan(kiosk, 1) == [1, 4]  # the chosen channel, then every configured one
    _, card = make_subject(kiosk)
    alarm_id = record_scan(kiosk, card, ScanSource.FILE).alarm_id
    assert deliver(kiosk, alarm_id).status is AlarmStatus.SENT  # channel 1 has no credentials: skipped
    response = await admin.client.get("/api/alarms", headers={"Authorization": f"Bearer {API_TOKEN}"})
    record = (await response.json())[0]
    assert (record["channel"], record["message_sid"], record["whatsapp_message_id"]) == (4, "PG-+525512345678", None)
    assert "<td>Test pager</td>" in await admin.page(f"/alarms/{alarm_id}")
    assert poll_providers(kiosk) == 1  # pollable: the beat asks it, as it asks Twilio
    response = await admin.client.get("/api/alarms", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert (await response.json())[0]["notification_status"] == "DELIVERED"
