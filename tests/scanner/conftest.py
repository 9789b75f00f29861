"""Frames for scanner tests, made here with qrcode and OpenCV (the corpus's real photos stay in ../shared)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import qrcode

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def qr_image(text: str, module_px: int = 6, *, border: int = 4) -> np.ndarray:
    """A black-on-white QR code as a grey array, `module_px` pixels per module."""
    code = qrcode.QRCode(border=border, box_size=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    matrix = np.array(code.get_matrix(), dtype=np.uint8)
    grey = np.where(matrix, 0, 255).astype(np.uint8)
    return cv2.resize(grey, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)


def scene(width: int = 1280, height: int = 720, *, seed: int = 1) -> np.ndarray:
    """A cluttered BGR background: smooth gradients, blobs and sensor noise."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    base = (90 + 60 * np.sin(xs / 97.0) + 40 * np.cos(ys / 53.0)).astype(np.float32)
    frame = np.dstack([base, base * 0.9 + 10, base * 0.8 + 20])
    for _ in range(12):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.circle(frame, centre, int(rng.integers(10, 80)), colour, -1)
    frame += rng.normal(0, 4, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def card_frame(*texts: str, width: int = 1280, height: int = 720, module_px: int = 6, seed: int = 1) -> np.ndarray:
    """A BGR frame with one printed card per text laid side by side on a cluttered scene."""
    frame = scene(width, height, seed=seed)
    x = 40
    for text in texts:
        code = cv2.cvtColor(qr_image(text, module_px), cv2.COLOR_GRAY2BGR)
        h, w = code.shape[:2]
        y = (height - h) // 2
        frame[y : y + h, x : x + w] = code
        x += w + 40
    return frame


@pytest.fixture
def make_card_frame() -> Callable[..., np.ndarray]:
    return card_frame


@pytest.fixture
def make_scene() -> Callable[..., np.ndarray]:
    return scene


@pytest.fixture(scope="session")
def corpus() -> tuple[Path, list[dict]]:
    """The shared QR corpus (../shared/corpus), or a skip where a clone has none."""
    manifest = CORPUS / "manifest.json"
    if not manifest.exists():
        pytest.skip(f"the shared corpus is not at {CORPUS} (only the team's checkout has it)")
    return CORPUS, json.loads(manifest.read_text())["entries"]
