"""Pixels per module of the QR codes in a frame: how an owner knows the camera is placed well.

A card reads reliably from about 2 pixels per QR module up (desk.READS_RELIABLY_FROM); fewer means the
card is too far or the camera's resolution too low. zxing-cpp gives each code's four outer
corners and its version (module count 17 + 4 x version), so the module size is the mean edge
length over the module count, whatever the card's tilt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import zxingcpp


@dataclass(frozen=True)
class CodeSize:
    """One decoded QR code: its text, its size in modules and in pixels per module."""

    text: str
    modules: int
    pixels_per_module: float


def modules_of(version: int) -> int:
    """Modules on a side of a QR code of `version` (1-40)."""
    return 17 + 4 * version


def edge_mean(corners: list[tuple[float, float]]) -> float:
    """The mean length of the four edges of a quadrilateral given corner by corner."""
    edges = [math.dist(corners[i], corners[(i + 1) % 4]) for i in range(4)]
    return sum(edges) / 4


def measure_codes(grey: np.ndarray) -> list[CodeSize]:
    """Every QR code zxing-cpp decodes in `grey`, with its pixels per module."""
    sizes = []
    for result in zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormat.QRCode):
        try:
            version = int(result.extra.get("Version", ""))
        except (TypeError, ValueError):
            continue  # a Micro QR or rMQR version ("M2", "R7x43") is not a card
        p = result.position
        corners = [(c.x, c.y) for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)]
        modules = modules_of(version)
        sizes.append(CodeSize(result.text, modules, edge_mean(corners) / modules))
    return sizes
