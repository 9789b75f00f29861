"""`video:PATH`: a video file played once at its own frame rate, as a camera would deliver it."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2

from appliance import stored_text
from appliance.scanner.camera.base import CameraError, Frame

logger = logging.getLogger(__name__)

DEFAULT_FPS = 15.0


class VideoCamera:
    """Frames of one video file in real time; after the last frame it gives None forever."""

    available = True

    def __init__(self, path: str | Path, *, realtime: bool = True):
        self.path = Path(path)
        if not self.path.is_file():
            raise CameraError(stored_text.CAMERA_VIDEO_MISSING, path=str(self.path))
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraError(stored_text.CAMERA_VIDEO_UNREADABLE, path=str(self.path))
        # An MJPEG file hands over each frame's JPEG as it is (FFmpeg's raw mode), decoded only
        # when the scanner's change gate asks for it, as a USB camera's MJPEG stream would be.
        self.mjpeg = _fourcc(self._capture) == "MJPG" and self._capture.set(cv2.CAP_PROP_FORMAT, -1)
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else DEFAULT_FPS
        self.realtime = realtime
        self.finished = False
        self.description = f"video:{self.path} ({self.fps:g} fps)"
        self._count = 0
        self._start = time.monotonic()

    def read(self, timeout: float) -> Frame | None:
        if self.finished:
            time.sleep(max(0.0, timeout))
            return None
        if self.realtime:
            wait = self._start + self._count / self.fps - time.monotonic()
            if wait > timeout:
                time.sleep(max(0.0, timeout))
                return None
            if wait > 0:
                time.sleep(wait)
        ok, image = self._capture.read()
        if not ok or image is None:
            self.finished = True
            logger.info("Video %s ended after %d frames", self.path, self._count)
            return None
        self._count += 1
        name = f"{self.path.name}#{self._count}"
        if self.mjpeg:
            return Frame(None, name, time.monotonic(), jpeg=image.tobytes())
        return Frame(image, name, time.monotonic())

    def close(self) -> None:
        self._capture.release()


def _fourcc(capture: cv2.VideoCapture) -> str:
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    return "".join(chr((code >> shift) & 0xFF) for shift in (0, 8, 16, 24))
