"""Telling the on-duty contact (`KERYU_DUTY_PHONE`) when no custodian was reached, once per alarm.

An alarm escalates when every custodian's notification FAILED, or when none was DELIVERED
within `KERYU_ESCALATE_AFTER` minutes. A message SENT on a channel whose delivery cannot be
confirmed (Meta WhatsApp without a reachable webhook) may well have arrived, so while one is
waiting like that, only FAILED escalates. The duty contact's message is a notification row
under the alarm (`role` "duty"), written in the same transaction that marks the alarm
escalated; the delivery state machine then sends it exactly once, like any other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.orm import selectinload

from appliance import stored_text
from appliance.i18n import N_, gettext
from appliance.messaging.twilio_common import status_callback_url
from appliance.queue import enqueue_delivery
from appliance.services.kiosk import Kiosk
from appliance.services.outbox import mark_not_enqueued
from appliance.store.models import Alarm, AlarmStatus

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=48)  # alarms older than this are not escalated any more
BATCH = 200
META_CHANNEL = 1

# Written in the kiosk's language when the escalation is made (stored, then shown and sent as is).
REASONS = {"failed": stored_text.ESCALATION_FAILED, "late": stored_text.ESCALATION_LATE}
RECEIPTS_NOTE = N_(
    "Delivery receipts cannot arrive for {channels}: a message sent there is never confirmed, so escalation"
    " to the on-duty contact waits only for failed messages, not for the {minutes:g}-minute limit."
)


def receipt_channels(kiosk: Kiosk) -> set[int]:
    """Channels whose delivery the kiosk can learn of: Twilio's by polling, Meta's by a reachable webhook."""
    channels = {number for number, channel in kiosk.channels.items() if channel.pollable}
    if kiosk.settings.whatsapp_app_secret and status_callback_url(kiosk.settings):  # a public HTTPS address
        channels.add(META_CHANNEL)
    return channels


def receipts_note(kiosk: Kiosk, language: str | None = None) -> str | None:
    """What the settings page says, in `language` (the kiosk's by default), when some channel can never
    confirm delivery (None: all can)."""
    blind = [channel.name for number, channel in kiosk.channels.items() if number not in receipt_channels(kiosk)]
    if not blind:
        return None
    note = gettext(language or kiosk.settings.language, RECEIPTS_NOTE)
    return note.format(channels=", ".join(blind), minutes=kiosk.settings.escalate_after)


@dataclass(frozen=True)
class _Notification:
    status: str
    channel: int | None


def reason_for(
    notifications: list[_Notification],
    created_at: datetime,
    now: datetime,
    after: timedelta,
    receipts: set[int],
    language: str,
) -> str | None:
    """Why an alarm must be escalated now, or None (one custodian's delivery is enough to settle it)."""
    statuses = [row.status for row in notifications]
    if AlarmStatus.DELIVERED in statuses:
        return None
    if all(status == AlarmStatus.FAILED for status in statuses):
        return gettext(language, REASONS["failed"])
    unconfirmable = any(row.status == AlarmStatus.SENT and row.channel not in receipts for row in notifications)
    if now - created_at >= after and not unconfirmable:
        return gettext(language, REASONS["late"]).format(minutes=after.total_seconds() / 60)
    return None


def escalate_due(kiosk: Kiosk) -> int:
    """Tell the duty contact about every alarm that needs it now (the beat runs this); returns how many."""
    duty_phone = kiosk.settings.duty_phone
    if not duty_phone:
        return 0
    now = kiosk.clock.now()
    after = timedelta(minutes=kiosk.settings.escalate_after)
    receipts = receipt_channels(kiosk)
    with kiosk.store.read() as session:
        alarms = session.scalars(
            select(Alarm)
            .where(
                Alarm.parent_id.is_(None),
                Alarm.is_test.is_(False),
                Alarm.escalated_at.is_(None),
                Alarm.resolved_at.is_(None),
                Alarm.created_at >= now - WINDOW,
            )
            .options(selectinload(Alarm.children))
            .order_by(Alarm.id)
            .limit(BATCH)
        ).all()
        due = []
        for alarm in alarms:
            rows = [alarm, *(child for child in alarm.children if child.role == "custodian")]
            found = [_Notification(row.notification_status, row.channel) for row in rows]
            reason = reason_for(found, alarm.created_at, now, after, receipts, kiosk.settings.language)
            if reason:
                due.append((alarm.id, reason))
    told = [duty_id for alarm_id, reason in due if (duty_id := escalate(kiosk, alarm_id, duty_phone, reason))]
    return len(told)


def escalate(kiosk: Kiosk, alarm_id: int, duty_phone: str, reason: str) -> int | None:
    """Record the duty contact's notification, at most once per alarm, and queue it; its row id, or None."""
    now = kiosk.clock.now()
    with kiosk.store.session() as session:
        won = session.execute(
            update(Alarm)
            .where(and_(Alarm.id == alarm_id, Alarm.escalated_at.is_(None)))
            .values(escalated_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:  # another sweep escalated it first
            return None
        alarm = session.get(Alarm, alarm_id)
        assert alarm is not None  # matched a moment ago
        duty = Alarm(
            parent_id=alarm.id,
            role="duty",
            recipient_name="On duty",
            recipient_phone=duty_phone,
            escalation_reason=reason,
            subject_id=alarm.subject_id,
            subject_name=alarm.subject_name,
            card_uuid=alarm.card_uuid,
            created_at=alarm.created_at,
            location=alarm.location,
            is_test=False,
            notification_status=AlarmStatus.PENDING,
            enqueued_at=now,
        )
        session.add(duty)
        session.flush()
        duty_id = duty.id
    logger.warning("Alarm %s escalated to the on-duty contact: %s", alarm_id, reason)
    if not enqueue_delivery(kiosk.queue, duty_id):
        mark_not_enqueued(kiosk, duty_id)  # the next sweep takes it
    return duty_id
