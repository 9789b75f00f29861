"""`opencv:N`: a USB (UVC) camera, /dev/videoN, in the mode uvc_modes.py chooses, read through V4L2.

The name is the contract's, from when OpenCV read it; the frames now come straight from the
driver (v4l2.py): an MJPEG frame is handed over as its JPEG, decoded only when the change gate
lets it through, and a YUYV frame as its luma, the grey the decoders read. Either way the
scanner never holds a colour frame.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from appliance import stored_text
from appliance.scanner.camera.base import CameraError, Frame
from appliance.scanner.camera.uvc_modes import FORMATS, WANTED_FPS, Mode, choose_mode, list_modes
from appliance.scanner.camera.v4l2 import Stream, StreamFormat, V4L2Error

logger = logging.getLogger(__name__)

# When the camera's modes cannot be read: 1280x720 reads cards farther than 640x480 (docs/scanner.md).
FALLBACK_MODE = Mode("MJPG", 1280, 720, WANTED_FPS)


class USBCamera:
    """V4L2 device /dev/videoN in its measured best mode; each read gives the newest frame."""

    available = True

    def __init__(self, index: int, *, dev: Path = Path("/dev")):
        self.index = index
        device = str(dev / f"video{index}")
        mode = self._chosen_mode(device)
        try:
            self._stream = Stream(device, mode.fourcc, mode.width, mode.height, min(mode.fps, WANTED_FPS))
        except V4L2Error as exc:
            raise CameraError(stored_text.CAMERA_USB_UNOPENED, index=index, problem=exc.strerror) from exc
        self.format = self._stream.format
        if self.format.fourcc not in FORMATS:
            self._stream.close()
            raise CameraError(stored_text.CAMERA_USB_FORMAT, index=index, fourcc=self.format.fourcc)
        self.description = f"opencv:{index} ({device}, {self.format.fourcc} {self.format.width}x{self.format.height})"
        self._count = 0

    @staticmethod
    def _chosen_mode(device: str) -> Mode:
        try:
            modes = list_modes(device)
        except OSError as exc:
            logger.info("Modes of %s not readable (%s); asking for %s", device, exc, FALLBACK_MODE)
            return FALLBACK_MODE
        mode = choose_mode(modes)
        logger.info("%s offers %s; chose %s", device, ", ".join(map(str, sorted(modes))) or "nothing", mode)
        if mode is not None:
            return mode
        # Only slow modes (or none listed): the fallback size in a format the camera has, the driver picks the nearest.
        offered = {m.fourcc for m in modes}
        fourcc = "MJPG" if "MJPG" in offered or not offered else "YUYV"
        return Mode(fourcc, FALLBACK_MODE.width, FALLBACK_MODE.height, WANTED_FPS)

    def read(self, timeout: float) -> Frame | None:
        take = bytes if self.format.fourcc == "MJPG" else self._luma
        try:
            pixels = self._stream.latest(timeout, take)
        except V4L2Error as exc:
            logger.warning("%s: %s", self._stream.device, exc.strerror)
            raise CameraError(stored_text.CAMERA_USB_STOPPED, index=self.index) from exc
        if pixels is None:
            return None
        self._count += 1
        name, captured = f"frame {self._count}", time.monotonic()
        if isinstance(pixels, bytes):
            return Frame(None, name, captured, jpeg=pixels)
        return Frame(pixels, name, captured)

    def _luma(self, frame: memoryview) -> np.ndarray | None:
        if len(frame) < _stride(self.format) * self.format.height:
            logger.debug("Dropped a YUYV frame of %d bytes: less than a whole one", len(frame))
            return None
        return luma(frame, self.format)

    def close(self) -> None:
        self._stream.close()


def _stride(fmt: StreamFormat) -> int:
    return fmt.bytesperline or fmt.width * 2


def luma(data: bytes | memoryview, fmt: StreamFormat) -> np.ndarray:
    """The Y of a whole YUYV (Y0 U Y1 V) frame as a grey copy: every other byte of each row, padding left out."""
    stride = _stride(fmt)
    rows = np.frombuffer(data, np.uint8, count=stride * fmt.height).reshape(fmt.height, stride)
    return np.ascontiguousarray(rows[:, : fmt.width * 2 : 2])
