"""Celery tasks: each takes ids, re-reads the database and calls one service function.

The send task keeps the seed's name and signature, `alarms.tasks.send_whatsapp_notification(
alarm_id, is_test=False)`. Idempotency lives in the claim (`store.alarm_state`), which is what
makes late acknowledgement and redelivery safe.

A retry is not Celery's `self.retry`: Celery would keep its own count of tries beside the
delivery's (three per channel, then offline rounds for a day) and, once its count ran out,
leave the alarm to the sweeper. The delivery alone decides when the next try is; the task
only queues one wake-up message for that moment, and the sweeper catches a lost one. That
includes a send the provider accepted whose SENT the database refused past every retry: the
wake-up comes when the lease has run out, and that claim records SENT without sending.
"""

from __future__ import annotations

import logging

from celery import Celery

from appliance.services import clock_sync, escalation, outbox, retention, status_updates
from appliance.services.delivery import deliver
from appliance.services.kiosk import Kiosk
from appliance.worker.app import (
    CLEANUP_TASK,
    ESCALATE_TASK,
    POLL_TASK,
    SEND_TASK,
    SWEEP_TASK,
    queue_delivery_task,
)

logger = logging.getLogger(__name__)


def register_tasks(app: Celery, kiosk: Kiosk) -> None:
    """Bind the kiosk's tasks to `app` (one Kiosk per worker process)."""

    @app.task(name=SEND_TASK, acks_late=True)
    def send_whatsapp_notification(alarm_id: int, is_test: bool = False) -> str | None:
        # `is_test` keeps the seed's signature; the alarm row's own flag is what the message uses.
        result = deliver(kiosk, int(alarm_id))
        kiosk.store.sync()  # every commit of the delivery on disk before Celery acknowledges the message
        if result.retry_in is not None:
            queue_delivery_task(app, int(alarm_id), countdown=result.retry_in)
        return str(result.status) if result.status else None

    @app.task(name=SWEEP_TASK, ignore_result=True)
    def sweep_outbox() -> int:
        clock_sync.correct_alarm_times(kiosk)  # every 15 s: alarms recorded before the clock was set
        return outbox.sweep(kiosk)

    @app.task(name=POLL_TASK, ignore_result=True)
    def poll_delivery_status() -> int:
        return status_updates.poll_providers(kiosk)

    @app.task(name=CLEANUP_TASK, ignore_result=True)
    def cleanup_old_records() -> dict[str, int]:
        return retention.cleanup(kiosk)

    @app.task(name=ESCALATE_TASK, ignore_result=True)
    def escalate_alarms() -> int:
        return escalation.escalate_due(kiosk)
