"""The idle LED pattern follows whether database, Redis and worker answer."""

from __future__ import annotations

import pytest

from appliance.feedback import Mood
from appliance.scanner.health_watch import HealthWatch, unreachable
from tests.conftest import GREEN, RED, wait_until


def test_a_dead_redis_and_no_worker_are_unreachable(kiosk):
    assert unreachable(kiosk) == ["redis", "worker"]  # this kiosk's REDIS_URL points at a closed port


def test_an_unreachable_redis_and_worker_turn_the_idle_pattern_to_a_red_heartbeat(kiosk, feedback, pins):
    health = HealthWatch(kiosk, feedback, every=60)
    try:
        wait_until(lambda: feedback.mood is Mood.DEGRADED, timeout=30, what="the degraded mood")
        assert health.problems == ["redis", "worker"]
        wait_until(lambda: [s.state for s in pins.pin(RED).states].count(True) >= 2, what="red beats")
        assert [s.state for s in pins.pin(GREEN).states] == [False]
    finally:
        health.close()


@pytest.mark.integration
def test_a_reachable_kiosk_blinks_green_when_idle(kiosk, feedback, pins, worker):
    health = HealthWatch(kiosk, feedback, every=60)
    try:
        wait_until(lambda: feedback.mood is Mood.READY, timeout=30, what="the ready mood")
        assert health.problems == []
        wait_until(lambda: [s.state for s in pins.pin(GREEN).states] == [False, True, False], what="a green blink")
    finally:
        health.close()
