"""`keryu web` as systemd runs it: READY once listening, watchdog pings, a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import re
import socket
import time

import pytest
import requests

from appliance.services.auth import set_up_admin
from appliance.web.serve import serve
from tests.conftest import free_port, wait_until
from tests.web.conftest import API_TOKEN, PASSWORD


class RecordingNotifier:
    """Stands in for systemd's notify socket: remembers what the service told it."""

    def __init__(self):
        self.messages: list[str] = []

    def notify(self, message: str) -> None:
        self.messages.append(message)


def test_serve_reports_ready_pings_the_watchdog_and_stops_on_sigterm(kiosk):
    import os
    import signal

    port = free_port()
    notifier = RecordingNotifier()

    async def scenario() -> int:
        server = asyncio.create_task(serve(kiosk, "127.0.0.1", port, notifier=notifier))
        while not any(m.startswith("READY=1") for m in notifier.messages):
            await asyncio.sleep(0.02)
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, requests.get, f"http://127.0.0.1:{port}/api/health?self=1")
        assert answer.json() == {"status": "ok"}
        os.kill(os.getpid(), signal.SIGTERM)  # the handler serve() installed turns this into a clean stop
        return await asyncio.wait_for(server, 10)

    assert asyncio.run(scenario()) == 0
    assert "WATCHDOG=1" in notifier.messages
    assert notifier.messages[-1] == "STOPPING=1"
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # the port is released


def test_a_busy_port_is_one_clear_sentence(kiosk):
    from appliance.errors import UserError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UserError, match=f"cannot listen on 127.0.0.1:{port}"):
            asyncio.run(serve(kiosk, "127.0.0.1", port, notifier=RecordingNotifier()))


@pytest.mark.integration
def test_keryu_web_subprocess_serves_and_stops_quickly_with_a_live_page_open(service_process, kiosk_env, kiosk):
    web = service_process("web", ready_text="serving the admin page", KERYU_API_TOKEN=API_TOKEN)
    base = f"http://127.0.0.1:{kiosk_env['KERYU_WEB_PORT']}"
    assert requests.get(f"{base}/api/health", timeout=10).json()["components"]["web"]["status"] == "ok"
    assert requests.get(f"{base}/", allow_redirects=False, timeout=5).headers["Location"] == "/setup"
    set_up_admin(kiosk, PASSWORD)
    browser = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(f"{base}/login", timeout=5).text).group(1)
    browser.post(f"{base}/login", data={"csrf_token": token, "password": PASSWORD}, timeout=10)
    live = browser.get(f"{base}/events", stream=True, timeout=10)
    assert live.status_code == 200 and live.headers["Content-Type"] == "text/event-stream"
    started = time.monotonic()
    web.stop()
    assert web.process.returncode == 0
    assert time.monotonic() - started < 8
    assert b"retry: 3000" in live.raw.read()  # the open stream was ended, not cut mid-event
    wait_until(lambda: "keryu web: stopped" in web.log(), timeout=5, what="the stop message")
