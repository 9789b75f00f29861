"""Frames for scanner tests, made here with qrcode and OpenCV (the corpus's real photos stay in ../shared)."""

from __future__ import annotations

import dataclasses
import json
import os
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np
import pytest
import qrcode

from appliance.feedback import Mood, Signal
from appliance.scanner.camera import CameraError, Frame
from appliance.scanner.frames import FrameHandler
from appliance.services.kiosk import Kiosk
from appliance.services.subjects import SubjectInput, add_subject
from tests.fakes import FakeClock

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
UNKNOWN_UUID = "4f2a9b1c-8d3e-4f5a-b6c7-d8e9f0a1b2c3"


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


def hostile_files(tmp: Path) -> dict[str, bytes]:
    """Files that must raise no alarm and not disturb the loop: junk, a 20 MP photo, hostile QR codes."""
    rng = np.random.default_rng(7)
    jpeg = cv2.imencode(".jpg", card_frame(UNKNOWN_UUID))[1].tobytes()
    big = cv2.resize(scene(640, 480), (5472, 3648), interpolation=cv2.INTER_NEAREST)
    qr = {
        "sql": "'; DROP TABLE alarms; --",
        "html": "<script>alert('x')</script><img src=x onerror=alert(1)>",
        "long": "http://keryu.local/scan/" + "a" * 1500,
        "dotdot": f"http://keryu.local/scan/../scan/{UNKNOWN_UUID}",
        "nul": f"http://keryu.local/scan/{UNKNOWN_UUID}%00.png",
        "wifi": "WIFI:S:Home;T:WPA;P:secret;;",
    }
    files = {
        "01-random.jpg": os.urandom(50_000),
        "02-truncated.jpg": jpeg[: len(jpeg) // 2],
        "03-20mp.jpg": cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes(),
        "04-noise.png": cv2.imencode(".png", rng.integers(0, 256, (480, 640), dtype=np.uint8))[1].tobytes(),
    }
    for i, (name, text) in enumerate(qr.items()):
        image = qr_image(text, module_px=3 if name == "long" else 6)
        files[f"{10 + i}-qr-{name}.png"] = cv2.imencode(".png", image)[1].tobytes()
    return files


# --- the frame loop's collaborators ----------------------------------------------------------


class FeedbackLog:
    """A `Feedback` that notes what it was asked to show (the pin patterns are tested in tests/feedback)."""

    simulated = True
    problem: str | None = None

    def __init__(self) -> None:
        self.signals: list[Signal] = []
        self.moods: list[Mood] = []

    def signal(self, signal: Signal) -> None:
        self.signals.append(signal)

    def set_mood(self, mood: Mood) -> None:
        self.moods.append(mood)

    def line(self, bcm_pin: int) -> dict[str, bool]:
        return {"real": False}

    def close(self) -> None:
        pass


class FakeCamera:
    """A `FrameSource` that hands over queued images at once, and fails when told to."""

    def __init__(self, images: Iterable[np.ndarray] = (), *, available: bool = True, description: str = "fake"):
        self.images = deque(images)
        self.available = available
        self.description = description
        self.failure: str | None = None
        self.closed = False

    def read(self, timeout: float) -> Frame | None:
        if self.failure:
            raise CameraError(self.failure)
        return Frame(self.images.popleft(), "fake frame", 0.0) if self.images else None

    def close(self) -> None:
        self.closed = True


class FakeCameras:
    """An `open_camera` that hands out `camera`, or raises CameraError while `failure` is set; notes each call."""

    def __init__(self, camera: FakeCamera | None = None):
        self.camera = camera or FakeCamera()
        self.failure: str | None = None
        self.opened: list[str] = []

    def __call__(self, spec: str) -> FakeCamera:
        self.opened.append(spec)
        if self.failure:
            raise CameraError(self.failure)
        return self.camera


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timed_kiosk(kiosk: Kiosk, clock: FakeClock) -> Kiosk:
    """The test kiosk on fake time: the frame loop, the debouncer and the records all read `clock`."""
    return dataclasses.replace(kiosk, clock=clock)


@pytest.fixture
def feedback_log() -> FeedbackLog:
    return FeedbackLog()


@pytest.fixture
def submitted() -> list:
    """Accepted scans the frame handler handed on for queueing."""
    return []


@pytest.fixture
def handler(timed_kiosk: Kiosk, feedback_log: FeedbackLog, submitted: list) -> FrameHandler:
    return FrameHandler(timed_kiosk, feedback_log, decoder="auto", submit=submitted.append)


def add_card(kiosk: Kiosk, name: str = "Ana") -> str:
    """A subject with an active card; the card's UUID."""
    return add_subject(kiosk, SubjectInput(name=name, phone="+5215512345678")).uuid
