"""Live alarm updates: the feed sees new and changed alarms once, and the event stream delivers them."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from appliance.store.models import Alarm, AlarmStatus
from appliance.web.keys import FEED
from appliance.web.live import AlarmFeed
from tests.web.conftest import Admin, make_alarms

pytestmark = pytest.mark.asyncio


def _set_status(kiosk, alarm_id: int, status: str, seconds_later: float = 1.0) -> None:
    with kiosk.store.session() as session:
        stamp = kiosk.clock.now() + timedelta(seconds=seconds_later)
        session.execute(update(Alarm).where(Alarm.id == alarm_id).values(notification_status=status, updated_at=stamp))


async def test_feed_reports_new_and_changed_alarms_once(kiosk):
    make_alarms(kiosk, 3)
    feed = AlarmFeed(kiosk)
    feed._start_cursor()
    feed.poll()  # what changed just before the page opened may be sent once more; that is harmless
    assert feed.poll() == []
    [new_id] = make_alarms(kiosk, 1, status=AlarmStatus.PENDING)
    _set_status(kiosk, new_id, AlarmStatus.PENDING, seconds_later=2)
    records = feed.poll()
    assert [(r["id"], r["notification_status"]) for r in records] == [(new_id, "PENDING")]
    assert feed.poll() == []
    _set_status(kiosk, new_id, AlarmStatus.SENT, seconds_later=3)
    assert [(r["id"], r["notification_status"]) for r in feed.poll()] == [(new_id, "SENT")]


async def test_a_late_commit_with_an_older_stamp_is_not_lost(kiosk):
    feed = AlarmFeed(kiosk)
    [a] = make_alarms(kiosk, 1)
    _set_status(kiosk, a, AlarmStatus.PENDING, seconds_later=10)
    feed._start_cursor()
    assert [r["id"] for r in feed.poll()] == [a]
    [b] = make_alarms(kiosk, 1, status=AlarmStatus.PENDING)
    # b's writer stamped its row 3 s before the newest stamp the feed has seen, then committed late.
    _set_status(kiosk, b, AlarmStatus.PENDING, seconds_later=7)
    assert [r["id"] for r in feed.poll()] == [b]
    assert feed.poll() == []


async def test_many_changes_at_once_all_arrive(kiosk):
    feed = AlarmFeed(kiosk)
    feed._start_cursor()
    ids = make_alarms(kiosk, 450, status=AlarmStatus.PENDING)
    with kiosk.store.session() as session:
        session.execute(update(Alarm).values(updated_at=kiosk.clock.now() + timedelta(seconds=1)))
    assert sorted(r["id"] for r in feed.poll()) == ids


async def _read_events(response, count: int, timeout: float = 5.0) -> list[dict]:
    found: list[dict] = []

    async def read() -> None:
        event = None
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "alarm":
                found.append(json.loads(line[6:]))
                if len(found) >= count:
                    return

    await asyncio.wait_for(read(), timeout)
    return found


async def test_event_stream_sends_new_alarms_and_status_changes(kiosk, admin: Admin):
    response = await admin.client.get("/events")
    assert response.status == 200 and response.headers["Content-Type"] == "text/event-stream"
    await asyncio.sleep(0.2)  # the feed's cursor is set before the alarm is written
    [alarm_id] = make_alarms(kiosk, 1, status=AlarmStatus.PENDING, subject_name="<b>Zoë</b>")
    _set_status(kiosk, alarm_id, AlarmStatus.PENDING, seconds_later=1)
    [created] = await _read_events(response, 1)
    assert (created["id"], created["notification_status"], created["subject_name"]) == (
        alarm_id,
        "PENDING",
        "<b>Zoë</b>",  # JSON carries the text; the page's script puts it in with textContent
    )
    _set_status(kiosk, alarm_id, AlarmStatus.SENT, seconds_later=2)
    [changed] = await _read_events(response, 1)
    assert (changed["id"], changed["notification_status"]) == (alarm_id, "SENT")
    response.close()


async def test_a_page_subscribing_after_its_alarm_was_sent_still_hears_of_it(kiosk, admin: Admin):
    """The alarm page is drawn while its alarm is PENDING; the worker sends it before the page's
    script subscribes. The stream starts with that change, so the page does not stay PENDING."""
    list_tab = await admin.client.get("/events")  # the alarm list, open in another tab
    await asyncio.sleep(0.2)
    [alarm_id] = make_alarms(kiosk, 1, status=AlarmStatus.PENDING)
    page = await admin.client.get(f"/alarms/{alarm_id}")
    drawn_at = re.search(r'data-drawn-at="([^"]+)"', await page.text()).group(1)
    _set_status(kiosk, alarm_id, AlarmStatus.SENT, seconds_later=1)
    seen_by_list = await _read_events(list_tab, 1)
    if seen_by_list[-1]["notification_status"] != "SENT":  # PENDING first, when a poll fell between
        seen_by_list = await _read_events(list_tab, 1)
    assert seen_by_list[-1]["notification_status"] == "SENT"  # the feed has told the list, not this page
    response = await admin.client.get("/events", params={"since": drawn_at})
    [replayed] = await _read_events(response, 1)
    assert (replayed["id"], replayed["notification_status"]) == (alarm_id, "SENT")
    response.close()
    list_tab.close()


async def test_a_browser_reconnecting_gets_what_changed_since_its_last_event(kiosk, admin: Admin):
    [alarm_id] = make_alarms(kiosk, 1, status=AlarmStatus.PENDING)
    _set_status(kiosk, alarm_id, AlarmStatus.PENDING, seconds_later=1)
    first = await admin.client.get("/events", params={"since": kiosk.clock.now().isoformat()})
    last_id = await _read_event_id(first)
    first.close()  # the network drops; meanwhile the alarm is sent
    _set_status(kiosk, alarm_id, AlarmStatus.SENT, seconds_later=2)
    again = await admin.client.get("/events", headers={"Last-Event-ID": last_id})
    [replayed] = await _read_events(again, 1)
    assert (replayed["id"], replayed["notification_status"]) == (alarm_id, "SENT")
    again.close()


async def test_a_mangled_since_is_ignored_and_the_stream_stays_live(kiosk, admin: Admin):
    response = await admin.client.get("/events", params={"since": "yesterday"})
    assert response.status == 200
    await asyncio.sleep(0.2)
    [alarm_id] = make_alarms(kiosk, 1, status=AlarmStatus.PENDING)
    _set_status(kiosk, alarm_id, AlarmStatus.SENT, seconds_later=1)
    [live] = await _read_events(response, 1)
    assert live["id"] == alarm_id
    response.close()


async def _read_event_id(response, timeout: float = 5.0) -> str:
    async def read() -> str:
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("id: ") and len(line) > 4:
                return line[4:]
        raise AssertionError("the stream ended without an event id")

    return await asyncio.wait_for(read(), timeout)


async def test_shutdown_ends_open_streams(kiosk, admin: Admin):
    response = await admin.client.get("/events")
    await asyncio.sleep(0.1)
    admin.client.app[FEED].close()
    body = await asyncio.wait_for(response.content.read(), 5)
    assert body.startswith(b"retry: 3000")


async def test_a_second_custodians_message_changing_is_a_change_of_its_alarm(kiosk):
    """The alarm page shows every custodian's status: a change to the second one's row reaches the feed
    as its alarm's record, with that custodian's new status and tries."""
    from appliance.services.custodians import add_custodian
    from appliance.services.scans import ScanSource, record_scan
    from appliance.services.subjects import SubjectInput, add_subject

    card = add_subject(kiosk, SubjectInput("Ana López", "55 1234 5678", "María"))
    add_custodian(kiosk, card.subject_id, "Jorge", "55 8765 4321")
    alarm_id = record_scan(kiosk, card.uuid, ScanSource.FILE).alarm_id
    feed = AlarmFeed(kiosk)
    feed._start_cursor()
    feed.poll()
    assert feed.poll() == []
    with kiosk.store.session() as session:
        stamp = kiosk.clock.now() + timedelta(seconds=2)
        session.execute(
            update(Alarm)
            .where(Alarm.parent_id == alarm_id)
            .values(notification_status=AlarmStatus.SENT, notification_attempts=1, updated_at=stamp)
        )
    [record] = feed.poll()
    assert record["id"] == alarm_id and record["notification_status"] == "PENDING"
    assert [(n["custodian"], n["status"], n["attempts"]) for n in record["notifications"]] == [
        ("María", "PENDING", 0),
        ("Jorge", "SENT", 1),
    ]
    assert record["escalation"] is None
    assert feed.poll() == []  # sent once
