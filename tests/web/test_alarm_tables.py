"""The alarm table is rendered once for every admin who looks, yet each admin sees their own page:
the current alarms, in their own language, with their own session's form token and messages."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, update_subject
from appliance.store import alarm_state
from appliance.web.app import SESSION_COOKIE
from appliance.web.page_cache import ALARM_LISTS
from tests.web.conftest import Admin, make_alarms, make_subject

pytestmark = pytest.mark.asyncio

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"|data-drawn-at="([^"]+)"')  # per request, by design


def count_of(page: str, status: str) -> int:
    found = re.search(rf'class="count {status.lower()}"[^>]*><strong>(\d+)</strong>', page)
    assert found, f"no {status} count on the page"
    return int(found.group(1))


def row_of(page: str, alarm_id: int) -> str:
    found = re.search(rf'<tr data-alarm-id="{alarm_id}".*?</tr>', page, re.S)
    assert found, f"alarm {alarm_id} is not on the page"
    return found.group(0)


async def second_browser(aiohttp_client, client: TestClient) -> Admin:
    """Another browser, with cookies of its own, logged in to the same kiosk."""
    other = Admin(await aiohttp_client(client.server))
    assert (await other.login()).status == 303
    return other


async def test_refreshing_renders_the_table_once_and_a_new_alarm_or_status_change_shows_at_once(kiosk, admin, client):
    make_alarms(kiosk, 3)
    cache = client.app[ALARM_LISTS]
    first = await admin.page("/")
    renders = cache.renders
    assert TOKEN_RE.sub("", await admin.page("/")) == TOKEN_RE.sub("", first)
    assert cache.renders == renders  # the same table, not rendered again

    _, card = make_subject(kiosk, "Beto Nuevo")
    new = record_scan(kiosk, card, ScanSource.CAMERA)  # another process's scan, straight to the database
    page = await admin.page("/")
    assert "Beto Nuevo" in row_of(page, new.alarm_id)
    assert count_of(page, "PENDING") == count_of(first, "PENDING") + 1
    assert "Beto Nuevo" in row_of(await admin.page("/alarms"), new.alarm_id)

    with kiosk.store.session() as session:  # a worker's claim: same timestamp as the scan, new status
        alarm_state.claim(session, new.alarm_id, kiosk.clock.now(), "w:1", timedelta(minutes=1))
    page = await admin.page("/")
    assert "PROCESSING" in row_of(page, new.alarm_id)
    assert count_of(page, "PROCESSING") == count_of(first, "PROCESSING") + 1
    assert "PROCESSING" in row_of(await admin.page("/alarms"), new.alarm_id)


async def test_each_language_gets_its_table_in_its_own_words(kiosk, admin, client):
    [alarm_id] = make_alarms(kiosk, 1)
    english = {"Accept-Language": "en"}
    spanish = await admin.page("/alarms")
    response = await client.get("/alarms", headers=english)
    english_page = await response.text()
    again = await admin.page("/alarms")

    assert "<th>Hora</th>" in spanish and "<th>Time</th>" not in spanish
    assert "<th>Time</th>" in english_page and "<th>Hora</th>" not in english_page
    assert "<th>Hora</th>" in again and "<th>Time</th>" not in again
    assert row_of(spanish, alarm_id) != row_of(english_page, alarm_id)  # the time, written each language's way
    assert client.app[ALARM_LISTS].renders == 2  # one table per language, both kept


async def test_two_browsers_never_see_each_others_token_or_messages(kiosk, admin, client, aiohttp_client):
    [alarm_id] = make_alarms(kiosk, 1)
    other = await second_browser(aiohttp_client, client)
    mine, theirs = await admin.page("/"), await other.page("/")
    assert admin.token and other.token and admin.token != other.token
    assert other.token not in mine and admin.token not in theirs

    response = await admin.submit(f"/alarms/{alarm_id}/resolve", {"notes": "called the family"}, form_page="/")
    assert response.status == 303
    message = f"#{alarm_id}"
    assert message in re.sub(r"<table.*?</table>", "", await admin.page("/alarms"), flags=re.S)
    theirs = await other.page("/alarms")
    assert 'role="status"' not in theirs  # the message was for the browser that acted
    assert admin.token not in theirs


async def test_a_logged_out_browser_asking_together_with_a_logged_in_one_is_still_turned_away(
    kiosk, admin, client, aiohttp_client
):
    make_alarms(kiosk, 2)
    leaving = await second_browser(aiohttp_client, client)
    await leaving.page("/")
    cookie = leaving.client.session.cookie_jar.filter_cookies(leaving.client.make_url("/"))[SESSION_COOKIE].value
    assert (await leaving.submit("/logout", form_page="/")).status == 303
    leaving.client.session.cookie_jar.update_cookies({SESSION_COOKIE: cookie})  # a copy kept of the old cookie

    for _ in range(5):  # both at the same moment, so that their session checks are in flight together
        answers = await asyncio.gather(
            *(browser.client.get("/", allow_redirects=False) for browser in (admin, leaving, admin, leaving))
        )
        assert [answer.status for answer in answers] == [200, 303, 200, 303]
        assert all(answer.headers["Location"].startswith("/login") for answer in answers[1::2])


async def test_the_subject_filter_follows_renames_and_new_subjects(kiosk, admin, client):
    subject_id, _ = make_subject(kiosk, "Ana López")
    first = await admin.page(f"/alarms?subject_id={subject_id}")
    assert f'<option value="{subject_id}" selected>Ana López</option>' in first

    update_subject(kiosk, subject_id, SubjectInput("Ana María López", "55 1234 5678", "María"))
    added, _ = make_subject(kiosk, "Beto Nuevo")
    page = await admin.page("/alarms")
    assert f'<option value="{subject_id}">Ana María López</option>' in page
    assert f'<option value="{added}">Beto Nuevo</option>' in page
    assert "selected>Ana" not in page


async def test_the_api_list_is_kept_too_and_shows_a_change_at_once(kiosk, admin, client):
    make_alarms(kiosk, 2)
    first = await (await client.get("/api/alarms")).json()
    assert await (await client.get("/api/alarms")).json() == first

    _, card = make_subject(kiosk, "Beto Nuevo")
    new = record_scan(kiosk, card, ScanSource.CAMERA)
    records = await (await client.get("/api/alarms")).json()
    assert [record["id"] for record in records] == [new.alarm_id] + [record["id"] for record in first]
    with kiosk.store.session() as session:
        alarm_state.claim(session, new.alarm_id, kiosk.clock.now(), "w:1", timedelta(minutes=1))
    records = await (await client.get("/api/alarms")).json()
    assert records[0]["notification_status"] == "PROCESSING"
