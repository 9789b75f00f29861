"""gpiozero LEDs and an active buzzer, driven by one thread so that the frame loop never waits.

`appliance.feedback.pins` picks the pin factory: real lines on a Raspberry Pi, gpiozero's
MockFactory elsewhere (or with `GPIOZERO_PIN_FACTORY=mock`): the same code runs and the mock
pins record their history, which the tests assert.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from gpiozero import LED, Buzzer
from gpiozero.exc import GPIOZeroError
from gpiozero.pins.mock import MockFactory

from appliance.config import Settings
from appliance.feedback.base import IDLE, PATTERNS, Mood, Signal, Step
from appliance.feedback.pins import PinSetup, choose_pin_factory, describe_line

logger = logging.getLogger(__name__)

MAX_QUEUED = 4  # scans waiting for their pattern; older ones are dropped rather than lag behind


class GpioFeedback:
    """Green LED, red LED and buzzer on BCM pins; one background thread plays every pattern."""

    def __init__(
        self, green_pin: int, red_pin: int, buzzer_pin: int, *, pin_factory=None, setup: PinSetup | None = None
    ):
        self.simulated = isinstance(pin_factory, MockFactory)
        self.setup = setup
        # Why the pins are simulated on a Raspberry Pi (health shows it); None when that is fine.
        self.problem = setup.problem if setup is not None else None
        self._green = LED(green_pin, pin_factory=pin_factory)
        self._red = LED(red_pin, pin_factory=pin_factory)
        self._buzzer = Buzzer(buzzer_pin, pin_factory=pin_factory)
        self._queue: deque[Signal] = deque(maxlen=MAX_QUEUED)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._mood = Mood.OFF
        self._thread = threading.Thread(target=self._run, name="feedback", daemon=True)
        self._thread.start()

    def signal(self, signal: Signal) -> None:
        with self._lock:
            self._queue.append(signal)
            self._wake.set()

    def set_mood(self, mood: Mood) -> None:
        if mood is not self._mood:
            with self._lock:
                self._mood = mood
                self._wake.set()

    @property
    def mood(self) -> Mood:
        return self._mood

    def line(self, bcm_pin: int) -> dict[str, Any]:
        """Whether `bcm_pin` is a real GPIO line, and which (chip, offset), for `keryu selftest --json`."""
        if self.setup is None:
            return {"real": not self.simulated}
        return describe_line(self.setup, bcm_pin)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=2)
        for device in (self._green, self._red, self._buzzer):
            try:
                device.off()
                device.close()
            except GPIOZeroError as exc:
                logger.debug("Closing %s: %s", device, exc)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                pending = self._queue.popleft() if self._queue else None
                if pending is None:
                    self._wake.clear()
                mood = self._mood
            if pending is not None:
                self._play(PATTERNS[pending], interruptible=False)
            else:
                self._play(IDLE[mood], interruptible=True)
        self._set(Step(False, False, False, 0))

    def _play(self, steps: tuple[Step, ...], *, interruptible: bool) -> None:
        """Hold each step; an idle pattern gives way as soon as a scan or a mood change arrives."""
        for step in steps:
            self._set(step)
            waiter = self._wake if interruptible else self._stop
            if waiter.wait(step.seconds) or self._stop.is_set():
                break
        if interruptible:
            self._set(Step(False, False, False, 0))

    def _set(self, step: Step) -> None:
        try:
            for device, on in ((self._green, step.green), (self._red, step.red), (self._buzzer, step.buzzer)):
                if bool(device.value) != on:
                    device.on() if on else device.off()
        except GPIOZeroError as exc:  # a closed or failing pin must not kill the thread
            logger.warning("LED/buzzer pin error: %s", exc)


def make_feedback(settings: Settings, *, pin_factory=None) -> GpioFeedback:
    """The kiosk's feedback on the contract's pins (KERYU_LED_GREEN_PIN, KERYU_LED_RED_PIN, KERYU_BUZZER_PIN)."""
    setup = None if pin_factory is not None else choose_pin_factory(settings)
    factory = pin_factory if setup is None else setup.factory
    pins = (settings.led_green_pin, settings.led_red_pin, settings.buzzer_pin)
    return GpioFeedback(*pins, pin_factory=factory, setup=setup)
