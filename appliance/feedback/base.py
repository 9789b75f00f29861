"""What the scanner tells the person at the kiosk, and the light/sound pattern of each message."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple, Protocol


class Signal(StrEnum):
    """One-off feedback for a scan."""

    ACCEPTED = "accepted"  # an alarm was recorded
    REJECTED = "rejected"  # foreign, unknown or inactive card
    REPEAT = "repeat"  # the same card again within its cooldown
    TEST_GREEN = "test_green"  # `keryu selftest`: each output on its own
    TEST_RED = "test_red"
    TEST_BUZZER = "test_buzzer"


class Mood(StrEnum):
    """What the LEDs show while nothing is being scanned."""

    OFF = "off"  # starting up
    READY = "ready"
    DEGRADED = "degraded"  # database, Redis or worker unreachable
    CONFIG_ERROR = "config_error"  # a setting is wrong: only the admin page runs, showing which


class Step(NamedTuple):
    """Pin states held for `seconds`."""

    green: bool
    red: bool
    buzzer: bool
    seconds: float


PATTERNS: dict[Signal, tuple[Step, ...]] = {
    # green for 1 s and one short beep
    Signal.ACCEPTED: (Step(True, False, True, 0.1), Step(True, False, False, 0.9), Step(False, False, False, 0)),
    # red blinks 3 times and one long beep
    Signal.REJECTED: (
        Step(False, True, True, 0.2),
        Step(False, False, True, 0.2),
        Step(False, True, True, 0.2),
        Step(False, False, False, 0.2),
        Step(False, True, False, 0.2),
        Step(False, False, False, 0.2),
    ),
    # a short green blink, no beep
    Signal.REPEAT: (Step(True, False, False, 0.15), Step(False, False, False, 0)),
    Signal.TEST_GREEN: (Step(True, False, False, 1.0), Step(False, False, False, 0.3)),
    Signal.TEST_RED: (Step(False, True, False, 1.0), Step(False, False, False, 0.3)),
    Signal.TEST_BUZZER: (Step(False, False, True, 0.5), Step(False, False, False, 0.3)),
}

IDLE: dict[Mood, tuple[Step, ...]] = {
    Mood.OFF: (Step(False, False, False, 3600),),
    # a brief green blink every 10 s
    Mood.READY: (Step(True, False, False, 0.1), Step(False, False, False, 9.9)),
    # a slow red heartbeat (two beats every 2 s)
    Mood.DEGRADED: (
        Step(False, True, False, 0.12),
        Step(False, False, False, 0.16),
        Step(False, True, False, 0.12),
        Step(False, False, False, 1.6),
    ),
    # red on for a second, then three quick red flashes: unlike any other pattern, never green
    Mood.CONFIG_ERROR: (
        Step(False, True, False, 1.0),
        Step(False, False, False, 0.3),
        Step(False, True, False, 0.1),
        Step(False, False, False, 0.2),
        Step(False, True, False, 0.1),
        Step(False, False, False, 0.2),
        Step(False, True, False, 0.1),
        Step(False, False, False, 1.5),
    ),
}


class Feedback(Protocol):
    """LEDs and buzzer; every call returns at once (patterns play on their own thread)."""

    simulated: bool  # True when no real GPIO drives the pins
    problem: str | None  # why the pins are simulated where real ones were expected (a Raspberry Pi)

    def line(self, bcm_pin: int) -> dict[str, Any]:
        """{"real": bool, ...}: the pin's gpiochip and line offset when it is a real line."""
        ...

    def signal(self, signal: Signal) -> None:
        """Play a scan's pattern (after any still playing)."""
        ...

    def set_mood(self, mood: Mood) -> None:
        """Change the idle pattern."""
        ...

    def close(self) -> None:
        """Stop patterns, switch everything off, release the pins."""
        ...
