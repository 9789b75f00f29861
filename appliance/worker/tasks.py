"""Celery tasks: each takes ids, re-reads the database and calls one service function.

The send task keeps the seed's name and signature, `alarms.tasks.send_whatsapp_notification(
alarm_id, is_test=False)`. Idempotency lives in the claim (services.alarm_state), which is what
makes late acknowledgement and redelivery safe.
"""

from __future__ import annotations

import logging

from celery import Celery, Task
from celery.exceptions import MaxRetriesExceededError

from appliance.queue import CLEANUP_TASK, POLL_TASK, SEND_TASK, SWEEP_TASK
from appliance.services import outbox, retention, status_updates
from appliance.services.delivery import deliver
from appliance.services.kiosk import Kiosk

logger = logging.getLogger(__name__)

MAX_TASK_RETRIES = 3


def register_tasks(app: Celery, kiosk: Kiosk) -> None:
    """Bind the kiosk's tasks to `app` (one Kiosk per worker process)."""

    @app.task(name=SEND_TASK, bind=True, max_retries=MAX_TASK_RETRIES, acks_late=True)
    def send_whatsapp_notification(self: Task, alarm_id: int, is_test: bool = False) -> str | None:
        # `is_test` keeps the seed's signature; the alarm row's own flag is what the message uses.
        result = deliver(kiosk, int(alarm_id))
        if result.retry_in is not None:
            try:
                raise self.retry(countdown=result.retry_in)
            except MaxRetriesExceededError:
                logger.warning("Alarm %s: task retries used up; the outbox sweeper takes over", alarm_id)
        return str(result.status) if result.status else None

    @app.task(name=SWEEP_TASK, ignore_result=True)
    def sweep_outbox() -> int:
        return outbox.sweep(kiosk)

    @app.task(name=POLL_TASK, ignore_result=True)
    def poll_delivery_status() -> int:
        return status_updates.poll_twilio(kiosk)

    @app.task(name=CLEANUP_TASK, ignore_result=True)
    def cleanup_old_records() -> dict[str, int]:
        return retention.cleanup(kiosk)
