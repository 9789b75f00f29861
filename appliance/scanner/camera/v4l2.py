"""Video capture straight from a V4L2 device: the format set, memory-mapped buffers, the newest frame.

This is what OpenCV's V4L2 backend does for a webcam, without OpenCV: its import costs the scanner
16 MiB, and it hands every frame over decoded to BGR (6 MB at 1080p), so that the change gate
could never skip a JPEG decode (bench/README.md, "Memory"). Here a frame is the driver's bytes:
a JPEG for MJPEG, luma straight out of YUYV.

The structures are videodev2.h's in the machine's own C layout (`struct`'s native mode, `0P`/`0L`
aligning as the compiler does), so one definition serves arm64, armhf and x86-64;
tests/scanner/test_v4l2.py compares them with the compiler's offsets. On 32-bit userlands the
buffer's timestamp is the 32-bit `timeval` the kernel keeps its compatibility ioctls for.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import mmap
import os
import select
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

BUF_TYPE_VIDEO_CAPTURE = 1
CAPABILITY = struct.Struct("@16s32s32sIII12x")  # driver, card, bus_info, version, capabilities, device_caps
# struct v4l2_format with its v4l2_pix_format member: type, then the union (pointer-aligned, 200 bytes)
FORMAT = struct.Struct("@I0P12I152x0P")
STREAMPARM = struct.Struct("@IIIIIII16x160x")  # type, capability, capturemode, timeperframe n/d, ext, readbuffers
REQUESTBUFFERS = struct.Struct("@IIIIB3x")  # count, type, memory, capabilities, flags
# struct v4l2_buffer: index, type, bytesused, flags, field, timestamp, timecode, sequence, memory,
# m.offset (in a union as wide as a pointer), length, reserved2, request_fd
BUFFER = struct.Struct("@IIIII0lll16sII0LI0LIII0L")


BUFFER_TYPE = struct.Struct("@i")  # the argument of STREAMON and STREAMOFF


def ioctl_number(direction: int, number: int, size: int) -> int:
    """videodev2.h's _IOR/_IOW/_IOWR('V', number, a structure of `size` bytes)."""
    return (direction << 30) | (size << 16) | (ord("V") << 8) | number


READ, WRITE = 2, 1
VIDIOC_QUERYCAP = ioctl_number(READ, 0, CAPABILITY.size)
VIDIOC_S_FMT = ioctl_number(READ | WRITE, 5, FORMAT.size)
VIDIOC_REQBUFS = ioctl_number(READ | WRITE, 8, REQUESTBUFFERS.size)
VIDIOC_QUERYBUF = ioctl_number(READ | WRITE, 9, BUFFER.size)
VIDIOC_QBUF = ioctl_number(READ | WRITE, 15, BUFFER.size)
VIDIOC_DQBUF = ioctl_number(READ | WRITE, 17, BUFFER.size)
VIDIOC_STREAMON = ioctl_number(WRITE, 18, BUFFER_TYPE.size)
VIDIOC_STREAMOFF = ioctl_number(WRITE, 19, BUFFER_TYPE.size)
VIDIOC_S_PARM = ioctl_number(READ | WRITE, 22, STREAMPARM.size)

CAP_VIDEO_CAPTURE = 0x00000001
CAP_STREAMING = 0x04000000
CAP_DEVICE_CAPS = 0x80000000
MEMORY_MMAP = 1
FIELD_NONE = 1
BUF_FLAG_ERROR = 0x40
T = TypeVar("T")
# One being read while the other fills; the driver raises the count if it needs more. Each buffer is
# a whole frame of driver memory mapped into the scanner (4 MiB at 1080p YUYV, counted in its RSS).
BUFFERS = 2


class V4L2Error(OSError):
    """The device refused a step of setting up or reading the stream (errno and the step in the message)."""


@dataclass(frozen=True)
class StreamFormat:
    """What the driver agreed to deliver: four-character code, size, bytes per row (0 for compressed)."""

    fourcc: str
    width: int
    height: int
    bytesperline: int


def fourcc_text(code: int) -> str:
    return code.to_bytes(4, "little").decode("ascii", "replace").strip()


def fourcc_code(text: str) -> int:
    return int.from_bytes(text.encode("ascii"), "little")


def call(fd: int, request: int, layout: struct.Struct, values: tuple, step: str) -> tuple:
    """The driver's answer to one ioctl of `layout` filled with `values`; V4L2Error naming `step` if it refuses."""
    buffer = bytearray(layout.pack(*values))
    try:
        fcntl.ioctl(fd, request, buffer)
    except OSError as exc:
        raise V4L2Error(exc.errno, f"{step}: {os.strerror(exc.errno or 0)}") from exc
    return layout.unpack(buffer)


def blank(layout: struct.Struct) -> list:
    """The fields of an all-zero `layout`, to fill in before a call."""
    return list(layout.unpack(bytes(layout.size)))


def _buffer_request(index: int = 0) -> tuple:
    """A v4l2_buffer asking about memory-mapped capture buffer `index` (DQBUF: any filled one)."""
    values = blank(BUFFER)
    values[0], values[1], values[9] = index, BUF_TYPE_VIDEO_CAPTURE, MEMORY_MMAP
    return tuple(values)


class Stream:
    """One open V4L2 capture device streaming into memory-mapped buffers; `latest()` gives the newest frame."""

    def __init__(self, device: str, fourcc: str, width: int, height: int, fps: float):
        self.device = device
        try:
            self._fd = os.open(device, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise V4L2Error(exc.errno, f"open {device}: {os.strerror(exc.errno or 0)}") from exc
        self._maps: list[mmap.mmap] = []
        self._streaming = False
        try:
            self._check_capture()
            self.format = self._set_format(fourcc, width, height)
            self._set_rate(fps)
            self._map_buffers()
            for index in range(len(self._maps)):
                self._queue(index)
            call(self._fd, VIDIOC_STREAMON, BUFFER_TYPE, (BUF_TYPE_VIDEO_CAPTURE,), "VIDIOC_STREAMON")
            self._streaming = True
        except BaseException:
            self.close()
            raise

    def _check_capture(self) -> None:
        *_, capabilities, device_caps = call(
            self._fd, VIDIOC_QUERYCAP, CAPABILITY, tuple(blank(CAPABILITY)), "VIDIOC_QUERYCAP"
        )
        caps = device_caps if capabilities & CAP_DEVICE_CAPS else capabilities
        if not caps & CAP_VIDEO_CAPTURE or not caps & CAP_STREAMING:
            raise V4L2Error(errno.ENODEV, f"{self.device} is not a streaming video capture device")

    def _set_format(self, fourcc: str, width: int, height: int) -> StreamFormat:
        values = blank(FORMAT)
        values[:5] = [BUF_TYPE_VIDEO_CAPTURE, width, height, fourcc_code(fourcc), FIELD_NONE]
        _type, width, height, pixelformat, _field, bytesperline, *_ = call(
            self._fd, VIDIOC_S_FMT, FORMAT, tuple(values), f"VIDIOC_S_FMT {fourcc} {width}x{height}"
        )
        return StreamFormat(fourcc_text(pixelformat), width, height, bytesperline)

    def _set_rate(self, fps: float) -> None:
        """Ask for `fps` frames a second; a driver without frame-rate control keeps its own (not an error)."""
        values = blank(STREAMPARM)
        values[0], values[3], values[4] = BUF_TYPE_VIDEO_CAPTURE, 1000, round(fps * 1000)
        try:
            call(self._fd, VIDIOC_S_PARM, STREAMPARM, tuple(values), "VIDIOC_S_PARM")
        except V4L2Error as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOTTY):
                raise

    def _map_buffers(self) -> None:
        count, *_ = call(
            self._fd,
            VIDIOC_REQBUFS,
            REQUESTBUFFERS,
            (BUFFERS, BUF_TYPE_VIDEO_CAPTURE, MEMORY_MMAP, 0, 0),
            "VIDIOC_REQBUFS",
        )
        if count < 2:
            raise V4L2Error(errno.ENOMEM, f"{self.device} gave {count} buffers")
        for index in range(count):
            fields = call(self._fd, VIDIOC_QUERYBUF, BUFFER, _buffer_request(index), "VIDIOC_QUERYBUF")
            offset, length = fields[10], fields[11]
            self._maps.append(
                mmap.mmap(self._fd, length, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=offset)
            )

    def _queue(self, index: int) -> None:
        call(self._fd, VIDIOC_QBUF, BUFFER, _buffer_request(index), "VIDIOC_QBUF")

    def _dequeue(self) -> tuple[int, int, int] | None:
        """(index, bytesused, flags) of a filled buffer, or None when none is ready."""
        try:
            index, _type, used, flags, *_ = call(self._fd, VIDIOC_DQBUF, BUFFER, _buffer_request(), "VIDIOC_DQBUF")
        except V4L2Error as exc:
            if exc.errno == errno.EAGAIN:
                return None
            raise
        return index, used, flags

    def latest(self, timeout: float, take: Callable[[memoryview], T]) -> T | None:
        """`take` of the newest complete frame (older ones waiting are dropped), or None if none came in time.

        `take` reads the frame where the driver put it and must copy what it keeps: the buffer
        goes back to the driver as soon as it returns. Dropping the backlog is what OpenCV's
        one-frame buffer did: a scanner slower than its camera for a moment must see the card
        as it is now, not a second ago.
        """
        ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout))
        if not ready:
            return None
        newest: tuple[int, int, int] | None = None
        while (filled := self._dequeue()) is not None:
            if newest is not None:
                self._queue(newest[0])
            newest = filled
        if newest is None:
            return None
        index, used, flags = newest
        try:
            if flags & BUF_FLAG_ERROR or used == 0:
                return None  # the driver says this frame is damaged (a USB transfer lost on the way)
            with memoryview(self._maps[index])[:used] as frame:
                return take(frame)
        finally:
            self._queue(index)

    def close(self) -> None:
        """Stop streaming and release the buffers and the device (safe to call twice)."""
        if self._fd < 0:
            return
        if self._streaming:
            with contextlib.suppress(OSError):  # an unplugged camera cannot be stopped; closing releases it anyway
                call(self._fd, VIDIOC_STREAMOFF, BUFFER_TYPE, (BUF_TYPE_VIDEO_CAPTURE,), "VIDIOC_STREAMOFF")
            self._streaming = False
        for buffer in self._maps:
            buffer.close()
        self._maps.clear()
        os.close(self._fd)
        self._fd = -1
