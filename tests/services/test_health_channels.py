"""Health tells the admin plainly when alarms cannot go out as chosen: no credentials for the chosen
channel, or for any channel; and that a LAN kiosk's WhatsApp messages cannot be confirmed."""

from __future__ import annotations

import pytest

from appliance.services.health import check_channels, check_health
from appliance.services.parameters import set_channel

SMS = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t" * 32, "TWILIO_PHONE_NUMBER": "+14155550100"}
META = {"WHATSAPP_PHONE_NUMBER_ID": "123456", "WHATSAPP_ACCESS_TOKEN": "token"}


def _choose(kiosk, number: int) -> None:
    with kiosk.store.session() as session:
        set_channel(session, str(number))


def test_without_any_credentials_the_kiosk_is_degraded_and_says_nobody_is_told(kiosk):
    part = check_channels(kiosk)
    assert part["status"] == "degraded" and part["configured"] == []
    assert "No channel has credentials" in part["reason"]
    report = check_health(kiosk, include_web=False)
    assert report["status"] == "degraded" and report["components"]["channels"] == part


@pytest.mark.parametrize("settings", [SMS], indirect=True)
def test_a_chosen_channel_without_credentials_names_itself_and_the_fallback(kiosk):
    _choose(kiosk, 1)
    part = check_channels(kiosk)
    assert part["status"] == "degraded"
    assert part["reason"].startswith("The chosen channel 1 (Meta WhatsApp) has no credentials")
    assert "alarms go by Twilio SMS instead" in part["reason"]
    _choose(kiosk, 3)
    assert check_channels(kiosk) == {"status": "ok", "chosen": 3, "configured": [3]}


@pytest.mark.parametrize("settings", [META], indirect=True)
def test_whatsapp_on_a_lan_kiosk_is_fine_but_its_delivery_cannot_be_confirmed(kiosk):
    part = check_channels(kiosk)
    assert part["status"] == "ok"
    assert part["receipts"] == "delivery not confirmed (no webhook)"
