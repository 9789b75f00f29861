"""`opencv:N`: a USB (UVC) camera through OpenCV's V4L2 backend, in the mode uvc_modes.py chooses."""

from __future__ import annotations

import logging
import time

import cv2

from appliance import stored_text
from appliance.scanner.camera.base import CameraError, Frame
from appliance.scanner.camera.uvc_modes import WANTED_FPS, Mode, choose_mode, list_modes

logger = logging.getLogger(__name__)

# When the camera's modes cannot be read: 1280x720 reads cards farther than 640x480 (docs/scanner.md).
WIDTH, HEIGHT, FPS = 1280, 720, 15


class OpenCVCamera:
    """V4L2 device /dev/videoN in its measured best mode, with a one-frame buffer (no stale frames queue up)."""

    available = True

    def __init__(self, index: int):
        self.index = index
        self._capture = cv2.VideoCapture(index, cv2.CAP_V4L2)
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraError(stored_text.CAMERA_USB_UNOPENED, index=index)
        mode = self._chosen_mode(index)
        if mode is not None:  # the format first: the sizes and rates on offer depend on it
            self._capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*mode.fourcc))
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, mode.width if mode else WIDTH)
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, mode.height if mode else HEIGHT)
        self._capture.set(cv2.CAP_PROP_FPS, min(mode.fps, WANTED_FPS) if mode else FPS)
        self._capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fourcc = int(self._capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("ascii", "replace")
        self.description = f"opencv:{index} (/dev/video{index}, {fourcc} {width}x{height})"
        self._count = 0

    @staticmethod
    def _chosen_mode(index: int) -> Mode | None:
        try:
            modes = list_modes(f"/dev/video{index}")
        except OSError as exc:
            logger.info("Modes of /dev/video%d not readable (%s); asking for %dx%d", index, exc, WIDTH, HEIGHT)
            return None
        mode = choose_mode(modes)
        logger.info("USB camera %d offers %s; chose %s", index, ", ".join(map(str, sorted(modes))) or "nothing", mode)
        return mode

    def read(self, timeout: float) -> Frame | None:
        ok, image = self._capture.read()  # blocks for one frame interval; V4L2 times out on a dead device
        if not ok or image is None:
            raise CameraError(stored_text.CAMERA_USB_STOPPED, index=self.index)
        self._count += 1
        return Frame(image, f"frame {self._count}", time.monotonic())

    def close(self) -> None:
        self._capture.release()
