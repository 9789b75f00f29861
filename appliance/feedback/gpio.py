"""gpiozero LEDs and an active buzzer, driven by one thread so that the frame loop never waits.

Off the Pi (no GPIO chip, or `GPIOZERO_PIN_FACTORY=mock`) gpiozero's MockFactory stands in: the
same code runs and the pins record their history, which the tests assert.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections import deque
from importlib.metadata import entry_points

from gpiozero import LED, Buzzer, Device
from gpiozero.exc import BadPinFactory, GPIOZeroError
from gpiozero.pins.mock import MockFactory

from appliance.config import Settings
from appliance.feedback.base import IDLE, PATTERNS, Mood, Signal, Step

logger = logging.getLogger(__name__)

MAX_QUEUED = 4  # scans waiting for their pattern; older ones are dropped rather than lag behind


class GpioFeedback:
    """Green LED, red LED and buzzer on BCM pins; one background thread plays every pattern."""

    def __init__(self, green_pin: int, red_pin: int, buzzer_pin: int, *, pin_factory=None):
        self.simulated = isinstance(pin_factory, MockFactory)
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


def _pin_factory(settings: Settings):
    """gpiozero's factory for this machine, or MockFactory (said once in the log) when it has no GPIO."""
    name = (settings.gpiozero_pin_factory or "").strip()
    if name.lower() == "mock":
        return MockFactory()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gpiozero warns for each factory it falls back from
            if name:
                matches = [ep for ep in entry_points(group="gpiozero_pin_factories") if ep.name in (name, name.lower())]
                if not matches:
                    raise BadPinFactory(f"GPIOZERO_PIN_FACTORY={name} is not a gpiozero pin factory")
                return matches[0].load()()
            return Device._default_pin_factory()
    except Exception as exc:  # each factory fails in its own way off a Pi
        logger.warning("No GPIO on this machine (%s); LED and buzzer are simulated", exc)
        return MockFactory()


def make_feedback(settings: Settings, *, pin_factory=None) -> GpioFeedback:
    """The kiosk's feedback on the contract's pins (KERYU_LED_GREEN_PIN, KERYU_LED_RED_PIN, KERYU_BUZZER_PIN)."""
    factory = pin_factory if pin_factory is not None else _pin_factory(settings)
    return GpioFeedback(settings.led_green_pin, settings.led_red_pin, settings.buzzer_pin, pin_factory=factory)
