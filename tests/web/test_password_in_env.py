"""KERYU_ADMIN_PASSWORD_HASH in keryu.env is the admin password: no first-run page to claim, and
the password cannot be changed from the page (only where it was set)."""

from __future__ import annotations

import pytest

from appliance.services.auth import hash_password, verify_admin_password
from appliance.services.setup_code import ensure_setup_code
from tests.web.conftest import PASSWORD, Admin

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.parametrize("settings", [{"KERYU_ADMIN_PASSWORD_HASH": hash_password(PASSWORD)}], indirect=True),
]


async def test_a_password_hash_in_keryu_env_logs_in_without_setup(kiosk, client):
    response = await client.get("/", allow_redirects=False)
    assert response.headers["Location"].startswith("/login")
    response = await Admin(client).login(PASSWORD)
    assert (response.status, response.headers["Location"]) == (303, "/")
    assert (await client.get("/subjects", allow_redirects=False)).status == 200


async def test_with_a_password_hash_in_keryu_env_setup_cannot_be_claimed(kiosk, client):
    assert ensure_setup_code(kiosk) is None
    response = await client.get("/setup", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/login")
    form = {"password": "attacker password", "confirm": "attacker password", "setup_code": ""}
    response = await client.post("/setup", data=form, allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/login")
    assert not verify_admin_password(kiosk, "attacker password")


@pytest.mark.page_language("en")  # the message is checked in English
async def test_a_password_from_keryu_env_is_not_changed_from_the_page(kiosk, client):
    admin = Admin(client)
    await admin.login(PASSWORD)
    text = await admin.page("/settings")
    assert "KERYU_ADMIN_PASSWORD_HASH" in text and 'name="current"' not in text
    response = await admin.submit(
        "/settings/password", {"current": PASSWORD, "password": "new password", "confirm": "new password"}
    )
    assert response.status == 400
    assert "change it there" in await response.text()
    assert verify_admin_password(kiosk, PASSWORD) and not verify_admin_password(kiosk, "new password")


async def test_a_wrong_password_is_refused_with_the_hash_in_keryu_env(client):
    assert (await Admin(client).login("not the password")).status == 401
