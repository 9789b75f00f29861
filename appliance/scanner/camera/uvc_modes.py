"""The mode a USB (UVC) camera is asked for: resolution and format (MJPEG or YUYV), by measurement.

`bench/bench_camera_format.py` (figures in bench/README.md) shows that a card reads by its pixels
per module alone: MJPEG at quality 60-80 reads exactly what YUYV reads at the same size, and
1920x1080 reads a card 1.5 times as far away as 1280x720 (3 times as far as 640x480). What the
format changes is the cost: USB 2 carries uncompressed YUYV 1080p at about 5 frames/s (720p at
about 10), while MJPEG costs a JPEG decode per frame. So: the largest frame up to 1920x1080 (the
decoder shrinks anything larger) that comes at 10 frames/s or more; at that size YUYV when it is
fast enough (no JPEG decode, no artefacts), else MJPEG.

The camera's modes are read with the V4L2 enumeration ioctls, without opening a stream.
"""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass

from appliance.scanner.camera.v4l2 import (
    BUF_TYPE_VIDEO_CAPTURE,
    READ,
    WRITE,
    V4L2Error,
    blank,
    call,
    fourcc_text,
    ioctl_number,
)

logger = logging.getLogger(__name__)

MAX_WIDTH, MAX_HEIGHT = 1920, 1080
MIN_FPS = 10.0
WANTED_FPS = 15.0  # more frames than this add CPU, not reads (a card is held for a second or more)
FORMATS = ("YUYV", "MJPG")  # what camera/usb.py reads (luma, or JPEG handed over); others are skipped


# struct v4l2_fmtdesc (64 bytes), v4l2_frmsizeenum (44), v4l2_frmivalenum (52) from videodev2.h
FMTDESC = struct.Struct("=III32sII12x")
FRMSIZE = struct.Struct("=III24s8x")
FRMIVAL = struct.Struct("=IIIII24s8x")
VIDIOC_ENUM_FMT = ioctl_number(READ | WRITE, 2, FMTDESC.size)
VIDIOC_ENUM_FRAMESIZES = ioctl_number(READ | WRITE, 74, FRMSIZE.size)
VIDIOC_ENUM_FRAMEINTERVALS = ioctl_number(READ | WRITE, 75, FRMIVAL.size)
TYPE_DISCRETE = 1


@dataclass(frozen=True, order=True)
class Mode:
    """One way the camera can stream: four-character format code, size, best frame rate."""

    fourcc: str
    width: int
    height: int
    fps: float

    def __str__(self) -> str:
        return f"{self.fourcc} {self.width}x{self.height} at {self.fps:g} fps"


def _enumerate(fd: int, request: int, layout: struct.Struct, *fields: int) -> list[tuple]:
    """Every answer of an enumeration ioctl, index 0, 1, ... until the driver says EINVAL."""
    answers = []
    rest = blank(layout)[1 + len(fields) :]
    for index in range(64):
        try:
            answers.append(call(fd, request, layout, (index, *fields, *rest), "enumeration"))
        except V4L2Error:
            break
    return answers


def _sizes(fd: int, pixelformat: int) -> list[tuple[int, int]]:
    sizes = []
    for _index, _fmt, kind, union in _enumerate(fd, VIDIOC_ENUM_FRAMESIZES, FRMSIZE, pixelformat):
        if kind == TYPE_DISCRETE:
            sizes.append(struct.unpack_from("=II", union))
        else:  # stepwise or continuous: min w, max w, step w, min h, max h, step h
            _, max_w, _, _, max_h, _ = struct.unpack_from("=6I", union)
            sizes.append((min(max_w, MAX_WIDTH), min(max_h, MAX_HEIGHT)))
    return sizes


def _best_fps(fd: int, pixelformat: int, width: int, height: int) -> float:
    best = 0.0
    for *_, _kind, union in _enumerate(fd, VIDIOC_ENUM_FRAMEINTERVALS, FRMIVAL, pixelformat, width, height):
        # discrete: one interval; stepwise/continuous: the first fraction is the shortest interval
        numerator, denominator = struct.unpack_from("=II", union)
        if numerator:
            best = max(best, denominator / numerator)
    return best


def list_modes(device: str) -> list[Mode]:
    """The capture modes of a V4L2 device in the formats the kiosk can use; [] when it has none."""
    fd = os.open(device, os.O_RDWR | os.O_NONBLOCK)
    try:
        modes = []
        for _index, _type, _flags, _description, pixelformat, _mbus in _enumerate(
            fd, VIDIOC_ENUM_FMT, FMTDESC, BUF_TYPE_VIDEO_CAPTURE
        ):
            fourcc = fourcc_text(pixelformat)
            if fourcc not in FORMATS:
                continue
            for width, height in _sizes(fd, pixelformat):
                modes.append(Mode(fourcc, width, height, _best_fps(fd, pixelformat, width, height)))
        return modes
    finally:
        os.close(fd)


def choose_mode(modes: list[Mode]) -> Mode | None:
    """The measured best: the most pixels up to 1920x1080 at MIN_FPS or more; YUYV before MJPEG at that size."""
    usable = [m for m in modes if m.width <= MAX_WIDTH and m.height <= MAX_HEIGHT and m.fps >= MIN_FPS]
    if not usable:
        return None
    return max(usable, key=lambda m: (m.width * m.height, m.fourcc == "YUYV"))
