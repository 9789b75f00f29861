"""What systemd runs around a wrong setting: `keryu check-config` (the other services'
ExecCondition=), `keryu config-led` (the red pattern) and a self-test on simulated pins."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np

from tests.cli.test_scanner_cli import env, keryu  # noqa: F401 (fixtures)
from tests.conftest import KERYU, free_port, wait_until


def test_check_config_exits_1_naming_the_variable(keryu):  # noqa: F811
    bad = keryu("check-config", KERYU_SCAN_COOLDOWN="soon")
    assert bad.returncode == 1  # 1-254: systemd skips the unit, it does not fail it
    # KERYU_LANGUAGE is es by default: the sentence is Spanish
    assert bad.stderr.strip() == "keryu: KERYU_SCAN_COOLDOWN debe ser un número (se recibió 'soon')."
    english = keryu("check-config", KERYU_SCAN_COOLDOWN="soon", KERYU_LANGUAGE="en")
    assert english.stderr.strip() == "keryu: KERYU_SCAN_COOLDOWN must be a number (got 'soon')."
    typo = keryu("check-config", KERYU_SCAN_COOLDOWNN="30")
    assert typo.returncode == 1 and "¿quiso decir KERYU_SCAN_COOLDOWN?" in typo.stderr
    good = keryu("check-config")
    assert good.returncode == 0 and good.stderr == ""


def test_config_led_returns_at_once_when_the_settings_are_valid(keryu):  # noqa: F811
    result = keryu("config-led")
    assert result.returncode == 0 and "valid" in result.stdout


def test_config_led_shows_the_pattern_until_stopped(env, tmp_path: Path):  # noqa: F811
    process = subprocess.Popen(
        [KERYU, "config-led"],
        env={**env, "KERYU_SCAN_COOLDOWN": "soon"},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)
        assert process.poll() is None  # it blinks for as long as the setting is wrong
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "Configuration error (KERYU_SCAN_COOLDOWN" in err


def test_selftest_on_simulated_pins_fails_and_says_so_even_with_a_camera(keryu, tmp_path: Path):  # noqa: F811
    keryu("init")
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 48))
    for _ in range(5):
        writer.write(np.full((48, 64, 3), 128, np.uint8))
    writer.release()

    result = keryu("selftest", "--camera", f"video:{clip}")
    assert "Camera: FAILED" not in result.stdout and "frame 64x48" in result.stdout  # the camera is fine...
    assert "SIMULATED" in result.stdout and result.returncode == 1  # ...the pins are not real
    report = keryu("selftest", "--json", "--camera", f"video:{clip}")
    outputs = json.loads(report.stdout)["outputs"]
    assert outputs["status"] == "simulated" and report.returncode == 1
    assert [(s["bcm_pin"], s["real"]) for s in outputs["steps"]] == [(17, False), (27, False), (22, False)]


def test_web_starts_on_a_new_card_with_a_wrong_setting_and_names_it(env, data_dir: Path, tmp_path: Path):  # noqa: F811
    """First boot with a bad keryu.env: keryu-init is held back, so the web prepares the database itself."""
    port = free_port()
    token = "t" * 40
    process = subprocess.Popen(
        [KERYU, "web", "--port", str(port)],
        env={**env, "KERYU_SCAN_COOLDOWN": "soon", "KERYU_API_TOKEN": token},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def health() -> dict | None:
            try:
                request = urllib.request.Request(f"{url}/api/health", headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    return json.load(response)
            except urllib.error.HTTPError as exc:
                return json.load(exc)
            except OSError:
                return None

        wait_until(lambda: health() is not None, timeout=60)
        report = health()
        assert report["components"]["config"]["error"].startswith("KERYU_SCAN_COOLDOWN ")
        assert report["components"]["database"]["status"] == "ok"  # created by the web itself
        with urllib.request.urlopen(f"{url}/login", timeout=5) as response:
            assert "Error de configuración" in response.read().decode()  # the page, in the kiosk's Spanish
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Configuration error: KERYU_SCAN_COOLDOWN" in err
