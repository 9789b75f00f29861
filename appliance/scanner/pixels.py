"""Pixel work the scanner does on every camera: grey conversion, shrinking, JPEG in and out.

Pillow, simplejpeg (JPEG frames in) and NumPy, not OpenCV: OpenCV costs the scanner about
17 MiB of RSS, which a 512 MB Pi Zero 2 W feels (bench/README.md, "Memory"); it is loaded only
by `video:` (which reads files through it) and by the `opencv` decoder. The results are OpenCV's:
grey is ITU-R 601 luma (what `COLOR_BGR2GRAY` computes), shrinking averages areas (`INTER_AREA`).
"""

from __future__ import annotations

import io

import numpy as np
import simplejpeg
from PIL import Image, ImageOps

_RAW_MODES = {3: ("RGB", "BGR"), 4: ("RGBA", "BGRA")}  # camera frames are OpenCV's BGR(A)


def _image(frame: np.ndarray) -> Image.Image:
    """A Pillow image of an 8-bit grey, BGR or BGRA frame (ValueError for anything else)."""
    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    if frame.ndim == 2:
        return Image.frombuffer("L", (width, height), frame, "raw", "L", 0, 1)
    if frame.ndim == 3 and frame.shape[2] == 1:
        return _image(frame[:, :, 0])
    if frame.ndim == 3 and frame.shape[2] in _RAW_MODES:
        mode, raw = _RAW_MODES[frame.shape[2]]
        return Image.frombuffer(mode, (width, height), frame, "raw", raw, 0, 1)
    raise ValueError(f"not a grey, BGR or BGRA frame: shape {frame.shape}")


def grey(frame: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """The frame in 8-bit grey, shrunk to `size` (width, height) by area averaging when given."""
    if frame.ndim == 2 and size is None:
        return frame
    image = _image(frame)
    if size is not None and size != image.size:
        # Colour first: fewer pixels to convert. A reducing gap of 3 halves the time of a 1080p frame's
        # 64x36 thumbnail (0.7 ms, was 1.4) for at most one grey level of difference.
        image = image.resize(size, Image.Resampling.BOX, reducing_gap=3.0)
    return np.array(image.convert("L"))


def halve(grey: np.ndarray) -> np.ndarray:
    """A grey frame at half its size each way: each 2x2 block's mean, rounded (an odd last row or column left out).

    NumPy rather than Pillow for the small frames the change gate halves (a JPEG's 1/8 preview):
    Pillow's calls around its resize cost more than the work (bench/README.md, "Scanner").
    """
    height, width = grey.shape[0] // 2 * 2, grey.shape[1] // 2 * 2
    sums = grey[0:height:2, 0:width:2].astype(np.uint16)
    sums += grey[1:height:2, 0:width:2]
    sums += grey[0:height:2, 1:width:2]
    sums += grey[1:height:2, 1:width:2]
    return ((sums + 2) >> 2).astype(np.uint8)


def read_grey(path) -> np.ndarray:
    """An image file as an 8-bit grey array (turned as its EXIF says); OSError/ValueError when unreadable."""
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode.startswith("I"):  # 16- or 32-bit grey (e.g. a 16-bit PNG): keep the top 8 bits
            return (np.asarray(image, dtype=np.uint32) >> 8).clip(0, 255).astype(np.uint8)
        return np.array(image.convert("L"))


def decode_jpeg(data: bytes, name: str, *, reduce: int = 1) -> np.ndarray:
    """A JPEG frame in grey, `reduce` (1, 2, 4 or 8) times smaller each way; ValueError when unreadable.

    The reduction happens inside the decoder (libjpeg's DCT scaling), so a frame decoded at 1/8
    costs a fraction of a whole one. simplejpeg (libjpeg-turbo's TurboJPEG API) decodes a frame
    in 15-25 % less time than Pillow (bench/README.md, "Scanner"), and at 15 frames/s the 1/8
    decode is the largest part of the scanner's CPU. It stops at libjpeg's first warning, so a
    frame it refuses goes to Pillow, which reads what libjpeg only warns about (stray bytes
    between segments) and refuses a frame cut short. The Huffman tables that webcams' MJPEG
    frames leave out are libjpeg-turbo's defaults in both (tests/scanner/test_pixels.py).
    """
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)  # about 2 us
        grey = simplejpeg.decode_jpeg(data, colorspace="GRAY", min_height=height // reduce, min_width=width // reduce)
        return grey[:, :, 0]
    except ValueError:
        return _decode_jpeg_leniently(data, name, reduce)


def _decode_jpeg_leniently(data: bytes, name: str, reduce: int) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG",)) as image:
            width, height = image.size
            image.draft("L", (width // reduce, height // reduce))  # grey straight out of the decoder
            return np.array(image if image.mode == "L" else image.convert("L"))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"frame {name} is not a readable JPEG ({exc})") from exc


def encode_jpeg(frame: np.ndarray, quality: int, width: int | None = None) -> bytes:
    """A JPEG of a grey or BGR frame, shrunk to `width` (by area averaging) when wider."""
    image = _image(frame)
    if width and image.width > width:
        image = image.resize((width, max(1, round(image.height * width / image.width))), Image.Resampling.BOX)
    out = io.BytesIO()
    image.convert("L" if image.mode == "L" else "RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()
