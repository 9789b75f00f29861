"""The admin page in-process: aiohttp's test client on the `kiosk` fixture's temporary SQLite file."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient

from appliance.services.auth import LoginThrottle, set_up_admin
from appliance.services.kiosk import Kiosk
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.models import Alarm, AlarmStatus
from appliance.web import create_app
from tests.fakes import FakeClock

PASSWORD = "correct horse battery"
API_TOKEN = "script-token-0123456789-abcdefghijkl"  # at least 32 characters, as config demands
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class Admin:
    """A browser-like client: keeps cookies, reads the CSRF token from pages like a form would."""

    def __init__(self, client: TestClient):
        self.client = client
        self.token = ""

    async def page(self, path: str, status: int = 200) -> str:
        response = await self.client.get(path)
        text = await response.text()
        assert response.status == status, (path, response.status, text[:500])
        found = _CSRF_RE.search(text)
        if found:
            self.token = found.group(1)
        return text

    async def submit(self, path: str, data: dict[str, str] | None = None, *, form_page: str = "/settings"):
        """POST a form the way the page does (with its CSRF token), without following the redirect."""
        if not self.token:
            await self.page(form_page)
        return await self.client.post(path, data={"csrf_token": self.token, **(data or {})}, allow_redirects=False)

    async def login(self, password: str = PASSWORD):
        await self.page("/login")
        response = await self.client.post(
            "/login", data={"csrf_token": self.token, "password": password}, allow_redirects=False
        )
        self.token = ""  # a login starts a new session with a new token
        return response


@pytest.fixture
def throttle_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app_factory(kiosk: Kiosk, throttle_clock: FakeClock) -> Callable:
    def make(**overrides):
        options = {
            "api_token": API_TOKEN,
            "throttle": LoginThrottle(clock=throttle_clock),
            "live_interval": 0.05,
            **overrides,
        }
        return create_app(kiosk, **options)

    return make


@pytest_asyncio.fixture
async def client(aiohttp_client, app_factory, request) -> TestClient:
    """A client of a kiosk on first run (no admin password yet).

    A module marked `page_language("en")` tells its story through an English browser; without
    the mark the pages come in the kiosk's own language (Spanish by default).
    """
    marker = request.node.get_closest_marker("page_language")
    headers = {"Accept-Language": marker.args[0]} if marker else None
    return await aiohttp_client(app_factory(), headers=headers)


@pytest_asyncio.fixture
async def admin(kiosk: Kiosk, client: TestClient) -> Admin:
    """A client logged in as the admin."""
    set_up_admin(kiosk, PASSWORD)
    browser = Admin(client)
    response = await browser.login()
    assert response.status == 303, await response.text()
    return browser


def make_subject(kiosk: Kiosk, name: str = "Ana López", phone: str = "55 1234 5678") -> tuple[int, str]:
    """A subject with an active card; returns (subject id, card uuid)."""
    card = add_subject(kiosk, SubjectInput(name, phone, "María"))
    return card.subject_id, card.uuid


def make_alarms(
    kiosk: Kiosk, count: int, *, subject_id: int | None = None, status: str = AlarmStatus.SENT, **fields
) -> list[int]:
    """`count` alarms one minute apart (oldest first), written straight to the database."""
    start = kiosk.clock.now() - timedelta(minutes=count)
    with kiosk.store.session() as session:
        rows = [
            Alarm(
                subject_id=subject_id,
                subject_name=fields.get("subject_name", "Ana López"),
                recipient_phone="+525512345678",
                created_at=start + timedelta(minutes=i),
                location="Test gate",
                notification_status=status,
                **{key: value for key, value in fields.items() if key != "subject_name"},
            )
            for i in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]
