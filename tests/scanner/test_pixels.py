"""JPEG frames in grey, as a webcam's MJPEG hands them over, decoded without OpenCV (simplejpeg, Pillow)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import simplejpeg

from appliance.scanner import pixels


def scene() -> np.ndarray:
    rng = np.random.default_rng(7)
    colour = rng.integers(0, 4, (1080, 1920, 3), dtype=np.uint8) * 64
    return cv2.GaussianBlur(colour, (31, 31), 0)


def without_huffman_tables(jpeg: bytes) -> bytes:
    """The JPEG as most webcams send MJPEG: its DHT segments left out (the standard tables are implied)."""
    kept, at = bytearray(jpeg[:2]), 2
    while jpeg[at + 1] != 0xDA:  # up to the start of scan, segment by segment
        length = int.from_bytes(jpeg[at + 2 : at + 4], "big")
        if jpeg[at + 1] != 0xC4:
            kept += jpeg[at : at + 2 + length]
        at += 2 + length
    return bytes(kept + jpeg[at:])


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    return cv2.imencode(".jpg", scene(), [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes()


def test_a_jpeg_decodes_to_the_grey_opencv_gives(jpeg):
    grey = pixels.decode_jpeg(jpeg, "f")
    assert grey.shape == (1080, 1920) and grey.dtype == np.uint8
    assert np.array_equal(grey, cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE))


def test_the_reduced_decode_is_an_eighth_each_way_like_opencvs(jpeg):
    small = pixels.decode_jpeg(jpeg, "f", reduce=8)
    assert np.array_equal(small, cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8))


def test_a_webcam_frame_without_huffman_tables_reads_the_same(jpeg):
    bare = without_huffman_tables(jpeg)
    assert b"\xff\xc4" not in bare[: bare.index(b"\xff\xda")]
    assert np.array_equal(pixels.decode_jpeg(bare, "f"), pixels.decode_jpeg(jpeg, "f"))


def with_stray_bytes_after_the_first_segment(jpeg: bytes) -> bytes:
    """The JPEG with two stray bytes before its second segment, which libjpeg warns about and reads."""
    second = 4 + int.from_bytes(jpeg[4:6], "big")
    return jpeg[:second] + b"\x00\x00" + jpeg[second:]


def test_a_frame_libjpeg_only_warns_about_still_decodes_the_same(jpeg):
    odd = with_stray_bytes_after_the_first_segment(jpeg)
    with pytest.raises(ValueError, match="extraneous bytes"):  # the fast decoder stops at the warning
        simplejpeg.decode_jpeg(odd, colorspace="GRAY")
    assert np.array_equal(pixels.decode_jpeg(odd, "f"), pixels.decode_jpeg(jpeg, "f"))
    assert np.array_equal(pixels.decode_jpeg(odd, "f", reduce=8), pixels.decode_jpeg(jpeg, "f", reduce=8))


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "nothing"),
        (b"\xff\xd8\xff\xe0" + bytes(40), "a JPEG start and zeros"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "another format"),
    ],
)
def test_what_is_not_a_jpeg_is_a_value_error_naming_the_frame(data, why):
    with pytest.raises(ValueError, match="frame f7 is not a readable JPEG"):
        pixels.decode_jpeg(data, "f7")


def test_a_frame_cut_short_on_the_wire_is_a_value_error(jpeg):
    with pytest.raises(ValueError, match="not a readable JPEG"):
        pixels.decode_jpeg(jpeg[: len(jpeg) // 2], "f")


def test_halving_a_grey_frame_averages_each_2x2_block_and_drops_an_odd_edge():
    grey = np.array([[0, 2, 9], [1, 3, 9], [9, 9, 9]], np.uint8)  # the odd last row and column go
    assert pixels.halve(grey).tolist() == [[2]]  # (0 + 2 + 1 + 3) / 4 = 1.5, rounded up
    frame = np.random.default_rng(3).integers(0, 256, (90, 160), dtype=np.uint8)
    expected = frame.reshape(45, 2, 80, 2).astype(np.float64).mean(axis=(1, 3))
    assert np.abs(pixels.halve(frame) - expected).max() <= 0.5
