"""What a stranger learns without logging in: the health states only, no software versions,
no 500 for a silly number, and a journal that a flood of refusals cannot flood."""

from __future__ import annotations

import logging

import pytest

from appliance import __version__
from appliance.services.auth import set_up_admin
from tests.web.conftest import API_TOKEN, PASSWORD, Admin

pytestmark = pytest.mark.asyncio

HUGE = str(2**64)


async def test_anonymous_health_shows_states_but_no_version_paths_or_errors(kiosk, client):
    report = await (await client.get("/api/health")).json()
    assert set(report) == {"status", "components"}
    assert all(part == {"status": part["status"]} for part in report["components"].values())
    text = str(report)
    assert __version__ not in text and str(kiosk.settings.data_dir) not in text
    assert report["components"]["redis"]["status"] == "down"  # the state, without the error text


@pytest.mark.parametrize("how", ["session", "token"])
async def test_the_admin_and_the_token_see_the_whole_health_report(kiosk, admin: Admin, how):
    headers = {"Authorization": f"Bearer {API_TOKEN}"} if how == "token" else {}
    client = admin.client
    if how == "token":
        await client.post("/logout", data={"csrf_token": admin.token}, allow_redirects=False)
    report = await (await client.get("/api/health", headers=headers)).json()
    assert report["version"] == __version__
    assert "error" in report["components"]["redis"]


@pytest.mark.parametrize("path", ["/login", "/nowhere", "/static/style.css", "/api/alarms", "/api/health"])
async def test_no_answer_names_the_server_software_versions(client, path):
    response = await client.get(path, allow_redirects=False)
    assert response.headers.get("Server") == "keryu"


@pytest.mark.parametrize(
    "path",
    [
        f"/alarms?before={HUGE}",
        f"/alarms?subject_id={HUGE}",
        f"/alarms?before=-{HUGE}",
        f"/api/alarms?before={HUGE}",
        f"/api/alarms?limit={HUGE}",
        f"/api/alarms?subject_id={HUGE}",
        f"/alarms/{HUGE}",
        f"/api/alarms/{HUGE}",
        f"/subjects/{HUGE}",
        "/alarms?before=" + "9" * 5000,
    ],
)
async def test_a_huge_number_in_the_address_is_a_400_not_a_500(admin: Admin, path):
    response = await admin.client.get(path, headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status == 400, await response.text()


async def test_refusals_are_logged_once_a_minute_per_address(kiosk, client, fake_clock, caplog):
    set_up_admin(kiosk, PASSWORD)
    browser = Admin(client)
    caplog.set_level(logging.WARNING)

    def refusal_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "appliance.web.refusals"]

    for _ in range(4):
        await client.get("/api/alarms", headers={"Authorization": "Bearer wrong"})
        await browser.login("wrong password")
    assert len(refusal_lines()) == 1
    fake_clock.advance(61)
    await client.get("/api/alarms", headers={"Authorization": "Bearer wrong"})
    lines = refusal_lines()
    assert len(lines) == 2 and "and 7 more from this address" in lines[1]
