"""Cameras: the `dir:` and `video:` backends, `open_camera` specs, and image files that are not frames."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from appliance.scanner.camera import CameraError, load_image, open_camera
from appliance.scanner.camera.dir import DirCamera
from appliance.scanner.camera.none import NoCamera
from appliance.scanner.camera.video import VideoCamera


def png_bytes(value: int, size: tuple[int, int] = (64, 48)) -> bytes:
    ok, buf = cv2.imencode(".png", np.full((size[1], size[0]), value, np.uint8))
    assert ok
    return buf.tobytes()


def write(path: Path, data: bytes, *, age: float = 0.0) -> Path:
    path.write_bytes(data)
    if age:
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    return path


def frames(camera: DirCamera, limit: int = 10, timeout: float = 0.3) -> list[tuple[str, int]]:
    """(name, first pixel value) of every frame the camera gives until it has nothing new."""
    seen = []
    while len(seen) < limit and (frame := camera.read(timeout)) is not None:
        seen.append((frame.name, int(frame.image[0, 0])))
    return seen


def test_dir_camera_gives_new_files_in_name_order_each_once(tmp_path):
    camera = DirCamera(tmp_path, settle=0.02)
    for name, value in [("b.png", 2), ("a.png", 1), ("c.jpg", 3)]:
        write(
            tmp_path / name,
            png_bytes(value)
            if name.endswith("png")
            else cv2.imencode(".jpg", np.full((48, 64), 3, np.uint8))[1].tobytes(),
        )
    assert [n for n, _ in frames(camera)] == ["a.png", "b.png", "c.jpg"]
    assert camera.read(0.1) is None
    write(tmp_path / "0-late.png", png_bytes(9))
    assert frames(camera) == [("0-late.png", 9)]


def test_dir_camera_ignores_files_that_were_there_before_it_opened(tmp_path):
    write(tmp_path / "old.png", png_bytes(1), age=60)
    camera = DirCamera(tmp_path)
    assert camera.read(0.1) is None
    write(tmp_path / "new.png", png_bytes(2))
    assert frames(camera) == [("new.png", 2)]


def test_dir_camera_never_reads_a_file_half_written(tmp_path):
    camera = DirCamera(tmp_path, settle=0.2)
    whole = png_bytes(7, (640, 480))
    target = tmp_path / "card.png"
    with target.open("wb") as out:
        out.write(whole[: len(whole) // 2])
        out.flush()
        assert camera.read(0.1) is None  # written moments ago and still growing
        out.write(whole[len(whole) // 2 :])
    got = frames(camera, timeout=1.0)
    assert got == [("card.png", 7)]


def test_dir_camera_reads_again_a_file_that_was_unreadable_and_then_grew(tmp_path):
    camera = DirCamera(tmp_path, settle=0.02)
    whole = png_bytes(9, (320, 240))
    target = write(tmp_path / "slow.png", whole[:200], age=5)  # a writer that paused for seconds
    assert camera.read(0.2) is None  # read, not an image yet
    with target.open("ab") as out:
        out.write(whole[200:])
    assert frames(camera) == [("slow.png", 9)]
    assert camera.read(0.1) is None  # and only once


def test_dir_camera_waits_for_a_temporary_name_to_be_renamed(tmp_path):
    camera = DirCamera(tmp_path, settle=0.02)
    write(tmp_path / "card.png.tmp", png_bytes(5), age=10)
    write(tmp_path / ".card.png", png_bytes(5), age=10)
    assert camera.read(0.1) is None
    (tmp_path / "card.png.tmp").rename(tmp_path / "card.png")
    assert frames(camera) == [("card.png", 5)]


def test_dir_camera_reads_a_name_again_after_it_was_deleted_and_written_anew(tmp_path):
    camera = DirCamera(tmp_path, settle=0.02)
    write(tmp_path / "card.png", png_bytes(1), age=5)
    assert frames(camera) == [("card.png", 1)]
    (tmp_path / "card.png").unlink()
    assert camera.read(0.05) is None
    write(tmp_path / "card.png", png_bytes(2), age=5)
    assert frames(camera) == [("card.png", 2)]


def test_dir_camera_skips_files_that_are_not_images_and_goes_on(tmp_path):
    camera = DirCamera(tmp_path, settle=0.02)
    write(tmp_path / "1-random.jpg", os.urandom(5000), age=5)
    write(tmp_path / "2-text.png", b"SELECT * FROM alarms; <script>alert(1)</script>", age=5)
    write(tmp_path / "3-good.png", png_bytes(4), age=5)
    assert frames(camera) == [("3-good.png", 4)]


def test_dir_camera_ignores_what_is_not_a_regular_file(tmp_path):
    camera = DirCamera(tmp_path, settle=0.02)
    (tmp_path / "folder.png").mkdir()
    os.mkfifo(tmp_path / "pipe.png")  # reading it would block the loop forever
    write(tmp_path / "zz.png", png_bytes(3), age=5)
    assert frames(camera) == [("zz.png", 3)]


def test_dir_camera_creates_its_folder(tmp_path):
    DirCamera(tmp_path / "inbox" / "new")
    assert (tmp_path / "inbox" / "new").is_dir()


def test_dir_camera_on_a_path_that_is_a_file_is_a_camera_error(tmp_path):
    write(tmp_path / "file", b"x")
    with pytest.raises(CameraError, match="cannot be watched"):
        DirCamera(tmp_path / "file")


def _truncated_jpeg() -> bytes:
    data = cv2.imencode(".jpg", np.random.default_rng(1).integers(0, 255, (480, 640), dtype=np.uint8))[1].tobytes()
    return data[: len(data) // 3]


def _bomb_png(path: Path) -> bytes:
    Image.new("1", (10_000, 6_000)).save(path)  # 60 MP, a few kilobytes on disk
    return path.read_bytes()


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda p: b"", "empty file"),
        (lambda p: os.urandom(20_000), "random bytes"),
        (lambda p: b"\x89PNG\r\n\x1a\n" + os.urandom(100), "PNG signature, garbage after"),
        (lambda p: b"<html><body>' OR 1=1 --</body></html>", "HTML with SQL"),
        (_bomb_png, "60-megapixel decompression bomb"),
    ],
)
def test_load_image_refuses_what_is_not_a_sane_image(tmp_path, make, why):
    path = tmp_path / "frame.png"
    path.write_bytes(make(path))
    assert load_image(path) is None, why


def test_load_image_of_a_truncated_jpeg_gives_at_most_a_partial_frame(tmp_path):
    path = write(tmp_path / "cut.jpg", _truncated_jpeg())
    image = load_image(path)
    assert image is None or image.shape == (480, 640)


def test_load_image_of_a_missing_file_is_none(tmp_path):
    assert load_image(tmp_path / "nope.png") is None


def test_video_camera_plays_a_file_once(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 240))
    for value in (10, 60, 110, 160, 210):
        writer.write(np.full((240, 320, 3), value, np.uint8))
    writer.release()
    camera = VideoCamera(path, realtime=False)
    values = []
    while (frame := camera.read(0.1)) is not None:
        assert frame.jpeg is not None  # MJPEG: the JPEG as it is, decoded (in grey) only when asked
        assert frame.preview().shape == (30, 40)
        values.append(int(frame.image[0, 0]))
    assert [round(v, -1) for v in values] == [10, 60, 110, 160, 210]
    assert camera.finished and camera.read(0.01) is None


@pytest.mark.parametrize(
    ("spec", "kind", "description"),
    [
        ("none", NoCamera, "none (KERYU_CAMERA=none)"),
        ("dir:{tmp}", DirCamera, "dir:{tmp}"),
    ],
)
def test_open_camera_builds_the_named_source(tmp_path, spec, kind, description):
    camera = open_camera(spec.format(tmp=tmp_path))
    assert isinstance(camera, kind)
    assert camera.description == description.format(tmp=tmp_path)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("opencv:57", "cannot be opened"),
        ("video:/nonexistent/clip.mp4", "does not exist"),
        ("picamera2", "picamera2|Pi camera"),
    ],
)
def test_open_camera_reports_a_missing_device_as_a_camera_error(spec, message):
    with pytest.raises(CameraError, match=message):
        open_camera(spec)


@pytest.mark.parametrize("spec", ["webcam", "opencv:x", "dir:", ""])
def test_open_camera_refuses_an_unknown_spec(spec):
    with pytest.raises(ValueError, match="KERYU_CAMERA"):
        open_camera(spec)


def test_auto_without_any_camera_is_no_camera_with_a_reason():
    if list(Path("/dev").glob("video*")):
        pytest.skip("this machine has a V4L2 device")
    camera = open_camera("auto")
    assert camera.available is False
    assert "no camera found" in camera.description
