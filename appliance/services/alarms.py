"""Reading alarms (lists, filters, paging, the contract's JSON record) and the admin's actions on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from appliance.errors import NotFound, UserError
from appliance.queue import enqueue_delivery
from appliance.services.kiosk import Kiosk
from appliance.services.outbox import mark_not_enqueued
from appliance.store import alarm_state
from appliance.store.models import Alarm, AlarmStatus

MAX_PAGE = 500
RECORD_FIELDS = (
    "id",
    "subject_id",
    "subject_name",
    "card_uuid",
    "created_at",
    "location",
    "is_test",
    "channel",
    "notification_status",
    "notification_sent",
    "notification_attempts",
    "last_attempt",
    "notification_error",
    "whatsapp_message_id",
    "message_sid",
)


def _iso(value: datetime | None, zone) -> str | None:
    return value.astimezone(zone).isoformat() if value else None


def alarm_record(alarm: Alarm, zone=None) -> dict[str, object]:
    """The contract's alarm record (times ISO 8601 with offset, in the kiosk's zone)."""
    record = {name: getattr(alarm, name) for name in RECORD_FIELDS}
    record["created_at"] = _iso(alarm.created_at, zone)
    record["last_attempt"] = _iso(alarm.last_attempt, zone)
    record["notification_status"] = str(alarm.notification_status)
    return record


def list_alarms(
    session: Session,
    *,
    status: str | None = None,
    subject_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Alarm]:
    """Alarms newest first; keyset paging with `before_id` stays fast at any depth."""
    if not 1 <= limit <= MAX_PAGE:
        raise UserError(f"The limit must be between 1 and {MAX_PAGE}.")
    query = select(Alarm).order_by(Alarm.id.desc()).limit(limit)
    if status:
        if status not in AlarmStatus.__members__:
            raise UserError(f"Unknown status {status!r}; use one of {', '.join(AlarmStatus)}.")
        query = query.where(Alarm.notification_status == status)
    if subject_id is not None:
        query = query.where(Alarm.subject_id == subject_id)
    if since is not None:
        query = query.where(Alarm.created_at >= since)
    if until is not None:
        query = query.where(Alarm.created_at < until)
    if before_id is not None:
        query = query.where(Alarm.id < before_id)
    return list(session.scalars(query))


def get_alarm(session: Session, alarm_id: int) -> Alarm:
    """One alarm with its delivery attempts."""
    alarm = session.scalars(select(Alarm).where(Alarm.id == alarm_id).options(selectinload(Alarm.attempts))).first()
    if alarm is None:
        raise NotFound(f"There is no alarm with id {alarm_id}.")
    return alarm


def changes_since(session: Session, updated_after: datetime, after_id: int = 0, limit: int = 100) -> list[Alarm]:
    """Alarms changed after a point (for live updates), in the order they changed."""
    query = (
        select(Alarm)
        .where(or_(Alarm.updated_at > updated_after, and_(Alarm.updated_at == updated_after, Alarm.id > after_id)))
        .order_by(Alarm.updated_at, Alarm.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def retry_alarm(kiosk: Kiosk, alarm_id: int) -> Alarm:
    """Send a FAILED alarm again from its first channel (an admin's decision)."""
    with kiosk.store.session() as session:
        alarm = get_alarm(session, alarm_id)
        if not alarm_state.requeue_failed(session, alarm_id, kiosk.clock.now()):
            raise UserError(f"Alarm {alarm_id} is {alarm.notification_status}; only a FAILED alarm can be retried.")
    if not enqueue_delivery(kiosk.celery, alarm_id):
        mark_not_enqueued(kiosk, alarm_id)
    return alarm


def resolve_alarm(kiosk: Kiosk, alarm_id: int, notes: str) -> Alarm:
    """Mark an alarm as dealt with by a person, with their notes (delivery state is untouched)."""
    with kiosk.store.session() as session:
        alarm = get_alarm(session, alarm_id)
        alarm.resolved_at = kiosk.clock.now()
        alarm.resolution_notes = notes.strip()[:2000]
        alarm.updated_at = alarm.resolved_at
    return alarm
