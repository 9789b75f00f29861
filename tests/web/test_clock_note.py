"""The admin page tells the owner which alarms were recorded before the kiosk's clock was set."""

from __future__ import annotations

from html import unescape

import pytest

from tests.web.conftest import Admin, make_alarms

pytestmark = [pytest.mark.asyncio, pytest.mark.page_language("en")]  # read in an English browser


async def test_an_alarm_from_before_the_clock_was_set_says_its_time_is_unknown(kiosk, admin: Admin):
    (stale,) = make_alarms(kiosk, 1, clock_synced=False, boot_id="an-earlier-boot", created_monotonic=12.0)
    (synced,) = make_alarms(kiosk, 1)

    page = unescape(await admin.page(f"/alarms/{stale}"))
    assert "Time unknown: recorded before the kiosk's clock was set" in page
    listing = await admin.page("/alarms")
    row = listing[listing.index(f'<tr data-alarm-id="{stale}"') :].split("</tr>")[0]
    assert "time unknown" in row
    assert "clock was set" not in await admin.page(f"/alarms/{synced}")


async def test_a_corrected_alarm_says_how_its_time_was_found(kiosk, admin: Admin):
    (corrected,) = make_alarms(kiosk, 1, clock_synced=False, time_corrected_at=kiosk.clock.now())

    page = unescape(await admin.page(f"/alarms/{corrected}"))
    assert "corrected from the time since the kiosk started" in page
    listing = await admin.page("/alarms")
    row = listing[listing.index(f'<tr data-alarm-id="{corrected}"') :].split("</tr>")[0]
    assert "time unknown" not in row
