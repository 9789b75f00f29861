"""`picamera2`: the Raspberry Pi camera through libcamera (Debian's python3-libcamera + picamera2).

picamera2 is imported only when this camera is chosen; it exists only on a Pi.
"""

from __future__ import annotations

import logging
import time

from appliance import stored_text
from appliance.scanner.camera.base import CameraError, Frame

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 1280, 720


def pi_camera_present() -> bool:
    """True when picamera2 imports and libcamera lists at least one camera."""
    try:
        from picamera2 import Picamera2
    except Exception:  # ImportError, or libcamera failing to load on a non-Pi
        return False
    try:
        return bool(Picamera2.global_camera_info())
    except Exception:
        return False


def _continuous_autofocus(camera) -> None:
    """Cards come 10-40 cm close: let a Camera Module 3 refocus by itself (fixed-focus modules skip this)."""
    if "AfMode" not in camera.camera_controls:
        return
    try:
        from libcamera import controls

        camera.set_controls({"AfMode": controls.AfModeEnum.Continuous})
    except Exception as exc:
        logger.warning("Autofocus could not be switched on: %s", exc)


class PiCamera:
    """The Pi camera in a YUV420 video configuration; the Y plane is the grey frame we decode."""

    available = True

    def __init__(self) -> None:
        try:
            from picamera2 import Picamera2
        except Exception as exc:
            raise CameraError(stored_text.CAMERA_NO_PICAMERA2, problem=str(exc)) from exc
        try:
            if not Picamera2.global_camera_info():
                raise CameraError(stored_text.CAMERA_NO_PI_CAMERA)
            self._camera = Picamera2()
            config = self._camera.create_video_configuration(
                main={"size": (WIDTH, HEIGHT), "format": "YUV420"}, buffer_count=2
            )
            self._camera.configure(config)
            self._camera.start()
            _continuous_autofocus(self._camera)
        except CameraError:
            raise
        except Exception as exc:
            raise CameraError(stored_text.CAMERA_PI_UNSTARTED, problem=str(exc)) from exc
        model = Picamera2.global_camera_info()[0].get("Model", "unknown")
        self.description = f"picamera2 ({model}, {WIDTH}x{HEIGHT})"
        self._count = 0

    def read(self, timeout: float) -> Frame | None:
        try:
            yuv = self._camera.capture_array("main")
        except Exception as exc:
            raise CameraError(stored_text.CAMERA_PI_STOPPED, problem=str(exc)) from exc
        self._count += 1
        return Frame(yuv[:HEIGHT, :WIDTH], f"frame {self._count}", time.monotonic())

    def close(self) -> None:
        try:
            self._camera.stop()
            self._camera.close()
        except Exception as exc:
            logger.debug("Closing the Pi camera: %s", exc)
