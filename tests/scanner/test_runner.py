"""The scanner service as it runs: `main()` and its threads, in real time, with systemd's notify socket.

The loop's own behaviour is specified turn by turn in test_loop.py; here the parts are wired
together for real: signals, sd_notify, the dispatcher, the health watch, the pins.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
from sqlalchemy import select

from appliance.scanner.frames import FrameHandler
from appliance.scanner.heartbeat import read_scanner_status
from appliance.scanner.loop import ScannerLoop
from appliance.scanner.runner import main, run_loop
from appliance.store.models import Alarm
from tests.conftest import GREEN, wait_until
from tests.scanner.conftest import add_card, qr_image


def drop_card(inbox: Path, uuid: str) -> None:
    tmp = inbox.parent / "card.png.part"
    tmp.write_bytes(cv2.imencode(".png", qr_image(uuid))[1].tobytes())
    tmp.rename(inbox / "card.png")


def alarm_statuses(kiosk) -> list[str]:
    with kiosk.store.read() as session:
        return [a.notification_status for a in session.scalars(select(Alarm))]


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(20)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    yield listener
    listener.close()


@pytest.fixture
def restore_signals() -> Iterator[None]:
    """`main()` installs SIGTERM and SIGINT handlers; put pytest's back afterwards."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_main_tells_systemd_records_the_alarm_and_stops_cleanly_on_sigterm(
    kiosk, notify_socket, restore_signals, tmp_path
):
    uuid = add_card(kiosk)
    inbox = tmp_path / "inbox"
    messages: list[str] = []

    def systemd() -> None:
        """Listen like systemd; once the card is recorded, stop the unit."""
        try:
            messages.append(notify_socket.recv(4096).decode())
            drop_card(inbox, uuid)
            wait_until(lambda: alarm_statuses(kiosk), what="the alarm")
        finally:
            os.kill(os.getpid(), signal.SIGTERM)
        while not messages[-1].startswith("STOPPING=1"):
            messages.append(notify_socket.recv(4096).decode())

    listener = threading.Thread(target=systemd)
    listener.start()
    assert main(kiosk, camera_spec=f"dir:{inbox}") == 0
    listener.join(20)
    assert messages[0].startswith("READY=1") and "STATUS=watching" in messages[0]
    assert any(m.startswith("WATCHDOG=1") for m in messages)
    assert alarm_statuses(kiosk) == ["PENDING"]  # Redis is dead here: the sweeper will send it
    assert read_scanner_status(kiosk.settings)["state"] == "stopped"


def test_a_card_in_front_of_the_running_loop_lights_the_green_led(kiosk, feedback, pins, tmp_path):
    uuid = add_card(kiosk)
    inbox = tmp_path / "inbox"
    frames = FrameHandler(kiosk, feedback, decoder="auto", submit=lambda result: None)
    loop = ScannerLoop(kiosk, frames, camera_spec=f"dir:{inbox}", notify=lambda message: None)
    stop = threading.Event()
    thread = threading.Thread(target=run_loop, args=(loop, stop))
    thread.start()
    try:
        wait_until(lambda: inbox.is_dir(), what="the folder camera")
        drop_card(inbox, uuid)
        wait_until(lambda: [s.state for s in pins.pin(GREEN).states] == [False, True, False], what="the green blink")
    finally:
        stop.set()
        thread.join(10)
        loop.close()
    assert not thread.is_alive()
    assert alarm_statuses(kiosk) == ["PENDING"]
