"""The V4L2 stream: its structures are the compiler's, and it reads a driver as the specification says.

The layouts are checked against videodev2.h by compiling a program that prints the offsets the C
compiler gives each field; the stream's behaviour against the fake driver in v4l2_driver.py.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from appliance.scanner.camera import v4l2
from appliance.scanner.camera.v4l2 import Stream, V4L2Error
from tests.scanner.v4l2_driver import plug_in

HEADER = Path("/usr/include/linux/videodev2.h")

# (C struct, Python layout, the C fields in the layout's order, by the struct's member path)
PIX = "width height pixelformat field bytesperline sizeimage colorspace priv flags ycbcr_enc quantization xfer_func"
CAPTURE = "capability capturemode timeperframe.numerator timeperframe.denominator extendedmode readbuffers"
BUFFER = (
    "index type bytesused flags field timestamp.tv_sec timestamp.tv_usec timecode sequence memory m.offset length"
    " reserved2 request_fd"
)
LAYOUTS = [
    ("v4l2_capability", v4l2.CAPABILITY, ["driver", "card", "bus_info", "version", "capabilities", "device_caps"]),
    ("v4l2_format", v4l2.FORMAT, ["type", *(f"fmt.pix.{name}" for name in PIX.split())]),
    ("v4l2_streamparm", v4l2.STREAMPARM, ["type", *(f"parm.capture.{name}" for name in CAPTURE.split())]),
    ("v4l2_requestbuffers", v4l2.REQUESTBUFFERS, ["count", "type", "memory", "capabilities", "flags"]),
    ("v4l2_buffer", v4l2.BUFFER, BUFFER.split()),
]
IOCTLS = ["QUERYCAP", "S_FMT", "S_PARM", "REQBUFS", "QUERYBUF", "QBUF", "DQBUF", "STREAMON", "STREAMOFF"]


def python_offsets(layout: struct.Struct) -> list[int]:
    """Where each field of a layout lands: pack distinct byte patterns and find them."""
    codes = []
    for count, code in re.findall(r"(\d*)([a-zA-Z])", layout.format):
        if code == "s":
            codes.append(code)
        elif code != "x":
            codes += [code] * int(count or 1)
    values, markers = [], []
    for index, code in enumerate(codes):
        marker = bytes([0x80 + index]) * (1 if code == "B" else 4)
        values.append(marker if code == "s" else int.from_bytes(marker, "little"))
        markers.append(marker)
    packed = layout.pack(*values)
    return [packed.index(marker) for marker in markers]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict[str, int]:
    """sizeof, offsetof and ioctl numbers as the C compiler sees videodev2.h on this machine."""
    if shutil.which("gcc") is None or not HEADER.exists():
        pytest.skip("gcc and linux-libc-dev are needed to compare with videodev2.h (./startup.sh test installs them)")
    lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <linux/videodev2.h>", "int main(void) {"]
    for name, _layout, fields in LAYOUTS:
        lines.append(f'printf("{name} %zu\\n", sizeof(struct {name}));')
        lines += [f'printf("{name}.{f} %zu\\n", offsetof(struct {name}, {f}));' for f in fields]
    lines += [f'printf("VIDIOC_{n} %lu\\n", (unsigned long)VIDIOC_{n});' for n in IOCTLS]
    source = tmp_path_factory.mktemp("videodev2") / "layouts.c"
    source.write_text("\n".join([*lines, "return 0; }"]) + "\n")
    program = source.with_suffix("")
    subprocess.run(["gcc", "-o", str(program), str(source)], check=True, capture_output=True)
    output = subprocess.run([str(program)], check=True, capture_output=True, text=True).stdout
    return {key: int(value) for key, value in (line.split() for line in output.splitlines())}


@pytest.mark.parametrize(("name", "layout", "fields"), LAYOUTS, ids=[entry[0] for entry in LAYOUTS])
def test_each_structure_has_the_compilers_size_and_field_offsets(compiled, name, layout, fields):
    assert layout.size == compiled[name]
    assert python_offsets(layout) == [compiled[f"{name}.{field}"] for field in fields]


def test_the_ioctl_numbers_are_the_headers(compiled):
    assert {n: getattr(v4l2, f"VIDIOC_{n}") for n in IOCTLS} == {n: compiled[f"VIDIOC_{n}"] for n in IOCTLS}


def test_the_ioctl_numbers_on_64_bit_linux_are_the_known_ones():
    """The numbers gcc gives from videodev2.h on x86-64, the LP64 layout arm64 shares (checked without gcc too)."""
    if struct.calcsize("P") != 8:
        pytest.skip("the known numbers are those of a 64-bit userland")
    assert (v4l2.VIDIOC_QUERYCAP, v4l2.VIDIOC_S_FMT, v4l2.VIDIOC_REQBUFS) == (0x80685600, 0xC0D05605, 0xC0145608)
    assert (v4l2.VIDIOC_QUERYBUF, v4l2.VIDIOC_QBUF, v4l2.VIDIOC_DQBUF) == (0xC0585609, 0xC058560F, 0xC0585611)
    assert (v4l2.VIDIOC_STREAMON, v4l2.VIDIOC_STREAMOFF, v4l2.VIDIOC_S_PARM) == (0x40045612, 0x40045613, 0xC0CC5616)


YUYV_VGA = [("YUYV", 640, 480, 30.0)]


def test_the_stream_asks_for_the_format_and_rate_and_starts_with_every_buffer_queued(monkeypatch, tmp_path):
    webcam = plug_in(monkeypatch, tmp_path, [*YUYV_VGA, ("YUYV", 320, 240, 30.0)])
    stream = Stream(str(tmp_path / "video0"), "YUYV", 640, 480, 15)
    assert (stream.format.fourcc, stream.format.width, stream.format.height) == ("YUYV", 640, 480)
    assert webcam.fps == 15 and webcam.streaming
    assert sorted(webcam.queued) == list(range(v4l2.BUFFERS))
    stream.close()
    stream.close()
    assert (webcam.stream_ons, webcam.stream_offs) == (1, 1)


def test_the_driver_may_change_the_size_and_the_stream_says_so(monkeypatch, tmp_path):
    plug_in(monkeypatch, tmp_path, [("MJPG", 1280, 720, 30.0)])
    stream = Stream(str(tmp_path / "video0"), "MJPG", 1920, 1080, 15)
    assert (stream.format.width, stream.format.height) == (1280, 720)
    stream.close()


def test_latest_gives_the_newest_frame_and_queues_the_older_ones_again(monkeypatch, tmp_path):
    webcam = plug_in(monkeypatch, tmp_path, [("MJPG", 640, 480, 30.0)])
    stream = Stream(str(tmp_path / "video0"), "MJPG", 640, 480, 15)
    for number in range(1, v4l2.BUFFERS + 1):
        assert webcam.deliver(b"frame %d" % number)
    assert not webcam.deliver(b"too late")  # every buffer full: the driver drops it, as a real one does
    assert stream.latest(0.1, bytes) == b"frame %d" % v4l2.BUFFERS
    assert stream.latest(0.0, bytes) is None  # nothing new: EAGAIN is "no frame", not an error
    for round_ in range(50):  # every buffer comes back: the camera never runs out
        assert webcam.deliver(b"round %d" % round_)
        assert stream.latest(0.1, bytes) == b"round %d" % round_
    assert webcam.lost == 1
    stream.close()


def test_a_frame_the_driver_flags_as_damaged_is_skipped_and_its_buffer_reused(monkeypatch, tmp_path):
    webcam = plug_in(monkeypatch, tmp_path, [("MJPG", 640, 480, 30.0)], max_buffers=2)
    stream = Stream(str(tmp_path / "video0"), "MJPG", 640, 480, 15)
    webcam.deliver(b"torn", damaged=True)
    assert stream.latest(0.1, bytes) is None
    webcam.deliver(b"whole")
    assert stream.latest(0.1, bytes) == b"whole"
    assert len(webcam.queued) == 2
    stream.close()


def test_an_unplugged_camera_is_an_error_naming_the_step(monkeypatch, tmp_path):
    webcam = plug_in(monkeypatch, tmp_path, [("MJPG", 640, 480, 30.0)])
    stream = Stream(str(tmp_path / "video0"), "MJPG", 640, 480, 15)
    webcam.unplugged = True
    with pytest.raises(V4L2Error, match="VIDIOC_DQBUF: No such device"):
        stream.latest(0.1, bytes)
    stream.close()


def test_a_node_that_cannot_stream_video_is_refused(monkeypatch, tmp_path):
    plug_in(monkeypatch, tmp_path, [("MJPG", 640, 480, 30.0)], capabilities=0x00800000)  # a UVC metadata node
    with pytest.raises(V4L2Error, match="not a streaming video capture device"):
        Stream(str(tmp_path / "video0"), "MJPG", 640, 480, 15)


def test_a_missing_device_is_an_error_naming_it(tmp_path):
    with pytest.raises(V4L2Error, match="video7: No such file"):
        Stream(str(tmp_path / "video7"), "MJPG", 640, 480, 15)
