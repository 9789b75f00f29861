"""What an attacker meets: every protected route refuses without a session or token, forms need
their CSRF token, the bearer token must be exact, pages carry a strict content policy, and a
subject named like a script is shown as text everywhere."""

from __future__ import annotations

import pytest

from appliance.services.auth import set_up_admin
from appliance.store.models import Subject
from appliance.web.routes import ROUTES
from tests.web.conftest import API_TOKEN, PASSWORD, Admin, make_alarms, make_subject

pytestmark = pytest.mark.asyncio

OPEN = {"/setup", "/login", "/api/health", "/webhooks/twilio", "/webhooks/whatsapp"}
CARD = "0b8c6f4e-1f2a-4c3d-9e8f-1a2b3c4d5e6f"
UUID = "{card_uuid:[0-9a-fA-F-]{36}}"
FINDER = {("GET", f"/scan/{UUID}"), ("POST", f"/scan/{UUID}/alert")}  # a finder's phone (tests/web/test_finder.py)


def _concrete(path: str) -> str:
    """A real URL for a route pattern."""
    return (
        path.replace(r"{subject_id:\d+}", "1")
        .replace(r"{alarm_id:\d+}", "1")
        .replace("{card_uuid:[0-9a-fA-F-]{36}}", CARD)
    )


PROTECTED = [
    (route.method, _concrete(route.path))
    for route in ROUTES
    if route.path not in OPEN and (route.method, route.path) not in FINDER
]


async def test_the_route_table_protects_everything_but_the_open_routes():
    assert len(PROTECTED) == len(ROUTES) - 10  # setup, login (GET and POST), health, three webhooks, finder (2)
    assert ("POST", f"/scan/{CARD}") in PROTECTED  # the admin's simulated scan
    assert ("GET", "/api/alarms") in PROTECTED and ("POST", "/api/scans") in PROTECTED


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_every_protected_route_refuses_a_request_without_session(kiosk, client, method, path):
    set_up_admin(kiosk, PASSWORD)
    make_subject(kiosk)
    response = await client.request(method, path, allow_redirects=False)
    machine = path.startswith(("/api/", "/metrics", "/events"))
    if machine:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
    else:
        assert response.status == 303
        assert response.headers["Location"].startswith("/login")


async def test_a_refused_form_changes_nothing(kiosk, client):
    set_up_admin(kiosk, PASSWORD)
    response = await client.post("/subjects", data={"name": "Eve", "phone": "55 1234 5678"}, allow_redirects=False)
    assert response.status == 303
    with kiosk.store.read() as session:
        assert session.query(Subject).count() == 0


@pytest.mark.parametrize("path", ["/", "/subjects", "/api/alarms"])
async def test_before_first_run_setup_everything_leads_to_setup(client, path):
    response = await client.get(path, allow_redirects=False)
    if path.startswith("/api/"):
        assert response.status == 401
    else:
        assert (response.status, response.headers["Location"]) == (303, "/setup")


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (f"Bearer {API_TOKEN}", 200),
        (f"bearer {API_TOKEN}", 200),
        (f"Bearer {API_TOKEN}x", 401),
        (f"Bearer {API_TOKEN[:-1]}", 401),
        ("Bearer ", 401),
        (f"Basic {API_TOKEN}", 401),
        (API_TOKEN, 401),
    ],
)
async def test_bearer_token_must_match_exactly(kiosk, client, header, status):
    set_up_admin(kiosk, PASSWORD)
    response = await client.get("/api/alarms", headers={"Authorization": header}, allow_redirects=False)
    assert response.status == status


async def test_without_a_configured_token_no_bearer_is_accepted(kiosk, aiohttp_client, app_factory):
    set_up_admin(kiosk, PASSWORD)
    client = await aiohttp_client(app_factory(api_token=""))
    response = await client.get("/api/alarms", headers={"Authorization": "Bearer "}, allow_redirects=False)
    assert response.status == 401
    response = await client.get("/api/alarms", headers={"Authorization": "Bearer anything"}, allow_redirects=False)
    assert response.status == 401


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/subjects", {"name": "Eve", "phone": "55 1234 5678"}),
        ("/settings/channel", {"channel": "3"}),
        ("/settings/test-message", {"phone": "55 1234 5678"}),
        ("/logout", {}),
    ],
)
@pytest.mark.parametrize("token", [None, "", "forged-token"])
async def test_a_form_without_its_csrf_token_is_refused(kiosk, admin: Admin, path, data, token):
    if token is not None:
        data = {**data, "csrf_token": token}
    response = await admin.client.post(path, data=data, allow_redirects=False)
    assert response.status == 403
    assert "caducó" in await response.text()
    with kiosk.store.read() as session:
        assert session.query(Subject).count() == 0
    assert (await admin.client.get("/settings", allow_redirects=False)).status == 200  # still logged in


async def test_a_token_from_another_session_is_refused(kiosk, admin: Admin, aiohttp_client, app_factory):
    other = Admin(await aiohttp_client(app_factory()))
    await other.login()
    await other.page("/settings")
    await admin.page("/settings")
    assert other.token != admin.token
    response = await admin.client.post(
        "/settings/channel", data={"channel": "3", "csrf_token": other.token}, allow_redirects=False
    )
    assert response.status == 403


async def test_json_with_the_csrf_header_is_accepted_for_a_session(kiosk, admin: Admin):
    await admin.page("/settings")
    _, card = make_subject(kiosk)
    refused = await admin.client.post("/api/scans", json={"payload": card})
    assert refused.status == 403
    accepted = await admin.client.post("/api/scans", json={"payload": card}, headers={"X-CSRF-Token": admin.token})
    assert accepted.status == 201


async def test_pages_carry_a_strict_content_security_policy(admin: Admin):
    response = await admin.client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


async def test_session_cookie_is_httponly_and_samesite_strict(kiosk, client):
    set_up_admin(kiosk, PASSWORD)
    browser = Admin(client)
    response = await browser.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert PASSWORD not in cookie  # signed (tests/web/test_sessions.py); it never holds the password


SCRIPT = "<script>alert(1)</script>"


async def test_a_script_name_is_shown_escaped_everywhere(kiosk, admin: Admin):
    subject_id, card = make_subject(kiosk, name=SCRIPT)
    make_alarms(kiosk, 1, subject_id=subject_id, subject_name=SCRIPT)
    alarm_id = make_alarms(kiosk, 1, subject_id=subject_id, subject_name=SCRIPT)[0]
    pages = ["/", "/subjects", f"/subjects/{subject_id}", f"/scan/{card}", "/alarms", f"/alarms/{alarm_id}"]
    pages.append("/subjects?q=" + SCRIPT)
    for path in pages:
        text = await admin.page(path)
        assert SCRIPT not in text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, path
