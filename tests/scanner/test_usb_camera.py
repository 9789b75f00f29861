"""`opencv:N`, a USB webcam: the measured mode, grey frames without OpenCV, and plain errors.

The webcam is the stand-in V4L2 driver of v4l2_driver.py (the camera is what cannot exist here);
the real driver path is checked in every boot of the image on the kernel's vivid webcam
(image/test-boot.sh: frames, no OpenCV, the picture's colour bars).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from appliance.scanner import pixels
from appliance.scanner.camera import CameraError
from appliance.scanner.camera.usb import USBCamera
from appliance.scanner.decode import make_decoder
from tests.scanner.conftest import qr_image
from tests.scanner.v4l2_driver import plug_in

BOM_WEBCAM = [  # a 1080p webcam on USB 2, the BOM's class: uncompressed 1080p too slow to use
    ("YUYV", 1920, 1080, 5.0),
    ("YUYV", 640, 480, 30.0),
    ("MJPG", 1920, 1080, 30.0),
    ("MJPG", 1280, 720, 30.0),
]
CARD = "https://keryu.local/scan/4f2a9b1c-8d3e-4f5a-b6c7-d8e9f0a1b2c3"


def card_scene(width: int, height: int) -> np.ndarray:
    scene = np.full((height, width), 170, np.uint8)
    card = qr_image(CARD, module_px=8)
    top, left = (height - card.shape[0]) // 2, (width - card.shape[1]) // 2
    scene[top : top + card.shape[0], left : left + card.shape[1]] = card
    return scene


def yuyv(grey: np.ndarray, padding: int = 0) -> bytes:
    """A grey picture as a YUYV frame (neutral chroma), each row `padding` bytes longer."""
    height, width = grey.shape
    frame = np.full((height, width * 2 + padding), 0xEE, np.uint8)
    frame[:, 0 : width * 2 : 2] = grey
    frame[:, 1 : width * 2 : 2] = 128
    return frame.tobytes()


def test_a_1080p_webcam_streams_mjpeg_at_1080p_and_fifteen_frames_a_second(monkeypatch, tmp_path):
    webcam = plug_in(monkeypatch, tmp_path, BOM_WEBCAM)
    camera = USBCamera(0, dev=tmp_path)
    assert webcam.fmt == ("MJPG", 1920, 1080) and webcam.fps == 15
    assert camera.description == f"opencv:0 ({tmp_path}/video0, MJPG 1920x1080)"
    camera.close()


def test_an_mjpeg_frame_stays_a_jpeg_until_the_gate_wants_it_and_then_reads_in_grey(monkeypatch, tmp_path):
    webcam = plug_in(monkeypatch, tmp_path, BOM_WEBCAM)
    camera = USBCamera(0, dev=tmp_path)
    scene = card_scene(1920, 1080)
    webcam.deliver(pixels.encode_jpeg(scene, quality=70))
    frame = camera.read(0.1)
    assert frame is not None and frame.jpeg is not None
    assert frame.preview().shape == (135, 240)  # the change gate's look: an eighth each way
    assert frame.image.shape == (1080, 1920) and frame.image.ndim == 2
    assert make_decoder("auto")(frame.image) == [CARD]
    camera.close()


@pytest.mark.parametrize("padding", [0, 64], ids=["packed rows", "padded rows"])
def test_a_yuyv_frame_is_its_luma_with_no_decoding(monkeypatch, tmp_path, padding):
    webcam = plug_in(monkeypatch, tmp_path, [("YUYV", 640, 480, 30.0)], row_padding=padding)
    camera = USBCamera(0, dev=tmp_path)
    scene = card_scene(640, 480)
    webcam.deliver(yuyv(scene, padding))
    frame = camera.read(0.1)
    assert frame is not None and frame.jpeg is None
    assert np.array_equal(frame.image, scene)
    assert make_decoder("auto")(frame.image) == [CARD]
    camera.close()


def test_a_short_yuyv_frame_is_dropped_not_misread(monkeypatch, tmp_path):
    webcam = plug_in(monkeypatch, tmp_path, [("YUYV", 640, 480, 30.0)])
    camera = USBCamera(0, dev=tmp_path)
    webcam.deliver(yuyv(card_scene(640, 480))[:-1000])
    assert camera.read(0.1) is None
    webcam.deliver(yuyv(card_scene(640, 480)))
    assert camera.read(0.1) is not None
    camera.close()


def test_a_camera_with_only_slow_modes_is_asked_for_720p_in_its_format(monkeypatch, tmp_path):
    webcam = plug_in(monkeypatch, tmp_path, [("YUYV", 1920, 1080, 5.0), ("YUYV", 1280, 720, 7.5)])
    USBCamera(0, dev=tmp_path).close()
    assert webcam.fmt == ("YUYV", 1280, 720)


def test_a_camera_that_delivers_neither_mjpeg_nor_yuyv_says_what_it_delivers(monkeypatch, tmp_path):
    plug_in(monkeypatch, tmp_path, [("H264", 1920, 1080, 30.0)])
    with pytest.raises(CameraError, match="USB camera 0 delivers H264, and the kiosk reads MJPEG or YUYV"):
        USBCamera(0, dev=tmp_path)


def test_an_unplugged_camera_stops_with_a_camera_error(monkeypatch, tmp_path):
    webcam = plug_in(monkeypatch, tmp_path, BOM_WEBCAM)
    camera = USBCamera(0, dev=tmp_path)
    webcam.unplugged = True
    with pytest.raises(CameraError, match="stopped giving frames"):
        camera.read(0.1)
    camera.close()


def test_a_missing_camera_cannot_be_opened_and_says_why(tmp_path):
    with pytest.raises(
        CameraError, match=r"USB camera 3 \(/dev/video3\) cannot be opened \(open .*video3: No such file"
    ):
        USBCamera(3, dev=tmp_path)


def test_a_webcams_frames_are_read_and_decoded_without_loading_opencv():
    """The point of reading V4L2 directly: a webcam kiosk's scanner without OpenCV's 16 MiB."""
    probe = (
        "import sys\n"
        "from appliance.scanner import pixels\n"
        "from appliance.scanner.camera import Frame, usb\n"
        "from PIL import Image\n"
        "jpeg = pixels.encode_jpeg(usb.np.full((480, 640), 90, usb.np.uint8), quality=70)\n"
        "frame = Frame(None, 'f', 0.0, jpeg=jpeg)\n"
        "frame.preview(), frame.image\n"
        "print(sorted(m for m in ('cv2', 'numpy', 'PIL') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['PIL', 'numpy']"
