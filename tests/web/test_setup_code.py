"""First-run setup can be claimed only with the device's setup code: a stranger on the LAN who
opens /setup first gets a 403 and nothing is set, guessing is throttled like a login, and the
right code works once."""

from __future__ import annotations

import pytest

from appliance.services.auth import has_admin_password, verify_admin_password
from appliance.services.setup_code import ensure_setup_code
from tests.web.conftest import PASSWORD, Admin

pytestmark = pytest.mark.asyncio

ATTACKER_PASSWORD = "attacker password"


@pytest.fixture
def setup_code(kiosk) -> str:
    """The code `keryu init` made for this kiosk."""
    code = ensure_setup_code(kiosk)
    assert code is not None
    return code


async def _claim(client, **fields: str):
    browser = Admin(client)
    await browser.page("/setup")
    data = {"csrf_token": browser.token, "password": ATTACKER_PASSWORD, "confirm": ATTACKER_PASSWORD, **fields}
    return await client.post("/setup", data=data, allow_redirects=False)


async def test_the_setup_page_asks_for_the_setup_code(client, setup_code):
    text = await Admin(client).page("/setup")
    assert 'name="setup_code"' in text and "keryu setup-code" in text


async def test_a_stranger_cannot_claim_setup_without_the_code(kiosk, client, setup_code):
    response = await _claim(client)
    assert response.status == 403
    assert "Código de configuración incorrecto" in await response.text()
    assert not has_admin_password(kiosk)
    assert (await client.get("/subjects", allow_redirects=False)).headers["Location"] == "/setup"


@pytest.mark.parametrize("guess", ["", "2222-2222-2222-2222", "not a code at all", "ÄÖÜ-ß"])
async def test_a_stranger_cannot_claim_setup_with_a_wrong_code(kiosk, client, setup_code, guess):
    response = await _claim(client, setup_code=guess)
    assert response.status == 403
    assert "Código de configuración incorrecto" in await response.text()
    assert not has_admin_password(kiosk)


async def test_a_stranger_cannot_claim_setup_before_any_code_exists(kiosk, client):
    response = await _claim(client, setup_code="")
    assert response.status == 403
    assert not has_admin_password(kiosk)


@pytest.mark.page_language("en")  # the message is checked in English
async def test_guessing_the_setup_code_is_throttled_like_a_login(kiosk, client, setup_code, throttle_clock):
    for _ in range(5):
        assert (await _claim(client, setup_code="2222-2222-2222-2222")).status == 403
    response = await _claim(client, setup_code=setup_code)  # even the right code waits out the pause
    assert response.status == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed" in await response.text()
    assert not has_admin_password(kiosk)
    throttle_clock.advance(61)
    assert (await _claim(client, setup_code=setup_code)).status == 303


async def test_the_right_setup_code_claims_the_kiosk_once(kiosk, client, setup_code):
    browser = Admin(client)
    await browser.page("/setup")
    response = await client.post(
        "/setup",
        data={"csrf_token": browser.token, "setup_code": setup_code, "password": PASSWORD, "confirm": PASSWORD},
        allow_redirects=False,
    )
    assert (response.status, response.headers["Location"]) == (303, "/subjects")
    assert verify_admin_password(kiosk, PASSWORD)
    assert ensure_setup_code(kiosk) is None  # used up, and never made again

    response = await client.get("/setup", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/login")
    replay = await client.post(
        "/setup",
        data={"setup_code": setup_code, "password": ATTACKER_PASSWORD, "confirm": ATTACKER_PASSWORD},
        allow_redirects=False,
    )
    assert replay.status == 303
    assert verify_admin_password(kiosk, PASSWORD) and not verify_admin_password(kiosk, ATTACKER_PASSWORD)


async def test_the_setup_code_may_be_typed_in_lower_case_with_spaces(kiosk, client, setup_code):
    typed = " " + setup_code.lower().replace("-", " ") + " "
    response = await _claim(client, setup_code=typed)
    assert response.status == 303
    assert verify_admin_password(kiosk, ATTACKER_PASSWORD)


async def test_a_right_code_with_a_bad_password_keeps_the_code(kiosk, client, setup_code):
    response = await _claim(client, setup_code=setup_code, password="short", confirm="short")
    assert response.status == 400
    assert not has_admin_password(kiosk)
    assert ensure_setup_code(kiosk) == setup_code
