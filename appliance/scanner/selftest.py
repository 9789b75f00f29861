"""`keryu selftest`: for the person assembling a kiosk, light each LED, sound the buzzer, grab a frame.

Whether an LED really lit only a person can see; the report says which pins were driven and,
for each, whether it is a real GPIO line (its gpiochip and line offset) or simulated. Simulated
pins fail the self-test: a kiosk assembled on them would stay dark.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from appliance import stored_text
from appliance.config import Settings
from appliance.feedback import Feedback, Signal, make_feedback
from appliance.feedback.base import PATTERNS
from appliance.i18n import Sentence
from appliance.scanner.camera import CameraError, open_camera
from appliance.scanner.decode import decode

logger = logging.getLogger(__name__)

FRAME_TIMEOUT = 5.0


def _pattern_seconds(signal: Signal) -> float:
    return sum(step.seconds for step in PATTERNS[signal])


def check_outputs(settings: Settings, feedback: Feedback) -> dict[str, Any]:
    """Play green, red and buzzer one after the other, waiting for each so a person can see it.

    Status "ok" only when every pin is a real line; "simulated" when gpiozero's MockFactory stands in.
    """
    steps = []
    for signal, pin in (
        (Signal.TEST_GREEN, settings.led_green_pin),
        (Signal.TEST_RED, settings.led_red_pin),
        (Signal.TEST_BUZZER, settings.buzzer_pin),
    ):
        feedback.signal(signal)
        time.sleep(_pattern_seconds(signal) + 0.05)
        steps.append({"output": signal.value.removeprefix("test_"), "bcm_pin": pin, **feedback.line(pin)})
    real = not feedback.simulated and all(step["real"] for step in steps)
    report: dict[str, Any] = {"status": "ok" if real else "simulated", "simulated": feedback.simulated, "steps": steps}
    if feedback.problem:
        report["problem"] = feedback.problem
    return report


def check_camera(spec: str, timeout: float = FRAME_TIMEOUT) -> dict[str, Any]:
    """Open the camera, wait for one frame, and say what it showed (size, brightness, QR codes)."""
    started = time.monotonic()
    try:
        camera = open_camera(spec)
    except CameraError as exc:
        return {"status": "failed", "spec": spec, "error": str(exc)}
    try:
        report: dict[str, Any] = {"spec": spec, "description": camera.description}
        if not camera.available:
            return {**report, "status": "failed", "error": camera.description}
        frame = None
        while frame is None and time.monotonic() - started < timeout:
            frame = camera.read(min(0.5, timeout))
        if frame is None:
            late = stored_text.SELFTEST_NO_FRAME_DIR if spec.startswith("dir:") else stored_text.SELFTEST_NO_FRAME
            return {**report, "status": "failed", "error": str(Sentence(late, timeout=timeout))}
        image = frame.image
        return {
            **report,
            "status": "ok",
            "frame": {"width": int(image.shape[1]), "height": int(image.shape[0])},
            "brightness": round(float(image.mean()), 1),  # 0-255; below ~40 is too dark to read cards
            "first_frame_seconds": round(time.monotonic() - started, 2),
            "codes_in_view": decode(image),
        }
    except CameraError as exc:
        return {"status": "failed", "spec": spec, "error": str(exc)}
    finally:
        camera.close()


def run_selftest(
    settings: Settings, *, camera_spec: str | None = None, feedback: Feedback | None = None
) -> dict[str, Any]:
    """Both checks; status "ok" only when the outputs were driven and the camera gave a frame."""
    own = feedback is None
    try:
        feedback = feedback or make_feedback(settings)
    except Exception as exc:  # pins busy (the scanner service holds them) or not allowed
        outputs: dict[str, Any] = {"status": "failed", "error": str(exc)}
    else:
        try:
            outputs = check_outputs(settings, feedback)
        finally:
            if own:
                feedback.close()
    camera = check_camera(camera_spec or settings.camera)
    ok = outputs["status"] == "ok" and camera["status"] == "ok"
    return {"status": "ok" if ok else "failed", "outputs": outputs, "camera": camera}
