"""Installing an update from the settings page: the upload lands in the spool for the root-run
updater (this process installs nothing), and a second one waits for the first."""

from __future__ import annotations

import pytest
from aiohttp import FormData

from appliance.services.kiosk import Kiosk
from tests.web.conftest import Admin

pytestmark = [pytest.mark.asyncio, pytest.mark.page_language("en")]  # read in an English browser


async def upload(admin: Admin, data: bytes):
    if not admin.token:
        await admin.page("/settings")
    form = FormData()
    form.add_field("csrf_token", admin.token)
    form.add_field("bundle", data, filename="keryu-9.9.9.kup", content_type="application/octet-stream")
    return await admin.client.post("/settings/update", data=form, allow_redirects=False)


async def test_an_uploaded_bundle_is_spooled_for_the_updater(admin: Admin, kiosk: Kiosk) -> None:
    page = await admin.page("/settings")
    assert 'action="/settings/update"' in page

    answer = await upload(admin, b"bundle bytes")

    assert answer.status == 303
    spooled = kiosk.settings.data_dir / "update-spool" / "update.kup"
    assert spooled.read_bytes() == b"bundle bytes"
    assert "Update uploaded" in await admin.page("/settings")


async def test_a_second_upload_waits_for_the_first(admin: Admin, kiosk: Kiosk) -> None:
    await upload(admin, b"first")

    answer = await upload(admin, b"second")

    assert answer.status == 400
    assert "already waiting" in await answer.text()
    assert (kiosk.settings.data_dir / "update-spool" / "update.kup").read_bytes() == b"first"


async def test_health_page_says_when_packages_were_last_updated(admin: Admin) -> None:
    assert "Last package update" in await admin.page("/health")
