"""The kiosk's idle LED pattern tells whether what an alarm needs answers: database, Redis, worker.

A person at the door sees a green blink every 10 s when a card would reach a custodian, and a
slow red heartbeat when it would only be recorded. The checks run on a thread of their own,
since a Redis or database call may wait out its timeout (seconds) when one is down.
"""

from __future__ import annotations

import logging
import threading

from appliance.feedback import Feedback, Mood
from appliance.services.health import check_database, check_redis, check_worker
from appliance.services.kiosk import Kiosk

logger = logging.getLogger(__name__)

HEALTH_EVERY = 30.0
CHECKS = {"database": check_database, "redis": check_redis, "worker": check_worker}


def unreachable(kiosk: Kiosk) -> list[str]:
    """The parts an alarm needs (database, Redis, worker) that do not answer now."""
    problems = []
    for name, check in CHECKS.items():
        try:
            down = check(kiosk).get("status") == "down"
        except Exception as exc:
            logger.debug("Health check %s failed: %s", name, exc)
            down = True
        if down:
            problems.append(name)
    return problems


class HealthWatch:
    """Runs `check()` every `every` seconds on its own thread until closed."""

    def __init__(self, kiosk: Kiosk, feedback: Feedback, every: float = HEALTH_EVERY):
        self._kiosk, self._feedback, self._every = kiosk, feedback, every
        self._stop = threading.Event()
        self.problems: list[str] = []
        self._thread = threading.Thread(target=self._run, name="health-watch", daemon=True)
        self._thread.start()

    def check(self) -> None:
        """One round: check, log when the answer changes, and set the idle pattern."""
        problems = unreachable(self._kiosk)
        if problems and problems != self.problems:
            logger.warning("Kiosk degraded: %s unreachable", ", ".join(problems))
        elif not problems and self.problems:
            logger.info("Kiosk ready again: database, Redis and worker answer")
        self.problems = problems
        self._feedback.set_mood(Mood.DEGRADED if problems else Mood.READY)

    def close(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check()
            self._stop.wait(self._every)
