"""Admin sessions end when the admin says so: logout, a password change, "log out everywhere";
and nothing in a backup lets anyone make a cookie the kiosk accepts."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request
from aiohttp_session import Session
from itsdangerous import TimestampSigner

from appliance.services.auth import session_secret
from appliance.services.backup import backup_to
from appliance.services.kiosk import Kiosk
from appliance.web.app import SESSION_COOKIE, SESSION_MAX_AGE
from appliance.web.cookies import SignedCookieStorage
from appliance.web.middlewares import ADMIN_SESSION
from tests.web.conftest import PASSWORD, Admin

pytestmark = pytest.mark.asyncio

NEW_PASSWORD = "a brand new passphrase"


def session_cookie(client: TestClient) -> str:
    """The session cookie the browser holds now, as someone copying it would save it."""
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value


async def opens_admin_pages(client: TestClient, cookie: str) -> bool:
    """Whether a request carrying only `cookie` reaches an admin page (not the login redirect)."""
    client.session.cookie_jar.clear()
    response = await client.get("/settings", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}, allow_redirects=False)
    return response.status == 200


@pytest_asyncio.fixture
async def other_browser(admin: Admin, client: TestClient) -> AsyncIterator[Admin]:
    """A second browser (its own cookie jar) logged in to the same kiosk."""
    second = TestClient(client.server)
    await second.start_server()
    browser = Admin(second)
    assert (await browser.login()).status == 303
    yield browser
    await second.session.close()


async def test_a_cookie_kept_across_logout_is_refused(admin: Admin, client: TestClient) -> None:
    kept = session_cookie(client)
    assert await opens_admin_pages(client, kept)
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: kept})
    await admin.page("/settings")

    response = await admin.submit("/logout")

    assert response.status == 303 and response.headers["Location"] == "/login"
    assert not await opens_admin_pages(client, kept)


async def test_a_cookie_kept_across_a_password_change_is_refused(
    admin: Admin, client: TestClient, other_browser: Admin
) -> None:
    kept = session_cookie(client)
    elsewhere = session_cookie(other_browser.client)

    response = await admin.submit(
        "/settings/password", {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status == 303
    still_here = session_cookie(client)  # the browser that changed it gets a fresh session

    assert not await opens_admin_pages(client, kept)
    assert not await opens_admin_pages(other_browser.client, elsewhere)
    assert await opens_admin_pages(client, still_here)


async def test_log_out_everywhere_ends_another_browsers_session(
    admin: Admin, client: TestClient, other_browser: Admin
) -> None:
    mine, theirs = session_cookie(client), session_cookie(other_browser.client)
    await admin.page("/settings")

    response = await admin.submit("/settings/logout-everywhere")

    assert response.status == 303 and response.headers["Location"] == "/login"
    assert not await opens_admin_pages(other_browser.client, theirs)
    assert not await opens_admin_pages(client, mine)


async def test_log_out_everywhere_needs_the_csrf_token(admin: Admin, client: TestClient, other_browser: Admin) -> None:
    theirs = session_cookie(other_browser.client)
    response = await client.post("/settings/logout-everywhere", data={"csrf_token": "guessed"}, allow_redirects=False)
    assert response.status == 403
    assert await opens_admin_pages(other_browser.client, theirs)


async def test_a_cookie_signed_with_the_device_key_opens_the_admin_pages(kiosk: Kiosk, admin: Admin, client):
    """The control for the refusals below: a cookie minted with the device's key is let in."""
    held = await _session_in(kiosk, session_cookie(client))
    assert not held.new and held[ADMIN_SESSION]
    assert await opens_admin_pages(client, await _mint_cookie(session_secret(kiosk), dict(held)))


async def test_a_cookie_whose_contents_were_changed_is_refused(kiosk: Kiosk, admin: Admin, client: TestClient) -> None:
    genuine = session_cookie(client)
    held = await _session_in(kiosk, genuine)
    payload, stamp, signature = genuine.rsplit(".", 2)
    assert len(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))) == 32  # HMAC-SHA256
    # The same admin token, a session one second younger: only the signature no longer matches.
    younger = json.dumps({"created": held.created + 1, "session": dict(held)}, separators=(",", ":"))
    changed = base64.urlsafe_b64encode(younger.encode()).decode().rstrip("=")
    assert await opens_admin_pages(client, f"{payload}.{stamp}.{signature}")
    assert not await opens_admin_pages(client, f"{changed}.{stamp}.{signature}")


async def test_a_cookie_older_than_the_session_lifetime_is_refused(
    kiosk: Kiosk, admin: Admin, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = await _session_in(kiosk, session_cookie(client))
    signed_long_ago = int(time.time()) - SESSION_MAX_AGE - 60
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _signer: signed_long_ago)
    cookie = await _mint_cookie(session_secret(kiosk), dict(held))
    monkeypatch.undo()
    assert not await opens_admin_pages(client, cookie)


async def test_a_cookie_forged_from_a_backups_contents_is_refused(
    kiosk: Kiosk, admin: Admin, client: TestClient, tmp_path: Path
) -> None:
    backup = tmp_path / "stolen-backup.db"
    backup_to(kiosk, backup)
    key = _session_key_in(backup)

    for forged in ({"admin": True}, {"admin": True, "sid": "guessed"}):
        cookie = await _mint_cookie(key or os.urandom(32), forged)
        assert not await opens_admin_pages(client, cookie)
    assert key is None, "the backup carries the session key"


async def _session_in(kiosk: Kiosk, cookie: str) -> Session:
    """What `cookie` holds, read with the device's key as the web page reads it."""
    storage = SignedCookieStorage(session_secret(kiosk), cookie_name=SESSION_COOKIE, max_age=SESSION_MAX_AGE)
    return await storage.load_session(make_mocked_request("GET", "/", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}))


def _session_key_in(backup: Path) -> bytes | None:
    with sqlite3.connect(backup) as conn:
        row = conn.execute("SELECT value FROM system_parameters WHERE key = 'web_session_secret'").fetchone()
    return base64.urlsafe_b64decode(row[0]) if row else None


async def _mint_cookie(key: bytes, data: dict[str, object]) -> str:
    """An admin cookie made the way the web page makes them, with `key`."""
    storage = SignedCookieStorage(key, cookie_name=SESSION_COOKIE, max_age=SESSION_MAX_AGE)
    response = web.Response()
    session = Session(None, data={"created": int(time.time()), "session": data}, new=True)
    await storage.save_session(make_mocked_request("GET", "/"), response, session)
    return response.cookies[SESSION_COOKIE].value
