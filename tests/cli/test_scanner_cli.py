"""`keryu scan`, `keryu selftest` and `keryu scanner` as a person (or systemd) runs them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
import qrcode

from tests.conftest import DEAD_REDIS, KERYU, wait_until


def qr_png(path: Path, text: str) -> Path:
    code = qrcode.QRCode(border=4, box_size=6)
    code.add_data(text)
    code.make_image().save(path)
    return path


@pytest.fixture
def env(data_dir: Path, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KERYU_", "REDIS_", "CELERY_", "GPIOZERO_"))}
    base.update(
        KERYU_DATA_DIR=str(data_dir),
        REDIS_URL=DEAD_REDIS,
        KERYU_CAMERA="none",
        KERYU_LOCATION="Front desk",
        GPIOZERO_PIN_FACTORY="mock",
    )
    return base


@pytest.fixture
def keryu(env: dict[str, str], tmp_path: Path):
    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [KERYU, *args], env={**env, **extra}, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    return run


@pytest.fixture
def card(keryu) -> str:
    assert keryu("init").returncode == 0
    added = keryu("subject", "add", "--name", "Ana", "--phone", "+5215512345678")
    return json.loads(added.stdout)["card_uuid"]


def test_scan_prints_one_json_line_per_file(keryu, card, tmp_path):
    files = {
        "card.png": qr_png(tmp_path / "card.png", f"http://keryu.local/scan/{card}"),
        "wifi.png": qr_png(tmp_path / "wifi.png", "WIFI:S:Home;T:WPA;P:x;;"),
        "unknown.png": qr_png(tmp_path / "unknown.png", "4f2a9b1c-8d3e-4f5a-b6c7-d8e9f0a1b2c3"),
        "blank.png": tmp_path / "blank.png",
        "junk.jpg": tmp_path / "junk.jpg",
    }
    cv2.imwrite(str(files["blank.png"]), np.full((480, 640), 255, np.uint8))
    files["junk.jpg"].write_bytes(os.urandom(4096))
    result = keryu("scan", *map(str, files.values()), str(tmp_path / "missing.png"))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(Path(x["file"]).name, x["outcome"]) for x in lines] == [
        ("card.png", "accepted"),
        ("wifi.png", "foreign"),
        ("unknown.png", "unknown"),
        ("blank.png", "no_code"),
        ("junk.jpg", "unreadable"),
        ("missing.png", "unreadable"),
    ]
    assert lines[0]["payloads"] == [f"http://keryu.local/scan/{card}"] and lines[0]["alarm_ids"] == [1]
    assert result.returncode == 1  # some files were not images
    assert "Traceback" not in result.stderr
    alarms = json.loads(keryu("alarms", "--json").stdout)
    assert [(a["card_uuid"], a["location"], a["notification_status"]) for a in alarms] == [
        (card, "Front desk", "PENDING")  # Redis is down: recorded, waiting for the sweeper
    ]


def test_scan_of_readable_files_exits_zero(keryu, card, tmp_path):
    result = keryu("scan", str(qr_png(tmp_path / "c.png", card)), "--decoder", "pyzbar")
    assert result.returncode == 0
    assert json.loads(result.stdout)["outcome"] == "accepted"


def test_scan_before_init_is_one_sentence(keryu, tmp_path):
    result = keryu("scan", str(qr_png(tmp_path / "c.png", "x")))
    assert result.returncode == 2 and "keryu init" in result.stderr and "Traceback" not in result.stderr


def test_selftest_reports_outputs_and_camera(keryu, card, tmp_path):
    result = keryu("selftest", "--json")
    report = json.loads(result.stdout)
    assert [s["bcm_pin"] for s in report["outputs"]["steps"]] == [17, 27, 22]
    assert report["outputs"]["simulated"] is True
    assert report["camera"]["status"] == "failed" and result.returncode == 1  # KERYU_CAMERA=none
    text = keryu("selftest", "--camera", "opencv:57")
    assert "Camera: FAILED" in text.stdout and "SIMULATED" in text.stdout and text.returncode == 1


def test_scanner_service_tells_systemd_and_stops_cleanly_on_sigterm(env, card, tmp_path, data_dir):
    notify_path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify_path)
    listener.settimeout(30)
    inbox = tmp_path / "inbox"
    log = (tmp_path / "scanner.log").open("wb")
    process = subprocess.Popen(
        [KERYU, "scanner", "--camera", f"dir:{inbox}"],
        env={**env, "NOTIFY_SOCKET": notify_path},
        cwd=tmp_path,
        stdout=log,
        stderr=log,
    )
    try:
        assert listener.recv(4096).decode().startswith("READY=1")
        assert listener.recv(4096).decode().startswith("WATCHDOG=1")
        qr_png(tmp_path / "card.png", card).rename(inbox / "card.png")
        heartbeat_file = data_dir / "run" / "scanner_heartbeat.json"  # written every 2 s: may not exist yet
        wait_until(lambda: heartbeat_file.exists() and '"frames": 1' in heartbeat_file.read_text(), what="the frame")
        process.send_signal(signal.SIGTERM)
        messages = []
        while not any(m.startswith("STOPPING=1") for m in messages):
            messages.append(listener.recv(4096).decode())
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        listener.close()
    heartbeat = json.loads((data_dir / "run" / "scanner_heartbeat.json").read_text())
    assert heartbeat["state"] == "stopped"
    output = (tmp_path / "scanner.log").read_text()
    assert "Alarm 1 recorded" in output and "Traceback" not in output
