"""The scanner's decode-and-act path and its loop, on a real SQLite file with MockFactory pins."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from appliance.scanner.camera import Frame
from appliance.scanner.runner import Scanner
from appliance.services.scanner_status import read_scanner_status
from appliance.services.subjects import SubjectInput, add_subject, set_subject_active
from appliance.store.models import Alarm, ScanEvent
from tests.conftest import BUZZER, GREEN, RED
from tests.fakes import FakeClock
from tests.scanner.conftest import card_frame, qr_image, scene

UNKNOWN_UUID = "4f2a9b1c-8d3e-4f5a-b6c7-d8e9f0a1b2c3"


@pytest.fixture
def clock(fake_clock: FakeClock) -> FakeClock:
    return fake_clock


def add_card(kiosk, name: str = "Ana") -> str:
    return add_subject(kiosk, SubjectInput(name=name, phone="+5215512345678")).uuid


def alarms(kiosk) -> list[Alarm]:
    with kiosk.store.read() as session:
        return list(session.scalars(select(Alarm).order_by(Alarm.id)))


def events(kiosk) -> list[tuple[str, str | None]]:
    with kiosk.store.read() as session:
        return [(e.outcome, e.card_uuid) for e in session.scalars(select(ScanEvent).order_by(ScanEvent.id))]


def frame(image: np.ndarray, name: str = "f") -> Frame:
    return Frame(image, name, time.monotonic())


def show(scanner: Scanner, clock: FakeClock, image: np.ndarray, *, seconds: float, fps: float = 15) -> list:
    results = []
    for i in range(round(seconds * fps)):
        results += scanner.handle_frame(frame(image, f"f{i}"))
        clock.advance(1 / fps)
    return results


def wait_until(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
    return value


@contextmanager
def running(scanner: Scanner) -> Iterator[threading.Thread]:
    """The scanner's frame loop on a thread, stopped, joined and closed when the block ends."""
    stop = threading.Event()
    loop = threading.Thread(target=scanner.run, args=(stop,))
    loop.start()
    try:
        yield loop
    finally:
        stop.set()
        loop.join(10)
        scanner.close()


def test_a_card_held_still_for_ten_seconds_makes_one_alarm(kiosk, feedback, clock, pins):
    uuid = add_card(kiosk)
    scanner = Scanner(kiosk, feedback, camera_spec="none")
    results = show(scanner, clock, card_frame(f"http://keryu.local/scan/{uuid}"), seconds=10)
    scanner.close()
    assert [str(r.outcome) for r in results] == ["accepted"]
    [alarm] = alarms(kiosk)
    assert (alarm.card_uuid, alarm.subject_name, alarm.location) == (uuid, "Ana", "Test gate")
    assert alarm.notification_status == "PENDING"  # committed; Redis is dead here, the sweeper will send it
    wait_until(lambda: [s.state for s in pins.pin(GREEN).states] == [False, True, False])
    assert [s.state for s in pins.pin(BUZZER).states] == [False, True, False]
    assert scanner.decoded < scanner.frames  # unchanged frames were not decoded again


def test_the_same_card_again_within_the_cooldown_is_a_duplicate_without_alarm(kiosk, feedback, clock, pins):
    uuid = add_card(kiosk)
    scanner = Scanner(kiosk, feedback, camera_spec="none")
    card, empty = card_frame(uuid), scene()
    show(scanner, clock, card, seconds=1)
    show(scanner, clock, empty, seconds=3)
    show(scanner, clock, card, seconds=1)
    show(scanner, clock, empty, seconds=30)
    show(scanner, clock, card, seconds=1)
    scanner.close()
    assert [o for o, _ in events(kiosk)] == ["accepted", "duplicate", "accepted"]
    assert len(alarms(kiosk)) == 2
    wait_until(lambda: [s.state for s in pins.pin(GREEN).states].count(True) == 3)
    assert [s.state for s in pins.pin(BUZZER).states].count(True) == 2  # the duplicate does not beep


def test_two_cards_in_one_frame_make_two_alarms(kiosk, feedback, clock):
    first, second = add_card(kiosk, "Ana"), add_card(kiosk, "Luis")
    scanner = Scanner(kiosk, feedback, camera_spec="none")
    show(scanner, clock, card_frame(first, f"http://kiosk-2.local/scan/{second}", module_px=5), seconds=2)
    scanner.close()
    assert sorted(a.subject_name for a in alarms(kiosk)) == ["Ana", "Luis"]


@pytest.mark.parametrize(
    ("payload", "outcome"),
    [
        (UNKNOWN_UUID, "unknown"),
        ("WIFI:S:Home;T:WPA;P:secret;;", "foreign"),
        ("http://keryu.local/admin", "foreign"),
    ],
)
def test_a_code_that_is_not_an_active_card_is_rejected_with_red(kiosk, feedback, clock, pins, payload, outcome):
    scanner = Scanner(kiosk, feedback, camera_spec="none")
    show(scanner, clock, card_frame(payload), seconds=3)
    scanner.close()
    assert alarms(kiosk) == []
    assert [o for o, _ in events(kiosk)] == [outcome]  # one event per presentation, not per frame
    wait_until(lambda: [s.state for s in pins.pin(RED).states].count(True) == 3)
    assert [s.state for s in pins.pin(GREEN).states] == [False]


def test_a_deactivated_subjects_card_is_inactive(kiosk, feedback, clock):
    uuid = add_card(kiosk)
    set_subject_active(kiosk, 1, False)
    scanner = Scanner(kiosk, feedback, camera_spec="none")
    show(scanner, clock, card_frame(uuid), seconds=1)
    scanner.close()
    assert events(kiosk) == [("inactive", uuid)] and alarms(kiosk) == []


def write_png(path: Path, image: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(cv2.imencode(".png", image)[1].tobytes())
    tmp.rename(path)


def hostile_files(tmp: Path) -> dict[str, bytes]:
    """Files that must raise no alarm and not disturb the loop."""
    rng = np.random.default_rng(7)
    jpeg = cv2.imencode(".jpg", card_frame(UNKNOWN_UUID))[1].tobytes()
    big = cv2.resize(scene(640, 480), (5472, 3648), interpolation=cv2.INTER_NEAREST)
    qr = {
        "sql": "'; DROP TABLE alarms; --",
        "html": "<script>alert('x')</script><img src=x onerror=alert(1)>",
        "long": "http://keryu.local/scan/" + "a" * 1500,
        "dotdot": f"http://keryu.local/scan/../scan/{UNKNOWN_UUID}",
        "nul": f"http://keryu.local/scan/{UNKNOWN_UUID}%00.png",
        "wifi": "WIFI:S:Home;T:WPA;P:secret;;",
    }
    files = {
        "01-random.jpg": os.urandom(50_000),
        "02-truncated.jpg": jpeg[: len(jpeg) // 2],
        "03-20mp.jpg": cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes(),
        "04-noise.png": cv2.imencode(".png", rng.integers(0, 256, (480, 640), dtype=np.uint8))[1].tobytes(),
    }
    for i, (name, text) in enumerate(qr.items()):
        image = qr_image(text, module_px=3 if name == "long" else 6)
        files[f"{10 + i}-qr-{name}.png"] = cv2.imencode(".png", image)[1].tobytes()
    return files


def test_the_loop_survives_hostile_frames_and_still_raises_the_real_alarm(kiosk, feedback, tmp_path, pins):
    uuid = add_card(kiosk)
    inbox = tmp_path / "inbox"
    scanner = Scanner(kiosk, feedback, camera_spec=f"dir:{inbox}")
    with running(scanner) as loop:
        wait_until(lambda: scanner.state == "watching")
        for name, data in hostile_files(tmp_path).items():
            (inbox / (name + ".tmp")).write_bytes(data)
            (inbox / (name + ".tmp")).rename(inbox / name)
            time.sleep(0.05)
        wait_until(lambda: scanner.frames >= 8, timeout=30)  # random bytes and the truncated PNG are no frames
        assert alarms(kiosk) == []
        write_png(inbox / "99-card.png", qr_image(uuid))
        wait_until(lambda: alarms(kiosk), timeout=10)
        assert loop.is_alive()
    [alarm] = alarms(kiosk)
    assert alarm.card_uuid == uuid
    outcomes = [o for o, _ in events(kiosk)]
    assert outcomes.count("accepted") == 1
    assert outcomes.count("foreign") == 6  # every hostile QR code was read, and refused
    assert set(outcomes) <= {"accepted", "foreign", "unknown"}
    with kiosk.store.read() as session:
        assert session.scalar(select(func.max(func.length(ScanEvent.payload)))) <= 200


def test_a_failing_camera_is_retried_and_reported(kiosk, feedback, tmp_path):
    blocker = tmp_path / "camera"
    blocker.write_text("not a folder")
    scanner = Scanner(kiosk, feedback, camera_spec=f"dir:{blocker}")
    with running(scanner) as loop:
        wait_until(lambda: scanner.state == "camera_error")
        scanner.write_heartbeat()
        status = read_scanner_status(kiosk.settings)
        assert status["status"] == "degraded" and "cannot be watched" in status["error"]
        blocker.unlink()
        wait_until(lambda: scanner.state == "watching", timeout=10)  # reopened after its backoff
        assert loop.is_alive()
    assert read_scanner_status(kiosk.settings)["state"] == "stopped"


def test_systemd_hears_ready_watchdog_and_stopping(kiosk, feedback, tmp_path, monkeypatch):
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    scanner = Scanner(kiosk, feedback, camera_spec=f"dir:{tmp_path / 'inbox'}")
    with running(scanner):
        messages = [listener.recv(4096).decode(), listener.recv(4096).decode()]
    while "STOPPING=1" not in messages[-1]:
        messages.append(listener.recv(4096).decode())
    listener.close()
    assert messages[0].startswith("READY=1") and "STATUS=watching" in messages[0]
    assert messages[1].startswith("WATCHDOG=1")


def test_the_heartbeat_tells_health_what_the_scanner_does(kiosk, feedback, clock):
    uuid = add_card(kiosk)
    scanner = Scanner(kiosk, feedback, camera_spec="none")
    scanner.state, scanner.detail = "streaming", "test"
    show(scanner, clock, card_frame(uuid), seconds=0.2)
    scanner.write_heartbeat()
    status = read_scanner_status(kiosk.settings)
    assert status["status"] == "ok" and status["frames"] == 3 and status["decoder"] == "auto"
    data = json.loads((kiosk.settings.data_dir / "scanner_heartbeat.json").read_text())
    assert data["pid"] == os.getpid()
    scanner.close()


def test_a_restarted_scanner_keeps_the_cooldown_of_a_card_still_in_view(kiosk, feedback, clock):
    uuid = add_card(kiosk)
    card = card_frame(uuid)
    first = Scanner(kiosk, feedback, camera_spec="none")
    first.warm_up()
    show(first, clock, card, seconds=1)
    first.close()
    clock.advance(5)  # systemd restarts the scanner; the child still holds the card up
    second = Scanner(kiosk, feedback, camera_spec="none")
    second.warm_up()
    show(second, clock, card, seconds=3)
    clock.advance(30)
    show(second, clock, card, seconds=1)
    second.close()
    assert [o for o, _ in events(kiosk)] == ["accepted", "duplicate", "accepted"]
    assert len(alarms(kiosk)) == 2


def test_a_database_failure_is_red_and_the_card_is_recorded_once_it_answers(kiosk, feedback, clock, pins):
    import sqlite3

    uuid = add_card(kiosk)
    database = kiosk.settings.database.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:  # the scan path's table vanishes: every write fails
        db.execute("ALTER TABLE scan_events RENAME TO scan_events_away")
    scanner = Scanner(kiosk, feedback, camera_spec="none")
    card = card_frame(uuid)
    assert show(scanner, clock, card, seconds=2) == []  # tried once a second, never crashing
    assert alarms(kiosk) == []  # the alarm was rolled back with its scan event
    with sqlite3.connect(database) as db:
        db.execute("ALTER TABLE scan_events_away RENAME TO scan_events")
    results = show(scanner, clock, card, seconds=2)
    scanner.close()
    assert [str(r.outcome) for r in results] == ["accepted"]
    assert len(alarms(kiosk)) == 1
    wait_until(lambda: [s.state for s in pins.pin(RED).states].count(True) >= 3)


def test_a_camera_lost_while_running_is_reopened_and_scans_again(kiosk, feedback, tmp_path):
    import shutil

    uuid = add_card(kiosk)
    inbox = tmp_path / "inbox"
    scanner = Scanner(kiosk, feedback, camera_spec=f"dir:{inbox}")
    with running(scanner) as loop:
        wait_until(lambda: scanner.state == "watching")
        shutil.rmtree(inbox)  # the camera goes away under the running loop
        wait_until(lambda: scanner.state == "camera_error")
        wait_until(lambda: scanner.state == "watching", timeout=10)  # reopened after a 1 s backoff
        write_png(inbox / "card.png", qr_image(uuid))
        wait_until(lambda: alarms(kiosk), timeout=10)
    assert not loop.is_alive()


def test_an_unreachable_redis_and_worker_turn_the_idle_pattern_to_a_red_heartbeat(kiosk, feedback, pins):
    from appliance.feedback import Mood
    from appliance.scanner.runner import KioskHealth

    health = KioskHealth(kiosk, feedback, every=60)  # this kiosk's REDIS_URL points at a closed port
    try:
        wait_until(lambda: feedback.mood is Mood.DEGRADED, timeout=30)
        assert health.problems == ["redis", "worker"]
        wait_until(lambda: [s.state for s in pins.pin(RED).states].count(True) >= 2)
        assert [s.state for s in pins.pin(GREEN).states] == [False]
    finally:
        health.close()


@pytest.mark.integration
def test_a_reachable_kiosk_blinks_green_when_idle(kiosk, feedback, pins, worker):
    from appliance.feedback import Mood
    from appliance.scanner.runner import KioskHealth

    health = KioskHealth(kiosk, feedback, every=60)
    try:
        wait_until(lambda: feedback.mood is Mood.READY, timeout=30)
        assert health.problems == []
        wait_until(lambda: [s.state for s in pins.pin(GREEN).states] == [False, True, False])
    finally:
        health.close()
