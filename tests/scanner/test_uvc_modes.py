"""Which mode a USB camera is asked for: the measured rule on real cameras' mode lists, and the
V4L2 enumeration's wire format."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.scanner.camera.auto import camera_order
from appliance.scanner.camera.uvc_modes import (
    FMTDESC,
    FRMIVAL,
    FRMSIZE,
    VIDIOC_ENUM_FMT,
    VIDIOC_ENUM_FRAMEINTERVALS,
    VIDIOC_ENUM_FRAMESIZES,
    Mode,
    choose_mode,
    list_modes,
)
from appliance.scanner.camera.v4l2 import fourcc_code, fourcc_text


def modes(*specs: str) -> list[Mode]:
    """`"MJPG 1920x1080@30"` -> Mode."""
    found = []
    for spec in specs:
        fourcc, rest = spec.split()
        size, fps = rest.split("@")
        width, height = size.split("x")
        found.append(Mode(fourcc, int(width), int(height), float(fps)))
    return found


@pytest.mark.parametrize(
    ("camera", "offered", "chosen"),
    [
        (
            "1080p webcam on USB 2 (the BOM's class)",
            ["YUYV 1920x1080@5", "YUYV 1280x720@10", "YUYV 640x480@30", "MJPG 1920x1080@30", "MJPG 1280x720@30"],
            "MJPG 1920x1080@30",
        ),
        ("720p webcam", ["YUYV 1280x720@7.5", "YUYV 640x480@30", "MJPG 1280x720@30"], "MJPG 1280x720@30"),
        ("USB 3 camera, uncompressed fast enough", ["YUYV 1920x1080@30", "MJPG 1920x1080@30"], "YUYV 1920x1080@30"),
        ("4K webcam: no more than the decoder uses", ["MJPG 3840x2160@30", "MJPG 1920x1080@30"], "MJPG 1920x1080@30"),
        ("old VGA camera", ["YUYV 640x480@30", "YUYV 320x240@30"], "YUYV 640x480@30"),
    ],
)
def test_the_largest_frame_at_ten_frames_a_second_is_chosen(camera, offered, chosen):
    assert choose_mode(modes(*offered)) == modes(chosen)[0], camera


def test_a_camera_with_only_slow_modes_keeps_the_old_request():
    assert choose_mode(modes("YUYV 1920x1080@5", "YUYV 2592x1944@2")) is None
    assert choose_mode([]) is None


def test_the_ioctl_layouts_match_videodev2():
    assert (FMTDESC.size, FRMSIZE.size, FRMIVAL.size) == (64, 44, 52)
    assert (VIDIOC_ENUM_FMT, VIDIOC_ENUM_FRAMESIZES, VIDIOC_ENUM_FRAMEINTERVALS) == (0xC0405602, 0xC02C564A, 0xC034564B)
    assert fourcc_code("MJPG") == 0x47504A4D and fourcc_text(0x56595559) == "YUYV"


def test_a_node_that_is_not_a_camera_offers_no_mode():
    assert list_modes(os.devnull) == []


def test_usb_cameras_come_before_the_pi_codec_nodes(tmp_path: Path):
    def node(index: int, driver: str) -> None:
        (tmp_path / "bus" / driver).mkdir(parents=True, exist_ok=True)
        device = tmp_path / "devices" / f"video{index}"
        device.mkdir(parents=True)
        (device / "driver").symlink_to(tmp_path / "bus" / driver)
        (tmp_path / "class" / "video4linux").mkdir(parents=True, exist_ok=True)
        (tmp_path / "class" / "video4linux" / f"video{index}").mkdir()
        (tmp_path / "class" / "video4linux" / f"video{index}" / "device").symlink_to(device)

    for index in (10, 11, 12, 18, 31):
        node(index, "bcm2835-codec")
    node(0, "bcm2835-isp")
    node(32, "uvcvideo")
    node(33, "uvcvideo")  # the same camera's metadata node: tried after, skipped as it gives no frames
    assert camera_order([0, 10, 11, 12, 18, 31, 32, 33], tmp_path) == [32, 33, 0, 10, 11, 12, 18, 31]
