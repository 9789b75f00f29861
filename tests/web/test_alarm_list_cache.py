"""Alarm lists are built once for every admin who looks, and never shown stale once an alarm changes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from appliance.services.scans import ScanSource, record_scan
from appliance.store import alarm_state
from appliance.web.page_cache import ALARM_LISTS
from tests.web.conftest import Admin, make_alarms, make_subject

pytestmark = pytest.mark.asyncio


async def test_a_second_look_reuses_the_list_and_a_change_shows_at_once(kiosk, admin: Admin, client):
    make_alarms(kiosk, 3)
    cache = client.app[ALARM_LISTS]
    first = await admin.page("/alarms")
    misses, hits = cache.misses, cache.hits
    assert _per_request_parts_out(await admin.page("/alarms")) == _per_request_parts_out(first)
    assert (cache.misses, cache.hits) == (misses, hits + 1)  # nothing changed: the same rows, no list query

    _, card = make_subject(kiosk, "Beto Nuevo")
    new = record_scan(kiosk, card, ScanSource.CAMERA)  # another process's scan, straight to the database
    page = await admin.page("/alarms")
    assert f'data-alarm-id="{new.alarm_id}"' in page

    with kiosk.store.session() as session:  # a worker's claim: same timestamp as the scan, new status
        alarm_state.claim(session, new.alarm_id, kiosk.clock.now(), "w:1", timedelta(minutes=1))
    row = re.search(rf'<tr data-alarm-id="{new.alarm_id}".*?</tr>', await admin.page("/alarms"), re.S)
    assert row and "PROCESSING" in row.group(0)


async def test_the_dashboard_and_the_list_show_the_same_new_alarm(kiosk, admin: Admin):
    _, card = make_subject(kiosk)
    await admin.page("/")
    new = record_scan(kiosk, card, ScanSource.CAMERA)
    assert f'data-alarm-id="{new.alarm_id}"' in await admin.page("/")
    assert f'data-alarm-id="{new.alarm_id}"' in await admin.page("/alarms")


async def test_every_answer_says_how_long_the_server_spent(admin: Admin, client):
    response = await client.get("/alarms")
    assert re.fullmatch(r"app;dur=\d+\.\d\d", response.headers["Server-Timing"])


def _per_request_parts_out(page: str) -> str:
    """The page without what is per request by design: the moment it was drawn (live updates replay from it)."""
    return re.sub(r'data-drawn-at="[^"]+"', "", page)
