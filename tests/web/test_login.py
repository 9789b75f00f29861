"""First-run setup, login, logout and the pause after repeated wrong passwords."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

import pytest

from appliance.services import auth as auth_service
from appliance.services.auth import VERIFICATIONS_AT_ONCE, has_admin_password, set_up_admin, verify_admin_password
from appliance.services.setup_code import ensure_setup_code
from tests.web.conftest import PASSWORD, Admin

pytestmark = pytest.mark.asyncio


async def test_first_run_sets_the_password_and_logs_in(kiosk, client):
    code = ensure_setup_code(kiosk)
    browser = Admin(client)
    text = await browser.page("/setup")
    assert "Elija la contraseña de administrador" in text
    response = await client.post(
        "/setup",
        data={"csrf_token": browser.token, "setup_code": code, "password": PASSWORD, "confirm": PASSWORD},
        allow_redirects=False,
    )
    assert (response.status, response.headers["Location"]) == (303, "/subjects")
    assert verify_admin_password(kiosk, PASSWORD)
    assert (await client.get("/subjects", allow_redirects=False)).status == 200


@pytest.mark.page_language("en")  # the message is checked in English
@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", "short", "at least 8 characters"),
        ("long enough", "different", "not the same"),
        ("", "", "at least 8 characters"),
    ],
)
async def test_setup_rejects_a_bad_password_and_saves_nothing(kiosk, client, password, confirm, message):
    code = ensure_setup_code(kiosk)
    browser = Admin(client)
    await browser.page("/setup")
    form = {"csrf_token": browser.token, "setup_code": code, "password": password, "confirm": confirm}
    response = await client.post("/setup", data=form)
    assert response.status == 400
    assert message in await response.text()
    assert not has_admin_password(kiosk)


async def test_setup_is_closed_once_a_password_exists(kiosk, client):
    set_up_admin(kiosk, PASSWORD)
    response = await client.get("/setup", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/login")
    response = await client.post("/setup", data={"password": "attacker123", "confirm": "attacker123"})
    assert verify_admin_password(kiosk, PASSWORD) and not verify_admin_password(kiosk, "attacker123")


async def test_login_returns_to_the_page_asked_for(kiosk, client):
    set_up_admin(kiosk, PASSWORD)
    response = await client.get("/alarms?status=FAILED", allow_redirects=False)
    assert response.headers["Location"] == "/login?next=/alarms?status%3DFAILED"
    browser = Admin(client)
    await browser.page(response.headers["Location"])
    response = await client.post(
        "/login",
        data={"csrf_token": browser.token, "password": PASSWORD, "next": "/alarms?status=FAILED"},
        allow_redirects=False,
    )
    assert (response.status, response.headers["Location"]) == (303, "/alarms?status=FAILED")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "alarms"])
async def test_login_never_redirects_off_site(kiosk, client, target):
    set_up_admin(kiosk, PASSWORD)
    browser = Admin(client)
    await browser.page("/login")
    response = await client.post(
        "/login", data={"csrf_token": browser.token, "password": PASSWORD, "next": target}, allow_redirects=False
    )
    assert response.headers["Location"] == "/"


async def test_wrong_password_is_refused(kiosk, client):
    set_up_admin(kiosk, PASSWORD)
    response = await Admin(client).login("not the password")
    assert response.status == 401
    assert "Contraseña incorrecta" in await response.text()
    assert (await client.get("/", allow_redirects=False)).status == 303


@pytest.mark.page_language("en")  # the message is checked in English
async def test_five_failures_pause_the_address_even_for_the_right_password(kiosk, client, throttle_clock):
    set_up_admin(kiosk, PASSWORD)
    browser = Admin(client)
    for _ in range(5):
        assert (await browser.login("guess-guess")).status == 401
    response = await browser.login(PASSWORD)
    assert response.status == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed logins" in await response.text()
    throttle_clock.advance(61)
    assert (await browser.login(PASSWORD)).status == 303


async def test_logout_ends_the_session(admin: Admin):
    await admin.page("/")
    response = await admin.submit("/logout")
    assert (response.status, response.headers["Location"]) == (303, "/login")
    assert (await admin.client.get("/", allow_redirects=False)).status == 303


async def test_password_change_needs_the_current_password(kiosk, admin: Admin):
    response = await admin.submit(
        "/settings/password", {"current": "wrong-one", "password": "new password", "confirm": "new password"}
    )
    assert response.status == 400
    response = await admin.submit(
        "/settings/password", {"current": PASSWORD, "password": "new password", "confirm": "new password"}
    )
    assert response.status == 303
    assert verify_admin_password(kiosk, "new password") and not verify_admin_password(kiosk, PASSWORD)


class CountingHasher:
    """Wraps the argon2 hasher: how many checks ran, and how many at once at most."""

    def __init__(self, real):
        self.real, self.calls, self.running, self.peak = real, 0, 0, 0
        self.lock = threading.Lock()

    def verify(self, digest: str, password: str) -> bool:
        with self.lock:
            self.calls += 1
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(0.02)  # long enough for the concurrent requests to overlap
            return self.real.verify(digest, password)
        finally:
            with self.lock:
                self.running -= 1

    def __getattr__(self, name: str):
        return getattr(self.real, name)


@pytest.mark.page_language("en")  # the message is checked in English
async def test_sixty_concurrent_wrong_logins_verify_at_most_five(kiosk, client, monkeypatch):
    set_up_admin(kiosk, PASSWORD)
    hasher = CountingHasher(auth_service._hasher)
    monkeypatch.setattr(auth_service, "_hasher", hasher)
    browser = Admin(client)
    await browser.page("/login")
    form = {"csrf_token": browser.token, "password": "a wrong guess"}
    answers = await asyncio.gather(*(client.post("/login", data=form, allow_redirects=False) for _ in range(60)))
    assert Counter(answer.status for answer in answers) == {401: 5, 429: 55}
    assert hasher.calls == 5
    assert hasher.peak <= VERIFICATIONS_AT_ONCE
    last = await client.post("/login", data={**form, "password": PASSWORD}, allow_redirects=False)
    assert last.status == 429 and int(last.headers["Retry-After"]) > 0
    assert hasher.calls == 5


@pytest.mark.page_language("en")  # the message is checked in English
async def test_a_good_login_clears_the_counted_attempts(kiosk, client):
    set_up_admin(kiosk, PASSWORD)
    browser = Admin(client)
    for _ in range(4):
        assert (await browser.login("guess-guess")).status == 401
    assert (await browser.login(PASSWORD)).status == 303
    for _ in range(4):
        assert (await browser.login("guess-guess")).status == 401
    assert (await browser.login(PASSWORD)).status == 303
