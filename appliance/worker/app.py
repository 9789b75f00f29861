"""The worker's Celery application, its task names, and the one way it queues a task.

Only the worker and `keryu beat` load Celery; everything else writes the send task's message
with redis-py (`appliance.queue`).
"""

from __future__ import annotations

import logging

from celery import Celery
from kombu import Queue

from appliance.config import Settings
from appliance.queue import ALARMS_QUEUE, REDIS_TIMEOUTS, SEND_TASK

logger = logging.getLogger(__name__)

SWEEP_TASK = "alarms.tasks.sweep_outbox"
POLL_TASK = "alarms.tasks.poll_delivery_status"
CLEANUP_TASK = "alarms.tasks.cleanup_old_records"
ESCALATE_TASK = "alarms.tasks.escalate_alarms"
DEFAULT_QUEUE = "default"


def make_celery(settings: Settings) -> Celery:
    """A Celery app configured from the settings (broker, backend, queues, reliability)."""
    app = Celery("keryu", broker=settings.broker_url, backend=settings.result_backend)
    app.conf.update(
        task_queues=(Queue(ALARMS_QUEUE), Queue(DEFAULT_QUEUE)),
        task_default_queue=DEFAULT_QUEUE,
        task_routes={SEND_TASK: {"queue": ALARMS_QUEUE}},
        task_acks_late=True,  # a worker lost mid-task leaves the message to be redelivered
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        broker_transport_options={
            **REDIS_TIMEOUTS,
            # Redelivery after a lost worker; the sweeper's lease takes it back sooner.
            "visibility_timeout": 300,
            "max_retries": 0,
        },
        redis_socket_connect_timeout=2,
        redis_socket_timeout=5,
        result_backend_transport_options=REDIS_TIMEOUTS,
        broker_pool_limit=2,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


def queue_delivery_task(app: Celery, alarm_id: int, *, countdown: float) -> bool:
    """The send task for `alarm_id` after `countdown` seconds (a retry); False (logged) when the broker is down."""
    try:
        app.send_task(
            SEND_TASK,
            args=(alarm_id,),
            queue=ALARMS_QUEUE,
            countdown=countdown,
            retry=False,
            ignore_result=True,
        )
    except Exception as exc:  # kombu raises a zoo of connection errors; all mean "not now"
        logger.warning("Alarm %s not queued (%s); the outbox sweeper will retry", alarm_id, exc)
        return False
    return True
