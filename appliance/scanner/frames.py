"""What one camera frame does: gate, decode, debounce, record each new presentation, give feedback.

Accepted alarms are handed to `submit` (the dispatcher thread in the service), so queueing them
never holds up the next frame. Time comes from the kiosk's clock alone, so tests drive it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

import numpy as np

from appliance.feedback import Feedback, Signal
from appliance.payload import ForeignPayload, parse_payload
from appliance.scanner.camera import Frame
from appliance.scanner.debounce import Debouncer, Presentation, Verdict
from appliance.scanner.decode import make_decoder
from appliance.scanner.gate import ChangeGate
from appliance.services import scan_log, scans
from appliance.services.kiosk import Kiosk
from appliance.services.scans import ScanResult, ScanSource

logger = logging.getLogger(__name__)

DB_RETRY_AFTER = 1.0  # after a failed database write, the next scan is tried this much later
WARM_UP_FRAME = (720, 1280)
UNREADABLE_LOG_EVERY = 1000


def card_key(payload: str) -> str:
    """What identifies a code across frames: the card UUID, else the text itself."""
    try:
        return parse_payload(payload)
    except ForeignPayload:
        return "text:" + payload[:200]


class FrameHandler:
    """The decode-and-act path of the frame loop, with its collaborators passed in."""

    def __init__(self, kiosk: Kiosk, feedback: Feedback, *, decoder: str, submit: Callable[[ScanResult], None]):
        self.kiosk = kiosk
        self.feedback = feedback
        self.decoder_name = decoder
        self.decode = make_decoder(decoder)
        self.submit = submit
        self.debouncer = Debouncer(kiosk.settings.scan_cooldown, kiosk.clock.monotonic)
        self.gate = ChangeGate(kiosk.clock.monotonic)
        self.frames = self.decoded = self.unreadable = 0
        self.last_frame_at: datetime | None = None
        self._last_payloads: list[str] = []
        self._hold_until = float("-inf")

    def warm_up(self) -> None:
        """Load the decoder and the database path once, so the first card is as quick as the next."""
        self.decode(np.zeros(WARM_UP_FRAME, np.uint8))
        try:
            scan_log.warm_up(self.kiosk)
            cooling = scan_log.recent_camera_alarms(self.kiosk, self.debouncer.cooldown)
        except Exception as exc:  # the database may be busy or down; the first scan will say so
            logger.warning("Scan path warm-up failed: %s", exc)
            return
        for card_uuid, seconds_ago in cooling.items():
            self.debouncer.seed(card_uuid, seconds_ago)
        if cooling:
            logger.info("%d cards alarmed in the last %g s keep their cooldown", len(cooling), self.debouncer.cooldown)

    def handle(self, frame: Frame) -> list[ScanResult]:
        """Decode a frame (unless it shows nothing new) and act on the presentations that start in it."""
        self.frames += 1
        self.last_frame_at = self.kiosk.clock.now()
        try:
            if self.gate.should_decode(frame.preview()):  # for a JPEG frame: before decoding it whole
                self.decoded += 1
                self._last_payloads = self.decode(frame.image)
        except ValueError as exc:  # a JPEG torn on the wire: the next frame comes in a fraction of a second
            self._unreadable(exc)
            return []
        return self.act(self._last_payloads)

    def _unreadable(self, problem: ValueError) -> None:
        """Count a frame that cannot be read; log the first and every UNREADABLE_LOG_EVERY-th (not 15 a second)."""
        self.unreadable += 1
        if self.unreadable == 1 or self.unreadable % UNREADABLE_LOG_EVERY == 0:
            logger.warning("%s; unreadable frames so far: %d", problem, self.unreadable)

    @property
    def last_payloads(self) -> list[str]:
        """What the last decoded frame held (an unchanged frame since keeps it)."""
        return list(self._last_payloads)

    def act(self, payloads: list[str]) -> list[ScanResult]:
        """Record each presentation that starts now, give its feedback, submit accepted alarms."""
        if self.kiosk.clock.monotonic() < self._hold_until:
            return []  # the database just failed: give it a moment instead of failing every frame
        by_key = {card_key(p): p for p in payloads}
        started = self.debouncer.observe(by_key)
        results = []
        for index, presentation in enumerate(started):
            try:
                result = self._record(presentation, by_key[presentation.key])
            except Exception:
                logger.exception("Scan of %s could not be recorded; trying again in a second", presentation.key[:60])
                for unrecorded in started[index:]:  # so they start again once the database answers
                    self.debouncer.forget(unrecorded.key)
                self.feedback.signal(Signal.REJECTED)
                self._hold_until = self.kiosk.clock.monotonic() + DB_RETRY_AFTER
                break
            if result.accepted:
                self.debouncer.fired(presentation.key)
                self.feedback.signal(Signal.ACCEPTED)
                self.submit(result)
            else:
                self.feedback.signal(Signal.REPEAT if presentation.verdict is Verdict.REPEAT else Signal.REJECTED)
            results.append(result)
        return results

    def _record(self, presentation: Presentation, payload: str) -> ScanResult:
        if presentation.verdict is Verdict.REPEAT:
            return scans.record_duplicate(self.kiosk, presentation.key, ScanSource.CAMERA)
        return scans.record_scan(self.kiosk, payload, ScanSource.CAMERA)


class Meter:
    """Frames per second and this process's CPU (% of one core) between two readings, for the heartbeat."""

    def __init__(self, monotonic: Callable[[], float]):
        self._monotonic = monotonic
        self._mark = (monotonic(), 0, time.process_time())

    def read(self, frames: int) -> tuple[float, float]:
        """(fps, cpu_percent) since the last reading; starts the next window."""
        now, cpu = self._monotonic(), time.process_time()
        started, frames_then, cpu_then = self._mark
        self._mark = (now, frames, cpu)
        span = now - started
        if span <= 0:
            return 0.0, 0.0
        return round((frames - frames_then) / span, 1), round((cpu - cpu_then) / span * 100, 1)
