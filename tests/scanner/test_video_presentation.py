"""In real time through a `video:` camera: a card held for 10 s, taken away, shown again, is one alarm."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory
from sqlalchemy import select

from appliance.feedback import GpioFeedback
from appliance.scanner.frames import FrameHandler
from appliance.scanner.loop import ScannerLoop
from appliance.scanner.runner import run_loop
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.models import Alarm, ScanEvent
from tests.scanner.conftest import card_frame, scene

pytestmark = pytest.mark.integration

FPS = 15


def write_video(path, segments: list[tuple[np.ndarray | None, float]]) -> float:
    """A 1280x720 MJPEG clip: each segment shows a frame (None: the empty scene) for some seconds, with noise."""
    rng = np.random.default_rng(5)
    empty = scene()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (1280, 720))
    total = 0.0
    for image, seconds in segments:
        base = (empty if image is None else image).astype(np.float32)
        for i in range(round(seconds * FPS)):
            shifted = np.roll(base, shift=int(2 * np.sin(i / 3)), axis=1)  # a hand is never still
            writer.write(np.clip(shifted + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8))
        total += seconds
    writer.release()
    return total


def test_a_card_held_ten_seconds_then_shown_again_within_the_cooldown(kiosk, tmp_path):
    uuid = add_subject(kiosk, SubjectInput(name="Ana", phone="+5215512345678")).uuid
    held = card_frame(f"http://keryu.local/scan/{uuid}", module_px=4)
    clip = tmp_path / "clip.avi"
    length = write_video(clip, [(None, 1), (held, 10), (None, 3), (held, 2), (None, 1)])
    pins = MockFactory()
    feedback = GpioFeedback(17, 27, 22, pin_factory=pins)
    frames = FrameHandler(kiosk, feedback, decoder="auto", submit=lambda result: None)
    loop = ScannerLoop(kiosk, frames, camera_spec=f"video:{clip}", notify=lambda message: None)
    stop = threading.Event()
    thread = threading.Thread(target=run_loop, args=(loop, stop))
    thread.start()
    try:
        deadline = time.monotonic() + length + 20
        while frames.frames < length * FPS and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(10)
        loop.close()
        feedback.close()
    assert frames.frames == round(length * FPS)
    assert frames.decoded < frames.frames / 2  # the change gate skipped most of a still card
    with kiosk.store.read() as session:
        alarms = session.scalars(select(Alarm)).all()
        outcomes = [e.outcome for e in session.scalars(select(ScanEvent).order_by(ScanEvent.id))]
    assert len(alarms) == 1
    assert outcomes == ["accepted", "duplicate"]
