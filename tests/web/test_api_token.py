"""The API token as an attacker who copied it from a script would use it: it opens the JSON API and
the metrics, nothing else (no page, no form without CSRF, no backup), and guessing it gets paused."""

from __future__ import annotations

import pytest

from appliance.services.auth import set_up_admin
from tests.web.conftest import API_TOKEN, PASSWORD, Admin

pytestmark = pytest.mark.asyncio

BEARER = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.mark.parametrize("path", ["/", "/settings", "/subjects", "/alarms", "/health"])
async def test_the_api_token_does_not_open_admin_pages(kiosk, client, path):
    set_up_admin(kiosk, PASSWORD)
    response = await client.get(path, headers=BEARER, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_the_api_token_does_not_open_the_live_feed(kiosk, client):
    set_up_admin(kiosk, PASSWORD)
    assert (await client.get("/events", headers=BEARER, allow_redirects=False)).status == 401


async def test_the_api_token_cannot_change_a_setting_without_csrf(kiosk, client):
    set_up_admin(kiosk, PASSWORD)
    response = await client.post("/settings/channel", data={"channel": "3"}, headers=BEARER, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_the_api_token_beside_a_session_does_not_spare_the_csrf_token(admin: Admin):
    response = await admin.client.post(
        "/settings/channel", data={"channel": "3"}, headers=BEARER, allow_redirects=False
    )
    assert response.status == 403


async def test_the_api_token_cannot_download_the_backup(kiosk, client):
    set_up_admin(kiosk, PASSWORD)
    response = await client.post("/backup", headers=BEARER, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/login")
    assert "Content-Disposition" not in response.headers


@pytest.mark.parametrize("path", ["/api/alarms", "/api/subjects", "/metrics"])
async def test_the_api_token_still_opens_the_api_and_the_metrics(kiosk, client, path):
    set_up_admin(kiosk, PASSWORD)
    assert (await client.get(path, headers=BEARER)).status == 200


@pytest.mark.page_language("en")  # the message is checked in English
async def test_twenty_wrong_api_tokens_are_paused_with_retry_after(kiosk, client, fake_clock):
    set_up_admin(kiosk, PASSWORD)
    statuses = []
    for guess in range(20):
        response = await client.get("/api/alarms", headers={"Authorization": f"Bearer guess-{guess:040d}"})
        statuses.append(response.status)
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429] * 10
    assert int(response.headers["Retry-After"]) > 0
    assert (await client.get("/api/alarms", headers=BEARER)).status == 429  # even the right one, while paused
    fake_clock.advance(61)
    assert (await client.get("/api/alarms", headers=BEARER)).status == 200


async def test_a_token_sent_to_an_admin_page_is_ignored_not_counted(kiosk, client):
    set_up_admin(kiosk, PASSWORD)
    for _ in range(20):
        response = await client.get("/settings", headers={"Authorization": "Bearer wrong"}, allow_redirects=False)
        assert response.status == 303
    assert (await client.get("/api/alarms", headers=BEARER)).status == 200
