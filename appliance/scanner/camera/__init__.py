"""Cameras behind one seam: `open_camera(KERYU_CAMERA)` gives a FrameSource whatever the hardware.

`dir:` and `video:` are real backends on the same path as `picamera2` and `opencv:N`, so the
whole kiosk runs and is tested without a camera. picamera2 is imported only when chosen.
"""

from __future__ import annotations

from appliance.scanner.camera.base import CameraError, Frame, FrameSource
from appliance.scanner.camera.dir import load_image

__all__ = ["CameraError", "Frame", "FrameSource", "load_image", "open_camera"]


def open_camera(spec: str) -> FrameSource:
    """Open the camera a `KERYU_CAMERA` value names; CameraError when it cannot be opened now."""
    kind, _, arg = spec.partition(":")
    if spec == "none":
        from appliance.scanner.camera.none import NoCamera

        return NoCamera()
    if spec == "auto":
        from appliance.scanner.camera.auto import open_auto

        return open_auto()
    if spec == "picamera2":
        from appliance.scanner.camera.picamera2 import PiCamera

        return PiCamera()
    if kind == "opencv" and arg.isdigit():
        from appliance.scanner.camera.usb import USBCamera

        return USBCamera(int(arg))
    if kind == "dir" and arg:
        from appliance.scanner.camera.dir import DirCamera

        return DirCamera(arg)
    if kind == "video" and arg:
        from appliance.scanner.camera.video import VideoCamera

        return VideoCamera(arg)
    raise ValueError(f"KERYU_CAMERA must be auto, none, picamera2, opencv:N, dir:PATH or video:PATH (got {spec!r})")
