"""The worker says it is alive in Redis, from its Celery consumer's own event loop.

Health reads the names (`appliance.queue.present_workers`) instead of broadcasting a Celery
ping: the scanner and the web page do not load Celery, and a ping waited its whole timeout.
A worker whose consumer loop is stuck stops renewing and is "down" within
`WORKER_PRESENCE_SECONDS`; one stopped cleanly withdraws at once.
"""

from __future__ import annotations

import logging
from typing import Any

import redis

from appliance.queue import DeliveryQueue, announce_worker, withdraw_worker

logger = logging.getLogger(__name__)

PRESENCE_EVERY = 5.0


class Presence:
    """Announces worker `name` every `PRESENCE_EVERY` seconds once started."""

    def __init__(self, queue: DeliveryQueue, name: str):
        self._queue, self.name = queue, name

    def start(self, consumer: Any) -> None:
        """From Celery's `worker_ready` (sender: the consumer): announce now, then on the consumer's loop."""
        self.announce()
        loop = consumer.hub or consumer.timer  # the hub runs on the consumer's thread; the timer without one
        loop.call_repeatedly(PRESENCE_EVERY, self.announce)

    def announce(self) -> None:
        try:
            announce_worker(self._queue, self.name)
        except redis.RedisError as exc:  # health shows Redis down meanwhile
            logger.debug("Worker presence not renewed: %s", exc)

    def withdraw(self) -> None:
        try:
            withdraw_worker(self._queue, self.name)
        except redis.RedisError as exc:
            logger.debug("Worker presence not withdrawn: %s", exc)
