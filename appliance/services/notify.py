"""Test notifications: the same path as a real alarm, marked plainly as a test."""

from __future__ import annotations

from appliance.messaging.format import normalize_phone
from appliance.queue import enqueue_delivery
from appliance.services.clock_sync import recording_clock
from appliance.services.kiosk import Kiosk
from appliance.services.outbox import mark_not_enqueued
from appliance.store.models import Alarm, AlarmStatus

TEST_SUBJECT_NAME = "Keryu test"


def send_test(kiosk: Kiosk, phone: str) -> Alarm:
    """Record an `is_test` alarm for `phone` and queue it; the worker sends it like any alarm."""
    e164 = normalize_phone(phone, kiosk.settings.default_region)
    now = kiosk.clock.now()
    with kiosk.store.session() as session:
        alarm = Alarm(
            subject_id=None,
            subject_name=TEST_SUBJECT_NAME,
            card_uuid=None,
            recipient_phone=e164,
            created_at=now,
            location=kiosk.settings.location,
            is_test=True,
            notification_status=AlarmStatus.PENDING,
            enqueued_at=now,
            **recording_clock(kiosk),
        )
        session.add(alarm)
        session.flush()
    if not enqueue_delivery(kiosk.celery, alarm.id):
        mark_not_enqueued(kiosk, alarm.id)
    return alarm
