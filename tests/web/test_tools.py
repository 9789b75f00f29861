"""The Tools page: self-test through the scanner's desk, preview, logs, restart and reboot requests."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from appliance.scanner import desk
from appliance.scanner.camera import Frame
from appliance.scanner.desk_clerk import DeskClerk
from appliance.scanner.selftest import check_outputs
from appliance.web.power import trigger_path
from appliance.web.views import tools
from tests.conftest import wait_until

pytestmark = [pytest.mark.asyncio, pytest.mark.page_language("en")]  # read in an English browser


@pytest.fixture
def scanner_desk(settings, feedback):
    """A scanner's desk clerk serving requests on a thread, as the frame loop does between frames."""
    clerk = DeskClerk(settings, feedback, camera=lambda: "dir:/cards", last_payloads=lambda: [], outputs=check_outputs)
    clerk.saw(Frame(np.full((480, 640), 120, np.uint8), "f.png", time.monotonic()))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            clerk.serve()
            stop.wait(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield clerk
    stop.set()
    thread.join()
    clerk.close()


async def test_the_self_test_shows_the_outputs_and_the_snapshot(admin, scanner_desk):
    await admin.page("/tools")
    response = await admin.submit("/tools/selftest", form_page="/tools")
    text = await response.text()
    assert response.status == 200, text[:500]
    assert 'data-status="failed"' in text and "simulated" in text  # simulated pins: no passed self-test
    snapshot_url = text.split('src="/tools/snapshot/', 1)[1].split('"', 1)[0]
    image = await admin.client.get("/tools/snapshot/" + snapshot_url)
    assert image.status == 200 and image.content_type == "image/jpeg"
    assert (await image.read())[:2] == b"\xff\xd8"


async def test_a_self_test_nobody_answers_says_the_scanner_may_be_down(admin, monkeypatch):
    monkeypatch.setattr(tools, "SELFTEST_WAIT", 0.5)
    response = await admin.submit("/tools/selftest", form_page="/tools")
    assert response.status == 504
    assert "did not answer" in await response.text()


async def test_a_self_test_without_the_csrf_token_is_refused(admin, kiosk):
    response = await admin.client.post("/tools/selftest", data={}, allow_redirects=False)
    assert response.status == 403
    assert not (desk.desk_dir(kiosk.settings) / desk.SELFTEST_REQUEST).exists()


async def test_the_tools_need_a_login(client, kiosk):
    from appliance.services.auth import set_up_admin

    set_up_admin(kiosk, "correct horse battery")
    for path in ("/tools", "/tools/preview", "/tools/preview.jpg"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_the_preview_page_asks_the_scanner_and_shows_the_last_card(admin, scanner_desk, kiosk):
    scanner_desk.last_code = {"text": "http://keryu.local/scan/x", "pixels_per_module": 1.4, "modules": 33}
    await admin.page("/tools/preview")  # the page's visit asks for preview frames
    assert desk.preview_wanted(kiosk.settings)
    wait_until(lambda: desk.read_preview_status(kiosk.settings), what="the preview")
    response = await admin.client.get("/tools/preview")
    text = await response.text()
    assert response.headers["Refresh"] == "2"
    assert "1.4" in text and "too few" in text
    image = await admin.client.get("/tools/preview.jpg")
    assert image.status == 200 and (await image.read())[:2] == b"\xff\xd8"


async def test_the_logs_download_is_a_text_file(admin, kiosk):
    logs = kiosk.settings.data_dir / "logs"
    logs.mkdir(parents=True)
    (logs / "worker.log").write_text("Sent to +525512345678\n")
    response = await admin.submit("/tools/logs", form_page="/tools")
    assert response.status == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="keryu-logs-')
    text = await response.text()
    assert "+52******5678" in text and "5512345678" not in text


@pytest.mark.parametrize("action", ["restart", "reboot"])
async def test_restart_and_reboot_leave_a_request_for_the_root_path_unit(admin, kiosk, action):
    response = await admin.submit(f"/tools/power/{action}", form_page="/tools")
    assert response.status == 303 and response.headers["Location"] == "/tools"
    assert trigger_path(kiosk.settings, action).is_file()
    page = await admin.page("/tools")
    assert "Nothing carries this out here" in page  # this test machine has no keryu units installed


async def test_an_unknown_power_action_is_not_a_route(admin, kiosk):
    response = await admin.submit("/tools/power/shutdown", form_page="/tools")
    assert response.status == 404
    assert not (kiosk.settings.data_dir / "power").exists()
