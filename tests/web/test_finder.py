"""A finder's phone opens a card's scan URL: no login, nothing personal shown, one button that
alerts the custodians once per cooldown, refused when the form is forged or pressed too often."""

from __future__ import annotations

import re
from html import unescape

import pytest
from aiohttp.test_utils import TestClient

from appliance.services.auth import set_up_admin
from appliance.services.cards import set_card_active
from appliance.store.models import Alarm, ScanEvent
from appliance.web.finder_guard import PRESSES_PER_ADDRESS, TOKEN_LIFETIME
from tests.web.conftest import PASSWORD, Admin, make_subject

pytestmark = [pytest.mark.asyncio, pytest.mark.page_language("en")]  # read in an English browser

NAME, TYPED_PHONE, STORED_PHONE = "Ana López", "55 1234 5678", "+525512345678"
_TOKEN_RE = re.compile(r'name="finder_token" value="([^"]+)"')


class Finder:
    """A stranger's phone browser: opens the card's page, fills the form, presses the button."""

    def __init__(self, client: TestClient, card: str):
        self.client, self.card = client, card

    async def open(self, status: int = 200) -> str:
        response = await self.client.get(f"/scan/{self.card}")
        text = await response.text()
        assert response.status == status, text[:300]
        assert "Set-Cookie" not in response.headers  # an anonymous finder is given no cookie
        return text

    async def press(self, note: str = "", phone: str = "", *, token: str | None = None, headers=None):
        if token is None:
            found = _TOKEN_RE.search(await self.open())
            assert found, "the page has no alert form"
            token = found.group(1)
        data = {"finder_token": token, "note": note, "phone": phone}
        response = await self.client.post(f"/scan/{self.card}/alert", data=data, headers=headers or {})
        return response.status, await response.text()


def _alarms(kiosk) -> list[Alarm]:
    with kiosk.store.read() as session:
        return list(session.query(Alarm).order_by(Alarm.id))


@pytest.fixture
def card(kiosk) -> str:
    set_up_admin(kiosk, PASSWORD)  # a kiosk in service: the admin has logged in before
    return make_subject(kiosk, NAME, TYPED_PHONE)[1]


async def test_the_finder_sees_that_someone_may_need_help_and_nothing_personal(client, card):
    text = await Finder(client, card).open()
    assert "This card belongs to a person who may need help" in text
    assert "Alert their custodians" in text
    for private in (NAME, "Ana", "María", STORED_PHONE, "1234 5678", "<img", f"/cards/{card}.png"):
        assert private not in text


async def test_a_finder_press_raises_one_alarm_with_their_note_and_number(kiosk, client, card, fake_clock):
    finder = Finder(client, card)
    status, text = await finder.press("She is at the bus stop on Reforma", "33 1234 5678")
    assert status == 200 and "Their custodians have been alerted" in text
    assert NAME not in text
    [alarm] = _alarms(kiosk)
    assert (alarm.source, alarm.card_uuid, alarm.subject_name, alarm.recipient_phone) == (
        "phone",
        card,
        NAME,
        STORED_PHONE,
    )
    assert (alarm.finder_note, alarm.finder_phone) == ("She is at the bus stop on Reforma", "+523312345678")
    assert alarm.notification_status == "PENDING"  # Redis is down in this test: the sweeper sends it later


async def test_more_presses_within_the_cooldown_say_already_alerted_and_raise_nothing(kiosk, client, card, fake_clock):
    finder = Finder(client, card)
    await finder.press()
    fake_clock.advance(kiosk.settings.scan_cooldown - 1)
    status, text = await finder.press("still here")
    assert status == 200 and "Already alerted" in text
    assert len(_alarms(kiosk)) == 1
    with kiosk.store.read() as session:
        events = session.query(ScanEvent).filter_by(source="phone").order_by(ScanEvent.id)
        outcomes = [event.outcome for event in events]
    assert outcomes == ["accepted", "duplicate"]
    fake_clock.advance(2)  # the cooldown is over: a new press is a new alarm
    status, text = await finder.press()
    assert "Their custodians have been alerted" in text
    assert len(_alarms(kiosk)) == 2


async def test_the_admin_alarm_page_shows_what_the_finder_wrote(kiosk, client, card):
    await Finder(client, card).press("Found near gate 3", "+52 33 1234 5678")
    [alarm] = _alarms(kiosk)
    admin = Admin(client)
    await admin.login()
    text = await admin.page(f"/alarms/{alarm.id}")
    assert "with a finder's phone" in unescape(text)
    assert "Found near gate 3" in text and "+523312345678" in text


async def test_the_logged_in_admin_still_sees_the_card_and_the_simulated_scan(kiosk, client, card):
    admin = Admin(client)
    await admin.login()
    text = await admin.page(f"/scan/{card}")
    assert NAME in text and STORED_PHONE in text and "Simulate a scan" in text
    response = await admin.submit(f"/scan/{card}")
    assert response.status == 303 and response.headers["Location"].startswith("/alarms/")
    assert [alarm.source for alarm in _alarms(kiosk)] == ["web"]


@pytest.mark.parametrize("which", ["unknown", "deactivated", "not a uuid4"])
async def test_a_card_that_cannot_alert_is_a_plain_not_found(kiosk, client, card, which):
    target = {
        "unknown": "0b8c6f4e-1f2a-4c3d-9e8f-1a2b3c4d5e6f",
        "deactivated": card,
        "not a uuid4": "00000000-0000-0000-0000-000000000000",
    }[which]
    if which == "deactivated":
        set_card_active(kiosk, card, False)
    text = await Finder(client, target).open(status=404)
    assert NAME not in text and "Alert their custodians" not in text
    response = await client.post(f"/scan/{target}/alert", data={"finder_token": "1.x"})
    assert response.status == 404
    assert _alarms(kiosk) == []


@pytest.mark.parametrize(
    ("token", "headers", "message"),
    [
        ("", {}, "open too long"),
        ("1700000000.deadbeef", {}, "open too long"),
        (None, {"Sec-Fetch-Site": "cross-site"}, "did not come from this card"),
        (None, {"Origin": "http://evil.example"}, "did not come from this card"),
    ],
    ids=["no token", "forged token", "another site (fetch metadata)", "another site (origin)"],
)
async def test_a_forged_or_foreign_press_is_refused_and_raises_nothing(kiosk, client, card, token, headers, message):
    status, text = await Finder(client, card).press(token=token, headers=headers)
    assert status == 403 and message in text
    assert _alarms(kiosk) == []


async def test_a_form_left_open_too_long_must_be_reloaded(kiosk, client, card, fake_clock):
    finder = Finder(client, card)
    [token] = _TOKEN_RE.findall(await finder.open())
    fake_clock.advance(TOKEN_LIFETIME + 1)
    status, text = await finder.press(token=token)
    assert status == 403 and "open too long" in text
    assert _alarms(kiosk) == []
    status, text = await finder.press()  # the reloaded page's form works
    assert status == 200 and len(_alarms(kiosk)) == 1


async def test_a_token_for_one_card_does_not_press_another(kiosk, client, card):
    other = make_subject(kiosk, "Bruno Díaz", "33 1234 5678")[1]
    [token] = _TOKEN_RE.findall(await Finder(client, card).open())
    status, _ = await Finder(client, other).press(token=token)
    assert status == 403 and _alarms(kiosk) == []


@pytest.mark.page_language("en")  # the message is checked in English
async def test_one_address_pressing_again_and_again_is_paused(kiosk, client, card):
    finder = Finder(client, card)
    for _ in range(PRESSES_PER_ADDRESS):
        status, _ = await finder.press()
        assert status == 200
    status, text = await finder.press()
    assert status == 429 and "Too many alerts from this connection" in text
    assert len(_alarms(kiosk)) == 1


async def test_behind_a_tunnel_on_the_kiosk_each_finder_has_their_own_allowance(kiosk, client, card):
    """A tunnel connects from loopback for everyone: the address it forwards is the one counted."""
    finder = Finder(client, card)
    for _ in range(PRESSES_PER_ADDRESS + 1):
        status, _ = await finder.press(headers={"X-Forwarded-For": "198.51.100.7"})
    assert status == 429
    status, _ = await finder.press(headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.8"})
    assert status == 200


async def test_a_bad_finder_number_is_said_on_the_form_and_nothing_is_raised(kiosk, client, card):
    status, text = await Finder(client, card).press("here", "12")
    assert status == 400 and "is not a valid phone number" in text
    assert "here" in text  # what was typed stays
    assert _alarms(kiosk) == []


async def test_the_finder_page_works_before_the_admin_password_is_set(kiosk, client):
    card = make_subject(kiosk, NAME, TYPED_PHONE)[1]
    status, text = await Finder(client, card).press()
    assert status == 200 and "Their custodians have been alerted" in text


async def test_a_foreign_host_name_reaches_no_finder_page(client, card):
    response = await client.get(f"/scan/{card}", headers={"Host": "rebound.example"})
    assert response.status == 421
    response = await client.post(f"/scan/{card}/alert", headers={"Host": "rebound.example"})
    assert response.status == 421
