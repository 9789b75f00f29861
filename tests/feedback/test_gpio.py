"""LED and buzzer patterns, asserted on gpiozero MockFactory pin histories."""

from __future__ import annotations

import time

from gpiozero.pins.mock import MockFactory

from appliance.config import load_settings
from appliance.feedback import GpioFeedback, Mood, Signal, make_feedback
from tests.conftest import BUZZER, GREEN, RED, wait_until


def states(pins: MockFactory, pin: int) -> list[bool]:
    return [s.state for s in pins.pin(pin).states]


def test_accepted_is_green_for_one_second_and_one_short_beep(feedback, pins):
    feedback.signal(Signal.ACCEPTED)
    wait_until(lambda: states(pins, GREEN) == [False, True, False])
    assert states(pins, BUZZER) == [False, True, False]
    assert states(pins, RED) == [False]
    green_on = pins.pin(GREEN).states[2].timestamp
    beep = pins.pin(BUZZER).states[2].timestamp
    assert 0.9 <= green_on <= 1.3
    assert 0.05 <= beep <= 0.3


def test_rejected_blinks_red_three_times_with_one_long_beep(feedback, pins):
    feedback.signal(Signal.REJECTED)
    wait_until(lambda: states(pins, RED) == [False, True, False, True, False, True, False])
    assert states(pins, BUZZER) == [False, True, False]
    assert pins.pin(BUZZER).states[2].timestamp >= 0.5
    assert states(pins, GREEN) == [False]


def test_repeat_is_a_short_green_blink_without_a_beep(feedback, pins):
    feedback.signal(Signal.REPEAT)
    wait_until(lambda: states(pins, GREEN) == [False, True, False])
    assert pins.pin(GREEN).states[2].timestamp < 0.5
    assert states(pins, BUZZER) == [False]


def test_signal_returns_while_the_pattern_is_still_playing(feedback, pins):
    feedback.signal(Signal.ACCEPTED)
    wait_until(lambda: pins.pin(GREEN).state)
    time.sleep(0.3)
    assert pins.pin(GREEN).state is True  # the caller was long back at work


def test_scans_in_quick_succession_play_one_after_the_other(feedback, pins):
    feedback.signal(Signal.REPEAT)
    feedback.signal(Signal.REJECTED)
    wait_until(lambda: states(pins, RED).count(True) == 3 and not pins.pin(RED).state)
    assert states(pins, GREEN) == [False, True, False]
    assert states(pins, BUZZER) == [False, True, False]


def test_ready_blinks_green_briefly(feedback, pins):
    feedback.set_mood(Mood.READY)
    wait_until(lambda: states(pins, GREEN) == [False, True, False])
    assert pins.pin(GREEN).states[2].timestamp < 0.3
    time.sleep(0.3)
    assert states(pins, GREEN) == [False, True, False]  # next blink only 10 s later


def test_degraded_beats_red_slowly_and_stops_when_ready_again(feedback, pins):
    feedback.set_mood(Mood.DEGRADED)
    wait_until(lambda: states(pins, RED).count(True) >= 3, timeout=4)
    assert states(pins, BUZZER) == [False]
    feedback.set_mood(Mood.READY)
    wait_until(lambda: pins.pin(GREEN).state)
    assert pins.pin(RED).state is False


def test_a_configuration_error_is_a_long_red_then_three_quick_flashes_never_green(feedback, pins):
    feedback.set_mood(Mood.CONFIG_ERROR)
    wait_until(lambda: states(pins, RED).count(True) >= 4, timeout=4)  # one whole pattern
    on = [s for s in pins.pin(RED).states if s.state]
    off = [s for s in pins.pin(RED).states[1:] if not s.state]
    held = [round(down.timestamp - up.timestamp, 1) for up, down in zip(on, off, strict=False)]
    assert held[0] >= 0.9 and all(h <= 0.2 for h in held[1:4])  # unlike DEGRADED's two short beats
    assert states(pins, GREEN) == [False] and states(pins, BUZZER) == [False]


def test_a_scan_interrupts_the_idle_pattern_at_once(feedback, pins):
    feedback.set_mood(Mood.DEGRADED)
    wait_until(lambda: pins.pin(RED).state)
    started = time.monotonic()
    feedback.signal(Signal.ACCEPTED)
    wait_until(lambda: pins.pin(GREEN).state)
    assert time.monotonic() - started < 0.5
    assert pins.pin(RED).state is False


def test_close_switches_everything_off_and_frees_the_pins(pins):
    fb = GpioFeedback(GREEN, RED, BUZZER, pin_factory=pins)
    fb.signal(Signal.ACCEPTED)
    wait_until(lambda: pins.pin(GREEN).state)
    fb.close()
    assert not pins.pin(GREEN).state and not pins.pin(BUZZER).state
    GpioFeedback(GREEN, RED, BUZZER, pin_factory=pins).close()  # pins can be claimed again


def test_make_feedback_uses_the_configured_pins_and_says_it_is_simulated():
    settings = load_settings(
        GPIOZERO_PIN_FACTORY="mock", KERYU_LED_GREEN_PIN=5, KERYU_LED_RED_PIN=6, KERYU_BUZZER_PIN=13
    )
    fb = make_feedback(settings)
    try:
        assert fb.simulated
        fb.signal(Signal.REPEAT)
        pins = fb._green.pin_factory
        wait_until(lambda: states(pins, 5) == [False, True, False])
    finally:
        fb.close()


def test_an_unknown_pin_factory_falls_back_to_simulated_pins():
    fb = make_feedback(load_settings(GPIOZERO_PIN_FACTORY="no-such-pins"))
    try:
        assert fb.simulated
    finally:
        fb.close()
