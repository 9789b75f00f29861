"""The scanner's side of the desk (scanner/desk.py): serve the admin page's self-test and preview.

The frame loop hands every frame to `saw()` and calls `serve()` once a turn. A self-test drives
the LEDs and buzzer through `keryu selftest`'s own `check_outputs` (given by the runner) on the scanner's feedback
(the pins are the scanner's) on a thread of its own, so cards are still read meanwhile; the
camera part describes the frames the loop already gets (it cannot open the camera a second
time). The preview is written only while a page is looking, at most twice a second, so an idle
kiosk writes nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from appliance.config import Settings
from appliance.feedback import Feedback
from appliance.scanner import desk, pixels
from appliance.scanner.camera import Frame
from appliance.scanner.decode import to_grey
from appliance.scanner.measure import CodeSize, measure_codes

logger = logging.getLogger(__name__)

PREVIEW_EVERY = 0.5
MEASURE_EVERY = 0.5  # a card left in view costs one extra QR pass this often, not every frame
JPEG_QUALITY = 80
PREVIEW_WIDTH = 960  # enough to place a camera by; a 1080p JPEG every half second is not needed


def encode_jpeg(image, width: int | None = None) -> bytes | None:
    """A JPEG of a grey or BGR frame, shrunk to `width` when wider; None if it cannot be encoded."""
    try:
        return pixels.encode_jpeg(image, JPEG_QUALITY, width)
    except (ValueError, OSError) as exc:
        logger.debug("Frame cannot be encoded as JPEG: %s", exc)
        return None


class DeskClerk:
    """Remembers the last frame and the last card seen; answers the desk's requests."""

    def __init__(
        self,
        settings: Settings,
        feedback: Feedback,
        *,
        camera: Callable[[], str],
        last_payloads: Callable[[], list[str]],
        outputs: Callable[[Settings, Feedback], dict[str, Any]],
    ):
        self.settings = settings
        self.feedback = feedback
        self._camera = camera  # the loop's camera description, now
        self._last_payloads = last_payloads  # what the frame handler decoded in the last frame
        self._outputs = outputs  # `keryu selftest`'s check_outputs, passed in by the runner
        self.frame: Frame | None = None
        self.last_code: dict[str, Any] | None = None  # the last card seen: text, ppm, when
        self._next_preview = self._next_measure = 0.0
        self._busy: threading.Thread | None = None

    def saw(self, frame: Frame) -> None:
        """Keep the frame; when the handler decoded a code in it, measure its pixels per module."""
        self.frame = frame
        payloads = self._last_payloads()
        if not payloads or frame.captured < self._next_measure:
            return
        self._next_measure = frame.captured + MEASURE_EVERY
        grey = to_grey(frame.image)
        sizes = measure_codes(grey) if grey is not None else []
        size: CodeSize | None = next((s for s in sizes if s.text in payloads), sizes[0] if sizes else None)
        self.last_code = {
            "text": payloads[0] if size is None else size.text,
            "pixels_per_module": None if size is None else round(size.pixels_per_module, 2),
            "modules": None if size is None else size.modules,
            "seen_at": time.time(),
        }

    def serve(self) -> None:
        """Start a waiting self-test, and write the preview while a page wants it. Never raises."""
        try:
            self._serve_selftest()
            self._serve_preview()
        except Exception:
            logger.exception("The admin page's request could not be served")

    def close(self) -> None:
        if self._busy is not None:
            self._busy.join(timeout=10)

    def camera_report(self) -> dict[str, Any]:
        """What the camera shows now, in the shape of `keryu selftest`'s camera part."""
        report: dict[str, Any] = {"description": self._camera()}
        frame = self.frame
        if frame is None:
            return {**report, "status": "failed", "error": "the camera has given no frame since the scanner started"}
        image = frame.image
        return {
            **report,
            "status": "ok",
            "frame": {"width": int(image.shape[1]), "height": int(image.shape[0])},
            "frame_seconds_ago": round(time.monotonic() - frame.captured, 1),
            "brightness": round(float(image.mean()), 1),  # 0-255; below ~40 is too dark to read cards
            "last_code": self.last_code,
        }

    def _serve_selftest(self) -> None:
        if self._busy is not None and self._busy.is_alive():
            return  # one at a time; the next request waits on the desk
        request_id = desk.take_selftest_request(self.settings)
        if request_id is None:
            return
        logger.info("Self-test asked from the admin page")
        camera = self.camera_report()
        jpeg = encode_jpeg(self.frame.image) if self.frame is not None else None
        self._busy = threading.Thread(
            target=self._run_selftest, args=(request_id, camera, jpeg), name="selftest", daemon=True
        )
        self._busy.start()

    def _run_selftest(self, request_id: str, camera: dict[str, Any], jpeg: bytes | None) -> None:
        try:
            outputs = self._outputs(self.settings, self.feedback)
        except Exception as exc:
            outputs = {"status": "failed", "error": str(exc)}
        ok = outputs.get("status") == "ok" and camera["status"] == "ok"
        report = {
            "id": request_id,
            "status": "ok" if ok else "failed",
            "outputs": outputs,
            "camera": camera,
            "snapshot": jpeg is not None,
            "answered_at": time.time(),
        }
        try:
            desk.write_answer(self.settings, request_id, report, jpeg)
        except OSError as exc:
            logger.warning("Self-test answer not written: %s", exc)

    def _serve_preview(self) -> None:
        now = time.monotonic()
        if now < self._next_preview or not desk.preview_wanted(self.settings):
            return
        self._next_preview = now + PREVIEW_EVERY
        frame = self.frame
        jpeg = encode_jpeg(frame.image, PREVIEW_WIDTH) if frame is not None else None
        status = {"camera": self._camera(), "has_frame": frame is not None, "last_code": self.last_code}
        status["frame_seconds_ago"] = None if frame is None else round(now - frame.captured, 1)
        desk.write_preview(self.settings, jpeg, status)
