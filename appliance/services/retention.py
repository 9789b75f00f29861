"""Forget old alarms and scan events so a kiosk's SD card never fills (KERYU_RETENTION_DAYS)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, select

from appliance.services.kiosk import Kiosk
from appliance.services.publish.events import active_sinks, prune
from appliance.store.models import Alarm, AlarmStatus, DeliveryAttempt, ScanEvent

logger = logging.getLogger(__name__)

FINISHED = (AlarmStatus.SENT, AlarmStatus.DELIVERED, AlarmStatus.FAILED)


def cleanup(kiosk: Kiosk) -> dict[str, int]:
    """Delete finished alarms (with their attempts) and scan events older than the retention period."""
    cutoff = kiosk.clock.now() - timedelta(days=kiosk.settings.retention_days)
    with kiosk.store.session() as session:
        old = select(Alarm.id).where(Alarm.created_at < cutoff, Alarm.notification_status.in_(FINISHED))
        attempts = session.execute(
            delete(DeliveryAttempt)
            .where(DeliveryAttempt.alarm_id.in_(old))
            .execution_options(synchronize_session=False)
        ).rowcount
        alarms = session.execute(
            delete(Alarm)
            .where(Alarm.created_at < cutoff, Alarm.notification_status.in_(FINISHED))
            .execution_options(synchronize_session=False)
        ).rowcount
        scans = session.execute(
            delete(ScanEvent).where(ScanEvent.created_at < cutoff).execution_options(synchronize_session=False)
        ).rowcount
    removed = {"alarms": alarms, "attempts": attempts, "scan_events": scans}
    # Published (or, with no publisher configured, never to be published) outbox events.
    removed["outbox_events"] = prune(kiosk, active_sinks(kiosk))
    if alarms or scans:
        logger.info("Retention cleanup removed %s (older than %s days)", removed, kiosk.settings.retention_days)
    return removed
