"""The scanner service: camera frames become alarms, with LED and buzzer feedback.

Per frame: skip it if nothing changed, decode, turn payloads into presentations (debounce),
commit each new scan (`record_scan`), give feedback, then hand accepted alarms to a queueing
thread so a dead Redis never stalls frames (the outbox sweeper covers what it cannot queue).
A camera that fails is reopened with backoff; the loop never exits because of a camera.
systemd hears READY once the loop runs, WATCHDOG while it keeps running, STOPPING on SIGTERM.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from datetime import datetime
from typing import Any

import numpy as np
import sdnotify

from appliance.feedback import Feedback, Mood, Signal, make_feedback
from appliance.payload import ForeignPayload, parse_payload
from appliance.scanner.camera import Frame, FrameSource, open_camera
from appliance.scanner.debounce import Debouncer, Verdict
from appliance.scanner.decode import make_decoder
from appliance.scanner.gate import ChangeGate
from appliance.services import scan_log, scans
from appliance.services.kiosk import Kiosk
from appliance.services.scanner_status import write_scanner_status
from appliance.services.scans import ScanResult, ScanSource

logger = logging.getLogger(__name__)

READ_TIMEOUT = 0.5  # longest a camera read may wait, so the loop ticks at least twice a second
HEARTBEAT_EVERY = 2.0
WATCHDOG_EVERY = 1.0
HEALTH_EVERY = 30.0
REPROBE_EVERY = 30.0  # `auto` found no camera: look again this often (a camera may be plugged in)
BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
STREAMING_WINDOW = 5.0  # a frame within this many seconds means "streaming"
DB_RETRY_AFTER = 1.0  # after a failed database write, the next scan is tried this much later


class Dispatcher:
    """Queues accepted alarms on a thread of its own; the frame loop only drops ids in."""

    def __init__(self, kiosk: Kiosk):
        self._kiosk = kiosk
        self._queue: queue.Queue[ScanResult | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="dispatch", daemon=True)
        self._thread.start()

    def submit(self, result: ScanResult) -> None:
        self._queue.put(result)

    def close(self, timeout: float = 5.0) -> None:
        """Queue what is waiting (up to `timeout`); anything left is PENDING in the database for the sweeper."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (result := self._queue.get()) is not None:
            try:
                scans.dispatch(self._kiosk, result)
            except Exception:
                logger.exception("Alarm %s not queued; the outbox sweeper will send it", result.alarm_id)


class KioskHealth:
    """Checks database, Redis and worker now and then (on its own thread) and sets the idle LED pattern."""

    def __init__(self, kiosk: Kiosk, feedback: Feedback, every: float = HEALTH_EVERY):
        self._kiosk, self._feedback, self._every = kiosk, feedback, every
        self._stop = threading.Event()
        self.problems: list[str] = []
        self._thread = threading.Thread(target=self._run, name="kiosk-health", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from appliance.services.health import check_database, check_redis, check_worker

        while not self._stop.is_set():
            checks = {"database": check_database, "redis": check_redis, "worker": check_worker}
            problems = []
            for name, check in checks.items():
                try:
                    if check(self._kiosk).get("status") == "down":
                        problems.append(name)
                except Exception as exc:
                    logger.debug("Health check %s failed: %s", name, exc)
                    problems.append(name)
            if problems and problems != self.problems:
                logger.warning("Kiosk degraded: %s unreachable", ", ".join(problems))
            elif not problems and self.problems:
                logger.info("Kiosk ready again: database, Redis and worker answer")
            self.problems = problems
            self._feedback.set_mood(Mood.DEGRADED if problems else Mood.READY)
            self._stop.wait(self._every)

    def close(self) -> None:
        self._stop.set()


def card_key(payload: str) -> str:
    """What identifies a code across frames: the card UUID, else the text itself."""
    try:
        return parse_payload(payload)
    except ForeignPayload:
        return "text:" + payload[:200]


class Scanner:
    """The frame loop and the decode-and-act path, with its collaborators passed in."""

    def __init__(
        self,
        kiosk: Kiosk,
        feedback: Feedback,
        *,
        camera_spec: str | None = None,
        decoder: str | None = None,
        notifier: sdnotify.SystemdNotifier | None = None,
    ):
        self.kiosk = kiosk
        self.feedback = feedback
        self.camera_spec = camera_spec or kiosk.settings.camera
        self.decoder_name = decoder or kiosk.settings.decoder
        self.decode = make_decoder(self.decoder_name)
        self.debouncer = Debouncer(kiosk.settings.scan_cooldown, kiosk.clock.monotonic)
        self.gate = ChangeGate(kiosk.clock.monotonic)
        self.dispatcher = Dispatcher(kiosk)
        self.notifier = notifier or sdnotify.SystemdNotifier()
        self.camera: FrameSource | None = None
        self.state, self.detail = "starting", ""
        self.frames = self.decoded = 0
        self.last_frame_at: datetime | None = None
        self._last_frame_mono = float("-inf")
        self._last_payloads: list[str] = []
        self._ready = False
        self._hold_until = float("-inf")
        self._attempt, self._next_open = 0, 0.0
        self._next_heartbeat = self._next_watchdog = 0.0

    # --- the decode-and-act path ------------------------------------------------------------

    def handle_frame(self, frame: Frame) -> list[ScanResult]:
        """Decode a frame (unless it shows nothing new) and act on the presentations that start in it."""
        self.frames += 1
        self.last_frame_at = self.kiosk.clock.now()
        self._last_frame_mono = time.monotonic()
        if self.gate.should_decode(frame.image):
            self.decoded += 1
            self._last_payloads = self.decode(frame.image)
        return self.act(self._last_payloads)

    def act(self, payloads: list[str]) -> list[ScanResult]:
        """Record each presentation that starts now, give its feedback, queue accepted alarms."""
        if self.kiosk.clock.monotonic() < self._hold_until:
            return []  # the database just failed: give it a moment instead of failing every frame
        by_key = {card_key(p): p for p in payloads}
        results = []
        started = self.debouncer.observe(by_key)
        for index, presentation in enumerate(started):
            key = presentation.key
            try:
                if presentation.verdict is Verdict.REPEAT:
                    result = scans.record_duplicate(self.kiosk, key, ScanSource.CAMERA)
                else:
                    result = scans.record_scan(self.kiosk, by_key[key], ScanSource.CAMERA)
            except Exception:
                logger.exception("Scan of %s could not be recorded; it is tried again in a second", key[:60])
                for unrecorded in started[index:]:  # so they start again once the database answers
                    self.debouncer.forget(unrecorded.key)
                self.feedback.signal(Signal.REJECTED)
                self._hold_until = self.kiosk.clock.monotonic() + DB_RETRY_AFTER
                break
            if result.accepted:
                self.debouncer.fired(key)
                self.feedback.signal(Signal.ACCEPTED)
                self.dispatcher.submit(result)
            else:
                self.feedback.signal(Signal.REPEAT if presentation.verdict is Verdict.REPEAT else Signal.REJECTED)
            results.append(result)
        return results

    # --- the loop ---------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load the decoder and the database path once, so the first card is as quick as the next."""
        self.decode(np.zeros((720, 1280), np.uint8))
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

    def run(self, stop: threading.Event) -> None:
        """Read frames until `stop` is set, keeping the camera open, the heartbeat fresh and systemd told."""
        self.warm_up()
        while not stop.is_set():
            try:
                self._turn(stop)
            except Exception:  # a bug must cost one turn of the loop, never the scanner
                logger.exception("Scanner loop error; going on")
                stop.wait(READ_TIMEOUT)
            self._tick()

    def _turn(self, stop: threading.Event) -> None:
        """One turn: open the camera when due, or read and handle one frame."""
        now = time.monotonic()
        if self.camera is None:
            if now >= self._next_open:
                self._open_camera()
            else:
                stop.wait(min(READ_TIMEOUT, self._next_open - now))
        elif not self.camera.available and self.camera_spec == "auto" and now >= self._next_open:
            self._close_camera()  # look for a camera again
        else:
            self._read_once()

    def _open_camera(self) -> None:
        try:
            self.camera = open_camera(self.camera_spec)
        except Exception as exc:  # CameraError, or a driver's own exception
            self._camera_failed(str(exc))
            return
        if self.camera.available:
            self._set_state("watching", self.camera.description)
        else:
            self._set_state("no_camera", self.camera.description)
            self._next_open = time.monotonic() + REPROBE_EVERY
        logger.info("Camera: %s", self.camera.description)

    def _camera_failed(self, reason: str) -> None:
        """Close the camera and schedule the next try with backoff (reset only once frames flow)."""
        self._close_camera()
        self._attempt += 1
        self._next_open = time.monotonic() + BACKOFF[min(self._attempt, len(BACKOFF)) - 1]
        self._set_state("camera_error", reason)

    def _read_once(self) -> None:
        assert self.camera is not None
        try:
            frame = self.camera.read(READ_TIMEOUT)
        except Exception as exc:  # CameraError, or a driver's own exception
            self._camera_failed(str(exc))
            return
        if frame is None:
            if self.state == "streaming" and time.monotonic() - self._last_frame_mono > STREAMING_WINDOW:
                self._set_state("watching", self.camera.description)
            return
        self._attempt = 0
        if self.state != "streaming":
            self._set_state("streaming", self.camera.description)
        try:
            self.handle_frame(frame)
        except Exception:  # a frame must never stop the loop
            logger.exception("Frame %s could not be processed", frame.name)

    def _close_camera(self) -> None:
        if self.camera is not None:
            try:
                self.camera.close()
            except Exception as exc:
                logger.debug("Closing the camera: %s", exc)
            self.camera = None

    def _set_state(self, state: str, detail: str) -> None:
        if (state, detail) != (self.state, self.detail):
            log = logger.warning if state == "camera_error" else logger.info
            log("Scanner %s: %s", state.replace("_", " "), detail)
        self.state, self.detail = state, detail

    def _tick(self) -> None:
        """Once per loop turn: READY the first time, WATCHDOG and the heartbeat file at their pace."""
        now = time.monotonic()
        if not self._ready:
            self._ready = True
            self.notifier.notify(f"READY=1\nSTATUS={self.state}: {self.detail}")
            logger.info("Scanner running (camera %s, decoder %s)", self.camera_spec, self.decoder_name)
        if now >= self._next_watchdog:
            self._next_watchdog = now + WATCHDOG_EVERY
            self.notifier.notify(f"WATCHDOG=1\nSTATUS={self.state}: {self.detail}")
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + HEARTBEAT_EVERY
            self.write_heartbeat()

    def write_heartbeat(self) -> None:
        try:
            write_scanner_status(self.kiosk.settings, self.status())
        except OSError as exc:
            logger.warning("Scanner heartbeat not written: %s", exc)

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "detail": self.detail,
            "camera": self.camera.description if self.camera else self.camera_spec,
            "decoder": self.decoder_name,
            "frames": self.frames,
            "frames_decoded": self.decoded,
            "last_frame_at": self.last_frame_at.isoformat() if self.last_frame_at else None,
            "feedback": "simulated" if self.feedback.simulated else "gpio",
        }

    def close(self) -> None:
        """Stop cleanly: tell systemd, queue what is waiting, release the camera, leave a last heartbeat."""
        self.notifier.notify("STOPPING=1")
        self.dispatcher.close()
        self._close_camera()
        self.state, self.detail = "stopped", "scanner stopped"
        self.write_heartbeat()


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def _handler(signum: int, _frame: object) -> None:
        logger.info("Scanner stopping (%s)", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    return stop


def main(kiosk: Kiosk, *, camera_spec: str | None = None, decoder: str | None = None) -> int:
    """`keryu scanner`: the service in the foreground, as keryu-scanner.service runs it."""
    feedback = make_feedback(kiosk.settings)
    scanner = Scanner(kiosk, feedback, camera_spec=camera_spec, decoder=decoder)
    health = KioskHealth(kiosk, feedback)
    stop = _stop_on_signals()
    try:
        scanner.run(stop)
    finally:
        health.close()
        scanner.close()
        feedback.close()
    return 0
