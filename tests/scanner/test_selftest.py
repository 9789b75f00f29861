"""`keryu selftest` checks: each output driven in turn, and one frame from the camera."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
from gpiozero.pins.mock import MockFactory

from appliance.feedback import GpioFeedback
from appliance.scanner.selftest import check_camera, run_selftest


def test_each_output_is_driven_alone_in_turn(settings):
    pins = MockFactory()
    feedback = GpioFeedback(17, 27, 22, pin_factory=pins)
    report = run_selftest(settings, camera_spec="none", feedback=feedback)
    feedback.close()
    # each output was driven, but on simulated pins: the self-test says so and fails
    assert report["outputs"]["status"] == "simulated" and report["outputs"]["simulated"] is True
    assert [s["output"] for s in report["outputs"]["steps"]] == ["green", "red", "buzzer"]
    assert [s["real"] for s in report["outputs"]["steps"]] == [False, False, False]
    for pin in (17, 27, 22):
        assert [s.state for s in pins.pin(pin).states] == [False, True, False]
    assert report["camera"]["status"] == "failed" and report["status"] == "failed"  # KERYU_CAMERA=none


def test_a_camera_frame_is_described(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()

    def drop() -> None:
        time.sleep(0.3)
        cv2.imwrite(str(tmp_path / "f.png"), np.full((480, 640), 200, np.uint8))
        (tmp_path / "f.png").rename(inbox / "f.png")

    threading.Thread(target=drop).start()
    report = check_camera(f"dir:{inbox}", timeout=5)
    assert report["status"] == "ok"
    assert report["frame"] == {"width": 640, "height": 480}
    assert report["brightness"] == 200.0 and report["codes_in_view"] == []


def test_a_dir_camera_without_new_files_says_what_to_do(tmp_path):
    report = check_camera(f"dir:{tmp_path}", timeout=0.3)
    assert report["status"] == "failed" and "new image file" in report["error"]


def test_a_camera_that_cannot_open_is_reported():
    report = check_camera("opencv:57", timeout=0.3)
    assert report["status"] == "failed" and "cannot be opened" in report["error"]
