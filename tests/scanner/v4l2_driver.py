"""A stand-in for a webcam's V4L2 driver, at the ioctl seam: the camera is what cannot exist here.

It keeps the rules of the V4L2 specification that a capture loop can get wrong: S_FMT adjusts to
the nearest size the camera has instead of failing, a buffer can be queued only once, DQBUF gives
filled buffers oldest first and EAGAIN when none is ready, a frame that arrives while no buffer
is queued is lost, a buffer may come back flagged as damaged, and an unplugged camera answers
ENODEV. The buffers are a real file mapped as the driver's memory would be, so frames written
"by the camera" are what the kiosk reads through its mmap.
"""

from __future__ import annotations

import errno
import mmap
import os
import struct
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from appliance.scanner.camera import uvc_modes, v4l2
from appliance.scanner.camera.v4l2 import fourcc_code, fourcc_text

PAGE = mmap.PAGESIZE


@dataclass
class FakeWebcam:
    """The driver's state, and what a test does as the camera: deliver frames, get unplugged."""

    path: Path
    modes: list[tuple[str, int, int, float]]  # (fourcc, width, height, fps) the camera offers
    capabilities: int = v4l2.CAP_VIDEO_CAPTURE | v4l2.CAP_STREAMING
    row_padding: int = 0  # bytes a YUYV row carries beyond width * 2
    max_buffers: int = 8
    fmt: tuple[str, int, int] | None = None
    fps: float | None = None
    buffers: list[tuple[int, int]] = field(default_factory=list)  # (offset, length)
    queued: deque[int] = field(default_factory=deque)
    filled: deque[tuple[int, int, int]] = field(default_factory=deque)  # (index, bytesused, flags)
    streaming: bool = False
    unplugged: bool = False
    lost: int = 0
    stream_ons: int = 0
    stream_offs: int = 0

    @property
    def bytesperline(self) -> int:
        assert self.fmt is not None
        fourcc, width, _ = self.fmt
        return width * 2 + self.row_padding if fourcc == "YUYV" else 0

    def deliver(self, data: bytes, *, damaged: bool = False) -> bool:
        """The camera fills the next queued buffer with `data`; False when no buffer was queued (frame lost)."""
        if not self.streaming or not self.queued:
            self.lost += 1
            return False
        index = self.queued.popleft()
        offset, length = self.buffers[index]
        assert len(data) <= length, "a frame larger than the buffer the driver gave"
        with self.path.open("r+b") as memory:
            memory.seek(offset)
            memory.write(data)
        self.filled.append((index, len(data), v4l2.BUF_FLAG_ERROR if damaged else 0))
        return True

    # --- the ioctls -------------------------------------------------------------------------------
    def ioctl(self, fd: int, request: int, arg, mutate: bool = True) -> int:
        if self.unplugged and request not in (v4l2.VIDIOC_STREAMOFF,):
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        handler = {
            v4l2.VIDIOC_QUERYCAP: self._querycap,
            v4l2.VIDIOC_S_FMT: self._s_fmt,
            v4l2.VIDIOC_S_PARM: self._s_parm,
            v4l2.VIDIOC_REQBUFS: self._reqbufs,
            v4l2.VIDIOC_QUERYBUF: self._querybuf,
            v4l2.VIDIOC_QBUF: self._qbuf,
            v4l2.VIDIOC_DQBUF: self._dqbuf,
            v4l2.VIDIOC_STREAMON: self._streamon,
            v4l2.VIDIOC_STREAMOFF: self._streamoff,
            uvc_modes.VIDIOC_ENUM_FMT: self._enum_fmt,
            uvc_modes.VIDIOC_ENUM_FRAMESIZES: self._enum_sizes,
            uvc_modes.VIDIOC_ENUM_FRAMEINTERVALS: self._enum_intervals,
        }.get(request)
        if handler is None:
            raise OSError(errno.ENOTTY, os.strerror(errno.ENOTTY))
        handler(arg)
        return 0

    def _querycap(self, arg: bytearray) -> None:
        caps = self.capabilities | v4l2.CAP_DEVICE_CAPS
        v4l2.CAPABILITY.pack_into(
            arg, 0, b"uvcvideo", b"Fake Webcam", b"usb-0000:01:00.0-1", 0x60C00, caps, self.capabilities
        )

    def _formats(self) -> list[str]:
        return list(dict.fromkeys(mode[0] for mode in self.modes))

    def _s_fmt(self, arg: bytearray) -> None:
        if self.streaming:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))
        values = list(v4l2.FORMAT.unpack(arg))
        _type, width, height, pixelformat = values[:4]
        fourcc = fourcc_text(pixelformat)
        if fourcc not in self._formats():
            fourcc = self._formats()[0]  # the spec: adjust to something the device has, do not fail
        sizes = [(w, h) for f, w, h, _ in self.modes if f == fourcc]
        width, height = min(sizes, key=lambda size: abs(size[0] * size[1] - width * height))
        self.fmt = (fourcc, width, height)
        sizeimage = self.bytesperline * height if fourcc == "YUYV" else width * height
        values[1:7] = [width, height, fourcc_code(fourcc), v4l2.FIELD_NONE, self.bytesperline, sizeimage]
        v4l2.FORMAT.pack_into(arg, 0, *values)

    def _s_parm(self, arg: bytearray) -> None:
        values = list(v4l2.STREAMPARM.unpack(arg))
        self.fps = values[4] / values[3]

    def _reqbufs(self, arg: bytearray) -> None:
        count, kind, memory, *_ = v4l2.REQUESTBUFFERS.unpack(arg)
        assert (kind, memory) == (1, v4l2.MEMORY_MMAP)
        count = min(count, self.max_buffers)
        assert self.fmt is not None
        _, width, height = self.fmt
        length = max(self.bytesperline, width) * height
        stride = -(-length // PAGE) * PAGE
        self.buffers = [(index * stride, length) for index in range(count)]
        with self.path.open("wb") as backing:
            backing.truncate(stride * count)
        v4l2.REQUESTBUFFERS.pack_into(arg, 0, count, kind, memory, 0, 0)

    def _buffer(self, arg: bytearray) -> list:
        values = list(v4l2.BUFFER.unpack(arg))
        assert values[1] == 1 and values[9] == v4l2.MEMORY_MMAP
        return values

    def _querybuf(self, arg: bytearray) -> None:
        values = self._buffer(arg)
        values[10], values[11] = self.buffers[values[0]]
        v4l2.BUFFER.pack_into(arg, 0, *values)

    def _qbuf(self, arg: bytearray) -> None:
        index = self._buffer(arg)[0]
        if index >= len(self.buffers) or index in self.queued or any(f[0] == index for f in self.filled):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        self.queued.append(index)

    def _dqbuf(self, arg: bytearray) -> None:
        values = self._buffer(arg)
        if not self.streaming:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        if not self.filled:
            raise OSError(errno.EAGAIN, os.strerror(errno.EAGAIN))
        index, used, flags = self.filled.popleft()
        values[0], values[2], values[3] = index, used, flags
        values[10], values[11] = self.buffers[index]
        v4l2.BUFFER.pack_into(arg, 0, *values)

    def _streamon(self, arg) -> None:
        self.streaming, self.stream_ons = True, self.stream_ons + 1

    def _streamoff(self, arg) -> None:
        self.streaming, self.stream_offs = False, self.stream_offs + 1
        self.queued.clear()
        self.filled.clear()

    def _enumerate(self, arg: bytearray, layout: struct.Struct, answers: list[tuple]) -> None:
        index = layout.unpack(arg)[0]
        if index >= len(answers):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        layout.pack_into(arg, 0, *answers[index])

    def _enum_fmt(self, arg: bytearray) -> None:
        answers = [(i, 1, 0, f.encode(), fourcc_code(f), 0) for i, f in enumerate(self._formats())]
        self._enumerate(arg, uvc_modes.FMTDESC, answers)

    def _enum_sizes(self, arg: bytearray) -> None:
        fourcc = fourcc_text(uvc_modes.FRMSIZE.unpack(arg)[1])
        sizes = list(dict.fromkeys((w, h) for f, w, h, _ in self.modes if f == fourcc))
        answers = [
            (i, fourcc_code(fourcc), 1, struct.pack("=II", w, h).ljust(24, b"\0")) for i, (w, h) in enumerate(sizes)
        ]
        self._enumerate(arg, uvc_modes.FRMSIZE, answers)

    def _enum_intervals(self, arg: bytearray) -> None:
        _, code, width, height, *_ = uvc_modes.FRMIVAL.unpack(arg)
        rates = [fps for f, w, h, fps in self.modes if (f, w, h) == (fourcc_text(code), width, height)]
        answers = [
            (i, code, width, height, 1, struct.pack("=II", 1000, round(fps * 1000)).ljust(24, b"\0"))
            for i, fps in enumerate(rates)
        ]
        self._enumerate(arg, uvc_modes.FRMIVAL, answers)


class _Fcntl:
    def __init__(self, webcam: FakeWebcam):
        self.ioctl = webcam.ioctl


def plug_in(monkeypatch, dev: Path, modes: list[tuple[str, int, int, float]], **options) -> FakeWebcam:
    """A fake webcam as `dev`/video0 (the kiosk's /dev stands in by `dev`)."""
    device = dev / "video0"
    device.touch()
    webcam = FakeWebcam(device, modes, **options)
    monkeypatch.setattr(v4l2, "fcntl", _Fcntl(webcam))  # the enumeration in uvc_modes.py calls through v4l2.py too
    return webcam
