"""QR decoding: a pure function from an image array to the texts of the QR codes in it.

Measured on ../shared/corpus (docs/scanner.md, bench/bench_decode.py): zxing-cpp with its
rotate/invert/downscale retries off reads the most and is the cheapest by far on empty
frames, which are most of what a kiosk sees. The shipped `auto` pipeline runs it first and
calls pyzbar only on a frame where zxing-cpp located a QR symbol but could not decode it
(`return_errors=True`), so an empty frame costs exactly one zxing-cpp pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import zxingcpp

from appliance.config import DECODERS
from appliance.scanner import pixels

logger = logging.getLogger(__name__)

# Frames larger than this are shrunk before decoding: 1280x720 reads a card at arm's length,
# and a 20-megapixel frame must not cost a second per decode.
MAX_DECODE_WIDTH = 1920
MAX_DECODE_HEIGHT = 1080
MAX_PAYLOAD_BYTES = 4096  # larger than any QR version 40 code; anything above is garbage


# Cards are printed as full-size QR codes (model 2). Leaving Micro QR and rMQR out saves work and
# stops finder-like patterns on walls and shirts from being "located" as tiny Micro QR symbols.
_QR_FORMATS = zxingcpp.BarcodeFormat.QRCodeModel2


Decoder = Callable[[np.ndarray], list[str]]


def to_grey(frame: np.ndarray) -> np.ndarray | None:
    """The frame as a contiguous 8-bit grey image no larger than the decode size, or None if unusable."""
    if not isinstance(frame, np.ndarray) or frame.size == 0 or frame.ndim not in (2, 3):
        return None
    if frame.dtype != np.uint8:
        if frame.dtype == np.uint16:
            frame = (frame >> 8).astype(np.uint8)
        else:
            return None
    if frame.ndim == 3 and frame.shape[2] not in (1, 3, 4):
        return None
    height, width = frame.shape[:2]
    if height < 21 or width < 21:  # smaller than one QR version 1 symbol at 1 px/module
        return None
    scale = min(MAX_DECODE_WIDTH / width, MAX_DECODE_HEIGHT / height, 1.0)
    size = (max(1, round(width * scale)), max(1, round(height * scale))) if scale < 1.0 else None
    return np.ascontiguousarray(pixels.grey(frame, size))


def _clean(texts: list[str]) -> list[str]:
    """Drop empty and oversized texts and repeats, keeping the order the decoder found them in."""
    seen: list[str] = []
    for text in texts:
        if text and len(text.encode("utf-8", "surrogatepass")) <= MAX_PAYLOAD_BYTES and text not in seen:
            seen.append(text)
    return seen


def read_zxing(grey: np.ndarray) -> list[str]:
    """zxing-cpp, one pass at the given size, QR codes only."""
    texts, _ = _zxing_pass(grey)
    return texts


def _zxing_pass(grey: np.ndarray) -> tuple[list[str], list[tuple[int, int, int, int]]]:
    """Decoded texts, and the boxes (x0, y0, x1, y1) of symbols located but not decoded."""
    results = zxingcpp.read_barcodes(
        grey,
        formats=_QR_FORMATS,
        try_rotate=False,
        try_invert=False,
        try_downscale=False,
        return_errors=True,
    )
    texts = [r.text for r in results if r.valid]
    boxes = [_box(r.position, grey.shape) for r in results if not r.valid]
    return texts, boxes


def _box(position, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The located symbol's bounding box with a quiet-zone margin of half its size, clipped to the frame."""
    corners = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    xs = [c.x for c in corners]
    ys = [c.y for c in corners]
    margin = max(max(xs) - min(xs), max(ys) - min(ys)) // 2 + 8
    height, width = shape[:2]
    x0, y0 = max(0, min(xs) - margin), max(0, min(ys) - margin)
    return x0, y0, min(width, max(xs) + margin), min(height, max(ys) + margin)


def read_pyzbar(grey: np.ndarray) -> list[str]:
    """pyzbar (libzbar), QR codes only; bytes that are not UTF-8 are decoded as Latin-1 as zbar means them."""
    from pyzbar import pyzbar

    texts = []
    for symbol in pyzbar.decode(grey, symbols=[pyzbar.ZBarSymbol.QRCODE]):
        try:
            texts.append(symbol.data.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(symbol.data.decode("latin-1"))
    return texts


_opencv_detector: Any = None  # cv2.QRCodeDetector, made on first use


def read_opencv(grey: np.ndarray) -> list[str]:
    """OpenCV's QRCodeDetector (several codes per frame); its UnicodeDecodeError on non-UTF-8 payloads means "none"."""
    import cv2  # only when this decoder is chosen (17 MiB)

    global _opencv_detector
    if _opencv_detector is None:
        _opencv_detector = cv2.QRCodeDetector()
    try:
        ok, texts, _points, _straight = _opencv_detector.detectAndDecodeMulti(grey)
    except (cv2.error, UnicodeDecodeError) as exc:
        logger.debug("OpenCV could not decode a located symbol: %s", exc)
        return []
    return [t for t in texts if t] if ok else []


def read_auto(grey: np.ndarray) -> list[str]:
    """zxing-cpp; pyzbar only around a symbol zxing-cpp located but could not read."""
    texts, boxes = _zxing_pass(grey)
    for x0, y0, x1, y1 in boxes:
        crop = grey[y0:y1, x0:x1]
        if crop.shape[0] >= 21 and crop.shape[1] >= 21:
            texts += [t for t in read_pyzbar(np.ascontiguousarray(crop)) if t not in texts]
    return texts


_READERS: dict[str, Callable[[np.ndarray], list[str]]] = {
    "auto": read_auto,
    "zxing": read_zxing,
    "pyzbar": read_pyzbar,
    "opencv": read_opencv,
}


def decode(frame: np.ndarray, decoder: str = "auto") -> list[str]:
    """The texts of the QR codes in `frame` (BGR, BGRA or grey); [] for an unusable frame."""
    grey = to_grey(frame)
    if grey is None:
        return []
    try:
        texts = _READERS[decoder](grey)
    except KeyError:
        raise ValueError(f"unknown decoder {decoder!r}; choose one of {', '.join(DECODERS)}") from None
    return _clean([t.replace("\r\n", "\n").rstrip() for t in texts])


def make_decoder(name: str = "auto") -> Decoder:
    """A one-argument decoder for the frame loop (`KERYU_DECODER`)."""
    if name not in _READERS:
        raise ValueError(f"unknown decoder {name!r}; choose one of {', '.join(DECODERS)}")

    def _decode(frame: np.ndarray) -> list[str]:
        return decode(frame, name)

    return _decode
