"""The frame loop stepped turn by turn on fake time: camera backoff, states, systemd and heartbeat pace.

Nothing here sleeps: cameras are fakes, or a real `dir:` camera read with no wait.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import cv2
import pytest
from sqlalchemy import select

from appliance.scanner.camera import open_camera
from appliance.scanner.frames import FrameHandler
from appliance.scanner.heartbeat import ScannerState, heartbeat_path, read_scanner_status
from appliance.scanner.loop import ScannerLoop
from appliance.services.kiosk import Kiosk
from appliance.store.models import Alarm, ScanEvent
from tests.fakes import FakeClock
from tests.scanner.conftest import FakeCamera, FakeCameras, add_card, card_frame, hostile_files, qr_image, scene


@pytest.fixture
def cameras() -> FakeCameras:
    return FakeCameras()


@pytest.fixture
def notices() -> list[str]:
    """What the loop told systemd."""
    return []


@pytest.fixture
def make_loop(timed_kiosk: Kiosk, handler: FrameHandler, cameras: FakeCameras, notices: list[str]):
    def make(camera_spec: str = "fake", opener: Callable = cameras) -> ScannerLoop:
        return ScannerLoop(
            timed_kiosk, handler, camera_spec=camera_spec, notify=notices.append, open_camera=opener, read_timeout=0
        )

    return make


def run_for(loop: ScannerLoop, clock: FakeClock, seconds: float, *, tick: float = 0.25) -> None:
    """Step the loop every `tick` seconds of fake time."""
    for _ in range(round(seconds / tick)):
        loop.step()
        clock.advance(tick)


def heartbeat(kiosk: Kiosk) -> dict:
    return json.loads(heartbeat_path(kiosk.settings).read_text())


def alarms(kiosk: Kiosk) -> list[Alarm]:
    with kiosk.store.read() as session:
        return list(session.scalars(select(Alarm).order_by(Alarm.id)))


def test_systemd_hears_ready_once_and_a_watchdog_every_second(make_loop, clock, notices):
    loop = make_loop()
    run_for(loop, clock, 3.0)
    assert notices[0] == "READY=1\nSTATUS=watching: fake"  # after the first turn opened the camera
    assert notices[1:] == ["WATCHDOG=1\nSTATUS=watching: fake"] * 3  # at 0, 1 and 2 s


def test_the_heartbeat_is_rewritten_every_two_seconds_and_tells_health_what_the_scanner_does(
    make_loop, cameras, clock, timed_kiosk
):
    cameras.camera.images.extend([scene()] * 20)
    loop = make_loop()
    loop.step()  # opens the camera and writes the first heartbeat
    assert heartbeat(timed_kiosk)["state"] == "watching"
    clock.advance(0.5)
    run_for(loop, clock, 1.5, tick=0.5)  # frames at 0.5, 1.0 and 1.5 s: not written yet
    assert heartbeat(timed_kiosk)["frames"] == 0
    loop.step()  # 2.0 s
    data = heartbeat(timed_kiosk)
    assert (data["state"], data["frames"], data["decoder"], data["feedback"]) == ("streaming", 4, "auto", "simulated")
    assert data["pid"] == os.getpid() and data["last_frame_at"] == clock.now().isoformat()
    status = read_scanner_status(timed_kiosk.settings)
    assert status["status"] == "ok" and status["frames"] == 4


def test_memory_the_frames_freed_is_given_back_every_ten_seconds(make_loop, clock, monkeypatch):
    returned: list[float] = []
    monkeypatch.setattr("appliance.scanner.loop.return_free_memory", lambda: returned.append(clock.monotonic()))
    loop = make_loop()
    started = clock.monotonic()
    run_for(loop, clock, 25.0, tick=0.5)
    assert [moment - started for moment in returned] == [10.0, 20.0]  # counted from the loop's start


def test_a_camera_that_cannot_open_is_retried_with_backoff(make_loop, cameras, clock, timed_kiosk):
    cameras.failure = "USB camera 0 cannot be opened"
    loop = make_loop()
    opened_at = []
    for _ in range(400):  # 100 s
        before = len(cameras.opened)
        assert loop.step() <= 0.5  # the loop never waits long between ticks
        if len(cameras.opened) > before:
            opened_at.append(clock.monotonic())
        clock.advance(0.25)
    assert [b - a for a, b in pairwise(opened_at)] == [1, 2, 4, 8, 15, 30, 30]
    assert (loop.state, loop.detail) == (ScannerState.CAMERA_ERROR, "USB camera 0 cannot be opened")
    status = read_scanner_status(timed_kiosk.settings)
    assert status["status"] == "degraded" and status["error"] == "USB camera 0 cannot be opened"


def test_the_backoff_starts_over_once_frames_flow(make_loop, cameras, clock):
    cameras.failure = "busy"
    loop = make_loop()
    run_for(loop, clock, 7.5)  # tries at 0, 1, 3 and 7 s
    cameras.failure = None
    cameras.camera.images.append(scene())
    run_for(loop, clock, 8.0)  # opened at 15 s, one frame
    assert loop.state is ScannerState.STREAMING
    cameras.camera.failure = "USB camera 0 stopped giving frames"
    loop.step()
    assert loop.state is ScannerState.CAMERA_ERROR and cameras.camera.closed
    opened = len(cameras.opened)
    run_for(loop, clock, 1.25)
    assert len(cameras.opened) == opened + 1  # 1 s later, not 30


def test_a_camera_lost_while_running_is_reopened_and_scans_again(make_loop, cameras, clock, timed_kiosk):
    uuid = add_card(timed_kiosk)
    loop = make_loop()
    run_for(loop, clock, 1.0)
    cameras.camera.failure = "USB camera 0 stopped giving frames"
    loop.step()
    assert loop.state is ScannerState.CAMERA_ERROR
    cameras.camera = FakeCamera([card_frame(uuid)])
    run_for(loop, clock, 1.5)  # reopened after a 1 s backoff
    assert loop.state is ScannerState.STREAMING
    assert [a.card_uuid for a in alarms(timed_kiosk)] == [uuid]


def test_no_new_frame_for_five_seconds_is_watching_again(make_loop, cameras, clock):
    cameras.camera.images.append(scene())
    loop = make_loop()
    run_for(loop, clock, 5.5)
    assert loop.state is ScannerState.STREAMING  # the frame came at 0.25 s; the last turn was at 5.25 s
    loop.step()
    assert loop.state is ScannerState.WATCHING


def test_auto_without_a_camera_looks_again_every_thirty_seconds(make_loop, cameras, clock, timed_kiosk):
    cameras.camera = FakeCamera(available=False, description="none (no camera found)")
    loop = make_loop("auto")
    run_for(loop, clock, 65.0, tick=1.0)
    assert cameras.opened == ["auto"] * 3  # at 0, 31 and 62 s
    assert read_scanner_status(timed_kiosk.settings)["error"] == "none (no camera found)"


def test_a_camera_set_to_none_is_not_looked_for_again(make_loop, cameras, clock):
    cameras.camera = FakeCamera(available=False)
    loop = make_loop("none")
    run_for(loop, clock, 65.0, tick=1.0)
    assert loop.state is ScannerState.NO_CAMERA and cameras.opened == ["none"]


def test_closing_leaves_a_stopped_heartbeat_and_releases_the_camera(make_loop, cameras, clock, timed_kiosk):
    loop = make_loop()
    loop.step()
    loop.close()
    assert cameras.camera.closed
    assert read_scanner_status(timed_kiosk.settings)["status"] == "down"
    assert heartbeat(timed_kiosk)["state"] == "stopped"


def drop(inbox: Path, name: str, data: bytes) -> None:
    """A finished file, written a while ago, so a `dir:` camera reads it at once."""
    path = inbox / name
    path.write_bytes(data)
    past = time.time() - 10
    os.utime(path, (past, past))


def test_a_folder_camera_that_cannot_be_watched_is_retried_and_reported(make_loop, clock, timed_kiosk, tmp_path):
    blocker = tmp_path / "camera"
    blocker.write_text("not a folder")
    loop = make_loop(f"dir:{blocker}", open_camera)
    loop.step()
    status = read_scanner_status(timed_kiosk.settings)
    assert status["status"] == "degraded" and "cannot be watched" in status["error"]
    blocker.unlink()
    run_for(loop, clock, 1.5)
    assert loop.state is ScannerState.WATCHING


def test_the_loop_survives_hostile_files_and_still_raises_the_real_alarm(make_loop, clock, timed_kiosk, tmp_path):
    uuid = add_card(timed_kiosk)
    inbox = tmp_path / "inbox"
    loop = make_loop(f"dir:{inbox}", open_camera)
    loop.step()
    for name, data in hostile_files(tmp_path).items():
        drop(inbox, name, data)
    run_for(loop, clock, 5.0)
    assert loop.frames.frames == 8  # the random bytes and the truncated JPEG are no frames
    assert alarms(timed_kiosk) == []
    drop(inbox, "99-card.png", cv2.imencode(".png", qr_image(uuid))[1].tobytes())
    run_for(loop, clock, 1.0)
    assert [a.card_uuid for a in alarms(timed_kiosk)] == [uuid]
    with timed_kiosk.store.read() as session:
        outcomes = [e.outcome for e in session.scalars(select(ScanEvent).order_by(ScanEvent.id))]
    assert outcomes.count("foreign") == 6  # every hostile QR code was read, and refused
    assert outcomes.count("accepted") == 1 and set(outcomes) <= {"accepted", "foreign", "unknown"}
    loop.close()
