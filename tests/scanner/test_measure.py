"""Pixels per module of a decoded card, the figure an owner places the camera by."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import qrcode

from appliance.scanner.measure import measure_codes

URL = "http://keryu.local/scan/0b8c6f4e-1f2a-4c3d-9e8f-1a2b3c4d5e6f"


def card(box: int) -> np.ndarray:
    return np.array(qrcode.make(URL, box_size=box, border=4).convert("L"))


@pytest.mark.parametrize("box", [2, 3, 5, 8])
def test_a_straight_card_measures_its_module_size(box):
    [size] = measure_codes(card(box))
    assert size.text == URL and size.modules == 33  # version 4
    assert size.pixels_per_module == pytest.approx(box, abs=0.05)


def test_a_tilted_card_on_a_larger_frame_measures_its_edge_not_its_bounding_box():
    image = card(4)
    frame = np.full((720, 1280), 255, np.uint8)
    frame[200 : 200 + image.shape[0], 500 : 500 + image.shape[1]] = image
    turn = cv2.getRotationMatrix2D((640, 360), 30, 1.0)
    rotated = cv2.warpAffine(frame, turn, (1280, 720), borderValue=255)
    [size] = measure_codes(rotated)
    assert size.pixels_per_module == pytest.approx(4.0, abs=0.15)


def test_an_empty_frame_has_no_code():
    assert measure_codes(np.full((480, 640), 128, np.uint8)) == []
