"""An https public URL (a tunnel, say) and the plain-http LAN page side by side: the session
cookie is `Secure` exactly when the request itself came over https."""

from __future__ import annotations

import aiohttp
import pytest

from appliance.services.auth import set_up_admin
from tests.standins.certificates import self_signed_loopback, server_context
from tests.web.conftest import PASSWORD, Admin

pytestmark = pytest.mark.asyncio

HTTPS_PUBLIC = [{"KERYU_PUBLIC_URL": "https://kiosk.example.org"}]


@pytest.mark.parametrize("settings", HTTPS_PUBLIC, indirect=True)
async def test_an_https_public_url_with_a_plain_http_login_works(kiosk, client):
    set_up_admin(kiosk, PASSWORD)
    browser = Admin(client)
    response = await browser.login()
    assert response.status == 303
    assert "Secure" not in response.headers["Set-Cookie"]
    assert (await client.get("/settings", allow_redirects=False)).status == 200  # the login stuck


@pytest.mark.parametrize("settings", HTTPS_PUBLIC, indirect=True)
async def test_the_cookie_is_secure_over_https(kiosk, aiohttp_server, aiohttp_client, app_factory, tmp_path):
    set_up_admin(kiosk, PASSWORD)
    server = await aiohttp_server(app_factory(), ssl=server_context(*self_signed_loopback(tmp_path)))
    client = await aiohttp_client(server, connector=aiohttp.TCPConnector(ssl=False))
    browser = Admin(client)
    response = await browser.login()
    assert response.status == 303
    assert "Secure" in response.headers["Set-Cookie"]
    assert (await client.get("/settings", allow_redirects=False)).status == 200
