"""Test notifications: the same path as a real alarm, marked plainly as a test."""

from __future__ import annotations

import logging
import time
from typing import cast

from appliance.errors import SendError
from appliance.messaging.base import PollableChannel
from appliance.messaging.phone import normalize_phone
from appliance.queue import enqueue_delivery
from appliance.services.alarms import get_alarm
from appliance.services.clock_sync import recording_clock
from appliance.services.kiosk import Kiosk
from appliance.services.outbox import mark_not_enqueued
from appliance.services.receipts import confirms_delivery
from appliance.services.status_updates import apply_provider_status
from appliance.services.views import AlarmView
from appliance.store.models import Alarm, AlarmStatus

logger = logging.getLogger(__name__)

TEST_SUBJECT_NAME = "Keryu test"
FINAL = frozenset({AlarmStatus.DELIVERED, AlarmStatus.FAILED})
LOOK_EVERY = 0.25  # seconds between looks at the alarm's row
ASK_PROVIDER_EVERY = 5.0  # seconds between status polls of a SENT message (the beat's poll is once a minute)


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
    if not enqueue_delivery(kiosk.queue, alarm.id):
        mark_not_enqueued(kiosk, alarm.id)
    return alarm


def _finished(kiosk: Kiosk, alarm: AlarmView) -> bool:
    """DELIVERED or FAILED, or SENT where no receipt can ever come (Meta without a webhook)."""
    if alarm.notification_status in FINAL:
        return True
    return alarm.notification_status == AlarmStatus.SENT and not confirms_delivery(kiosk, alarm.channel)


def _ask_provider(kiosk: Kiosk, alarm: AlarmView) -> None:
    """One status poll of a SENT message on a pollable channel, applied like the beat's."""
    channel = kiosk.channels.get(alarm.channel) if alarm.channel is not None else None
    if channel is None or not channel.pollable:
        return
    message_id = alarm.message_sid if channel.message_id_field == "message_sid" else alarm.whatsapp_message_id
    if not message_id:
        return
    try:
        status = cast(PollableChannel, channel).fetch_status(message_id)
    except SendError as exc:
        logger.warning("%s status poll for test alarm %s failed: %s", channel.name, alarm.id, exc)
        return
    if status.state in ("delivered", "read", "failed"):
        apply_provider_status(kiosk, status)


def wait_for_outcome(kiosk: Kiosk, alarm_id: int, wait: float) -> AlarmView:
    """The alarm once it is final (see `_finished`), or as it stands after `wait` seconds."""
    deadline = time.monotonic() + max(wait, 0.0)
    next_ask = time.monotonic() + ASK_PROVIDER_EVERY
    alarm = get_alarm(kiosk, alarm_id)
    while not _finished(kiosk, alarm) and time.monotonic() < deadline:
        if alarm.notification_status == AlarmStatus.SENT and time.monotonic() >= next_ask:
            _ask_provider(kiosk, alarm)
            next_ask = time.monotonic() + ASK_PROVIDER_EVERY
        time.sleep(LOOK_EVERY)
        alarm = get_alarm(kiosk, alarm_id)
    return alarm
