"""The one way to ask for a delivery, and the workers' presence: both in Redis, without Celery.

Redis carries only ids; the database row is the truth. Callers enqueue *after* their commit
and treat a failure here as "the sweeper will pick it up", never as a lost alarm.

`enqueue_delivery` writes the message Celery's `send_task` writes for the send task (Celery's
task message protocol 2 in kombu's Redis envelope, JSON) onto the worker's queue, with one
redis-py call. Celery and kombu would cost the scanner and the web page 7 MiB each on a 512 MB
Pi and 0.5 ms of CPU per message; they only ever send this one message, so the few lines here
do it, and `tests/test_queue.py` compares it field by field with what the installed Celery
writes: an upgrade that changes the format fails the suite, not the kiosk (bench/README.md,
"Memory"; docs/delivery.md). The worker itself, which has Celery loaded, queues with Celery.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import time
import uuid

import redis

logger = logging.getLogger(__name__)

SEND_TASK = "alarms.tasks.send_whatsapp_notification"
ALARMS_QUEUE = "alarms"
WORKER_PRESENCE_PREFIX = "keryu:worker:"
# A worker renews its presence every few seconds; one silent this long is taken for gone.
WORKER_PRESENCE_SECONDS = 15

# Redis calls must fail fast when Redis is down: the scanner and the web page are waiting, and
# the worker's Celery connections use the same (`worker/app.py`).
REDIS_TIMEOUTS = {"socket_connect_timeout": 2, "socket_timeout": 5}
_NO_CANVAS = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


class DeliveryQueue:
    """The kiosk's Redis, for delivery messages and worker presence; connects at first use, thread-safe."""

    def __init__(self, broker_url: str):
        self.client = redis.Redis.from_url(broker_url, **REDIS_TIMEOUTS)
        self._origin = f"{os.getpid()}@{socket.gethostname()}"  # as Celery names a sender
        self._reply_to = str(uuid.uuid4())  # unused (results are ignored); Celery sends one per app

    def close(self) -> None:
        self.client.close()

    def delivery_message(self, alarm_id: int) -> str:
        """The send task's message for `alarm_id`, as `Celery.send_task` stores it in Redis."""
        task_id = str(uuid.uuid4())
        body = json.dumps([[alarm_id], {}, _NO_CANVAS]).encode()
        headers = {
            "lang": "py",
            "task": SEND_TASK,
            "id": task_id,
            "shadow": None,
            "eta": None,
            "expires": None,
            "group": None,
            "group_index": None,
            "retries": 0,
            "timelimit": [None, None],
            "root_id": task_id,
            "parent_id": None,
            "argsrepr": f"({alarm_id},)",
            "kwargsrepr": "{}",
            "origin": self._origin,
            "ignore_result": True,
            "replaced_task_nesting": 0,
            "stamped_headers": None,
            "stamps": {},
        }
        properties = {
            "correlation_id": task_id,
            "reply_to": self._reply_to,
            "delivery_mode": 2,  # persistent
            "delivery_info": {"exchange": "", "routing_key": ALARMS_QUEUE},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        }
        return json.dumps(
            {
                "body": base64.b64encode(body).decode(),
                "content-encoding": "utf-8",
                "content-type": "application/json",
                "headers": headers,
                "properties": properties,
            }
        )


def enqueue_delivery(queue: DeliveryQueue, alarm_id: int) -> bool:
    """Ask a worker to deliver `alarm_id` now; False (logged) when Redis is down."""
    try:
        queue.client.lpush(ALARMS_QUEUE, queue.delivery_message(int(alarm_id)))
    except redis.RedisError as exc:
        logger.warning("Alarm %s not queued (%s); the outbox sweeper will retry", alarm_id, exc)
        return False
    return True


def announce_worker(queue: DeliveryQueue, name: str) -> None:
    """Say that worker `name` is running and reaching Redis, for the next `WORKER_PRESENCE_SECONDS`."""
    queue.client.set(WORKER_PRESENCE_PREFIX + name, time.time(), ex=WORKER_PRESENCE_SECONDS)


def withdraw_worker(queue: DeliveryQueue, name: str) -> None:
    """Worker `name` stops: health says so at once instead of after its presence runs out."""
    queue.client.delete(WORKER_PRESENCE_PREFIX + name)


def present_workers(queue: DeliveryQueue) -> list[str]:
    """The names of the workers that announced themselves lately (any kiosk sharing this Redis)."""
    prefix = len(WORKER_PRESENCE_PREFIX)
    keys = queue.client.scan_iter(match=WORKER_PRESENCE_PREFIX + "*", count=100)
    return sorted(key.decode()[prefix:] for key in keys)
