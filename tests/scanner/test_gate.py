"""The change gate: unchanged frames are not decoded again; changes, new sizes and time force a decode."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from appliance.scanner.camera import Frame
from appliance.scanner.gate import ChangeGate
from tests.scanner.conftest import UNKNOWN_UUID


class Tick:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def noisy(base: np.ndarray, seed: int, sigma: float = 6.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(base + rng.normal(0, sigma, base.shape), 0, 255).astype(np.uint8)


def test_a_still_scene_with_sensor_noise_is_decoded_once_per_refresh(make_scene):
    clock = Tick()
    gate = ChangeGate(clock, refresh=1.0)
    base = make_scene().astype(np.float32)
    decided = []
    for i in range(30):  # two seconds at 15 fps
        decided.append(gate.should_decode(noisy(base, i)))
        clock.t += 1 / 15
    assert decided.count(True) == 2  # the first frame, and once after a second
    assert gate.skipped == 28


def test_a_card_coming_into_view_is_decoded_at_once(make_scene, make_card_frame):
    clock = Tick()
    gate = ChangeGate(clock)
    assert gate.should_decode(make_scene())
    clock.t += 0.05
    assert gate.should_decode(make_card_frame("4f2a9b1c-8d3e-4f5a-b6c7-d8e9f0a1b2c3"))


def test_a_slow_drift_adds_up_against_the_last_decoded_frame():
    clock = Tick()
    gate = ChangeGate(clock, threshold=2.5, refresh=1e9)
    decided = [gate.should_decode(np.full((480, 640), 100 + step, np.uint8)) for step in range(0, 10)]
    # each step changes 1 grey level: under the threshold per frame, over it after three
    assert decided == [True, False, False, True, False, False, True, False, False, True]


@pytest.mark.parametrize(
    "frame",
    [None, np.zeros((0,), np.uint8), np.zeros((10, 10), np.float32), np.zeros((4, 4, 4, 4), np.uint8)],
)
def test_frames_it_cannot_judge_are_passed_to_the_decoder(frame):
    gate = ChangeGate(Tick())
    assert gate.should_decode(frame) and gate.should_decode(frame)


def test_a_new_frame_size_is_always_decoded():
    gate = ChangeGate(Tick(), refresh=1e9)
    assert gate.should_decode(np.zeros((480, 640), np.uint8))
    assert gate.should_decode(np.zeros((720, 1280, 3), np.uint8))


def jpeg_preview(image: np.ndarray) -> np.ndarray:
    """What the gate sees of a webcam's MJPEG frame: the JPEG decoded at 1/8 scale."""
    jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
    return Frame(None, "frame", 0.0, jpeg=jpeg).preview()


@pytest.mark.parametrize("module_px", [2, 3])
@pytest.mark.parametrize("as_jpeg", [False, True], ids=["pixels", "jpeg-preview"])
def test_a_card_at_the_distance_the_kiosk_is_placed_for_is_decoded_on_the_frame_it_appears_in(
    make_scene, make_card_frame, module_px, as_jpeg
):
    # A 3 px/module card is about a hundredth of a 720p frame: over the whole frame its change is
    # under the threshold, within its cell of the grid far over it.
    seen = jpeg_preview if as_jpeg else (lambda image: image)
    gate = ChangeGate(Tick(), refresh=1e9)
    assert gate.should_decode(seen(make_scene()))
    assert not gate.should_decode(seen(make_scene()))
    assert gate.should_decode(seen(make_card_frame(UNKNOWN_UUID, module_px=module_px)))


@pytest.mark.parametrize("sigma", [3.0, 16.0])
def test_sensor_noise_in_a_jpeg_preview_is_not_a_change(make_scene, sigma):
    gate = ChangeGate(Tick(), refresh=1e9)
    base = make_scene().astype(np.float32)
    decided = [gate.should_decode(jpeg_preview(noisy(base, seed, sigma))) for seed in range(20)]
    assert decided == [True] + [False] * 19


def test_the_default_refresh_decodes_a_still_scene_every_two_seconds():
    clock = Tick()
    gate = ChangeGate(clock)
    decided = []
    for frame in range(61):  # four seconds at 15 fps
        clock.t = frame / 15
        decided.append(gate.should_decode(np.full((90, 160), 128, np.uint8)))
    assert [i for i, d in enumerate(decided) if d] == [0, 30, 60]


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (3, 2), (5, 400)])
def test_frames_of_any_size_are_judged(shape):
    gate = ChangeGate(Tick(), refresh=1e9)
    frame = np.full(shape, 50, np.uint8)
    assert gate.should_decode(frame)
    assert not gate.should_decode(frame.copy())
    assert gate.should_decode(frame + 40)


def test_a_camera_s_on_screen_clock_is_decoded_now_and_then_not_every_frame():
    # vivid, the kernel's test webcam, writes a frame counter and the time over its picture, as
    # some cameras do: a small change in one cell every frame, well under a card's, that adds up
    # against the last decoded frame only every several frames.
    bars = np.repeat(np.array([235, 210, 170, 145, 106, 81, 41, 16], np.uint8), 240)[None, :].repeat(1080, axis=0)
    gate = ChangeGate(Tick(), refresh=1e9)
    decided = []
    for frame in range(1000, 1015):
        image = bars.copy()
        for line in range(3):
            text = f"Frame {frame:06d} Time 12:34:{frame % 60:02d}.{frame % 1000:03d}"
            cv2.putText(image, text, (16, 30 + 60 * line), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 20, 2)
        decided.append(gate.should_decode(image))
    assert decided[0] and decided.count(True) <= 3
