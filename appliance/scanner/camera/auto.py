"""`auto`: the Pi camera, else the first USB camera that gives a frame, else no camera (said in health).

USB (UVC) cameras are tried before other video nodes: on Raspberry Pi OS /dev/video10 and up
are the Pi's codec and ISP, which open but are not cameras.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from appliance import stored_text
from appliance.scanner.camera.base import CameraError, FrameSource
from appliance.scanner.camera.none import NoCamera

logger = logging.getLogger(__name__)


def video_indices(dev: Path = Path("/dev")) -> list[int]:
    """N for every /dev/videoN, in order (a UVC camera's capture node is usually the lowest)."""
    found = []
    for node in dev.glob("video*"):
        match = re.fullmatch(r"video(\d+)", node.name)
        if match:
            found.append(int(match.group(1)))
    return sorted(found)


def is_uvc(index: int, sys_root: Path = Path("/sys")) -> bool:
    """/dev/videoN belongs to the USB video class driver (its sysfs device's driver is uvcvideo)."""
    driver = sys_root / "class" / "video4linux" / f"video{index}" / "device" / "driver"
    try:
        return driver.resolve(strict=True).name == "uvcvideo"
    except OSError:
        return False


def camera_order(indices: list[int], sys_root: Path = Path("/sys")) -> list[int]:
    """UVC nodes first, in number order, then the other nodes (the old order, as a fallback)."""
    return sorted(indices, key=lambda index: (not is_uvc(index, sys_root), index))


def open_auto() -> FrameSource:
    """The first camera that works, in the contract's order."""
    from appliance.scanner.camera.picamera2 import PiCamera, pi_camera_present

    if pi_camera_present():
        try:
            return PiCamera()
        except CameraError as exc:
            logger.warning("Pi camera present but not usable: %s", exc)
    from appliance.scanner.camera.usb import USBCamera

    for index in camera_order(video_indices()):
        try:
            camera = USBCamera(index)
        except CameraError:
            continue
        try:
            camera.read(1.0)  # a camera that opens but fails at once is not the one
        except CameraError:
            camera.close()
            continue
        return camera
    return NoCamera(stored_text.CAMERA_NONE_FOUND)
