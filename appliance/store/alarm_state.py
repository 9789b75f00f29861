"""The one state machine of an alarm's notification.

Every change of `notification_status` and of the seed's fields (`notification_sent`,
`notification_attempts`, `last_attempt`, `notification_error`, `whatsapp_message_id`,
`message_sid`) happens here, as conditional UPDATEs that work the same on SQLite and
PostgreSQL. The worker, the sweeper, webhooks, the beat's poll and the admin page call these
through the services. `due` is the one rule of when an alarm may be worked on; the claim uses
it as it is, the outbox sweeper with its grace (see docs/delivery.md).

    PENDING ──claim──► PROCESSING ──accepted──► SENT ──provider──► DELIVERED
       ▲                 │   │                   │
       │         transient│   │no channel left    └──provider failed──► FAILED
       │                 ▼   ▼
       └─admin retry─ ERROR  FAILED        ERROR ──due──► claim again
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from appliance.store.models import Alarm, AlarmStatus, DeliveryAttempt

CLAIM_LEASE = timedelta(seconds=90)
S = AlarmStatus


def worker_identity() -> str:
    """Who holds a claim: host and pid, so a restarted worker can recognise its dead self."""
    return f"{socket.gethostname()}:{os.getpid()}"


def due(now: datetime, retry_grace: timedelta = timedelta(0)) -> ColumnElement[bool]:
    """SQL condition: an alarm a worker may take at `now`.

    New (PENDING), a retry whose time came (ERROR, `retry_grace` after `next_attempt_at`), or a
    claim whose lease ran out (PROCESSING). The claim uses no grace; the sweeper gives the
    worker's own wake-up message a head start.
    """
    return or_(
        Alarm.notification_status == S.PENDING,
        and_(Alarm.notification_status == S.ERROR, Alarm.next_attempt_at <= now - retry_grace),
        and_(Alarm.notification_status == S.PROCESSING, Alarm.claimed_until < now),
    )


def claim(session: Session, alarm_id: int, now: datetime, owner: str) -> bool:
    """Move the alarm to PROCESSING for `owner` unless someone else holds it or it is done."""
    return _update(
        session,
        and_(Alarm.id == alarm_id, due(now)),
        notification_status=S.PROCESSING,
        claimed_by=owner,
        claimed_until=now + CLAIM_LEASE,
        enqueued_at=None,  # the message that brought the worker here is used up
        updated_at=now,
    )


def _update(session: Session, condition: ColumnElement[bool], **values: object) -> bool:
    """One conditional UPDATE of one alarm; True when it matched (the transition happened)."""
    statement = update(Alarm).where(condition).values(**values).execution_options(synchronize_session=False)
    return session.execute(statement).rowcount == 1


def _held(alarm_id: int, owner: str) -> ColumnElement[bool]:
    return and_(Alarm.id == alarm_id, Alarm.notification_status == S.PROCESSING, Alarm.claimed_by == owner)


def fix_plan(session: Session, alarm_id: int, owner: str, plan: list[int]) -> None:
    """Record the channel order at the first claim, so that later retries keep it."""
    session.execute(
        update(Alarm)
        .where(_held(alarm_id, owner), Alarm.channel_plan.is_(None))
        .values(channel_plan=plan)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class AttemptRecord:
    """The outcome of one try, written as a `delivery_attempts` row."""

    channel: int
    started_at: datetime
    outcome: str  # sent | transient | permanent | skipped
    duration_ms: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    provider_message_id: str | None = None


def _add_attempt(session: Session, alarm_id: int, record: AttemptRecord) -> None:
    session.add(
        DeliveryAttempt(
            alarm_id=alarm_id,
            channel=record.channel,
            started_at=record.started_at,
            outcome=record.outcome,
            duration_ms=record.duration_ms,
            error_code=record.error_code,
            error_message=record.error_message,
            provider_message_id=record.provider_message_id,
        )
    )


def _counts(record: AttemptRecord) -> dict:
    """Seed fields every real attempt (not a skip) updates."""
    if record.outcome == "skipped":
        return {}
    return {"notification_attempts": Alarm.notification_attempts + 1, "last_attempt": record.started_at}


def mark_sent(session: Session, alarm_id: int, owner: str, record: AttemptRecord, id_field: str, now: datetime) -> bool:
    """The provider accepted the message: SENT with its id in the channel's column `id_field`.

    Earlier channels' errors stay as a note.
    """
    ids = {id_field: record.provider_message_id}
    changed = _update(
        session,
        _held(alarm_id, owner),
        notification_status=S.SENT,
        notification_sent=True,
        channel=record.channel,
        sent_at=now,
        claimed_by=None,
        claimed_until=None,
        next_attempt_at=None,
        updated_at=now,
        **ids,
        **_counts(record),
    )
    _add_attempt(session, alarm_id, record)
    return changed


def mark_retry(
    session: Session, alarm_id: int, owner: str, record: AttemptRecord, retry_at: datetime, now: datetime
) -> bool:
    """A transient failure with attempts left on this channel: ERROR, due again at `retry_at`."""
    changed = _update(
        session,
        _held(alarm_id, owner),
        notification_status=S.ERROR,
        notification_error=_error_text(record),
        channel_attempts=Alarm.channel_attempts + 1,
        next_attempt_at=retry_at,
        claimed_by=None,
        claimed_until=None,
        updated_at=now,
        **_counts(record),
    )
    _add_attempt(session, alarm_id, record)
    return changed


def mark_next_channel(session: Session, alarm_id: int, owner: str, record: AttemptRecord, now: datetime) -> bool:
    """This channel is finished (permanent error, skipped, or out of attempts): move along the plan."""
    changed = _update(
        session,
        _held(alarm_id, owner),
        plan_position=Alarm.plan_position + 1,
        channel_attempts=0,
        notification_error=_error_text(record),
        claimed_until=now + CLAIM_LEASE,
        updated_at=now,
        **_counts(record),
    )
    _add_attempt(session, alarm_id, record)
    return changed


def mark_failed(session: Session, alarm_id: int, owner: str, error: str, now: datetime) -> bool:
    """No channel is left: FAILED with the last error."""
    return _update(
        session,
        _held(alarm_id, owner),
        notification_status=S.FAILED,
        notification_error=error,
        claimed_by=None,
        claimed_until=None,
        next_attempt_at=None,
        updated_at=now,
    )


def restart_plan(session: Session, alarm_id: int, owner: str, error: str, retry_at: datetime, now: datetime) -> bool:
    """No provider was reachable on any channel: ERROR, and the whole plan again at `retry_at`."""
    return _update(
        session,
        _held(alarm_id, owner),
        notification_status=S.ERROR,
        notification_error=error,
        plan_position=0,
        channel_attempts=0,
        next_attempt_at=retry_at,
        claimed_by=None,
        claimed_until=None,
        updated_at=now,
    )


def requeue_failed(session: Session, alarm_id: int, now: datetime) -> bool:
    """An admin's retry of a FAILED alarm: back to PENDING with a fresh channel plan."""
    return _update(
        session,
        and_(Alarm.id == alarm_id, Alarm.notification_status == S.FAILED, Alarm.notification_sent.is_(False)),
        notification_status=S.PENDING,
        channel_plan=None,
        plan_position=0,
        channel_attempts=0,
        next_attempt_at=None,
        enqueued_at=now,
        updated_at=now,
    )


_PROGRESS = {"pending": 0, "sent": 1, "delivered": 2, "read": 3}


@dataclass(frozen=True)
class ProviderReport:
    """A provider's word on a message it accepted earlier (webhook or poll)."""

    message_id: str
    state: str  # pending | sent | delivered | read | failed
    error: str | None = None


def apply_report(session: Session, report: ProviderReport, now: datetime) -> Alarm | None:
    """Apply a provider status; returns the alarm it named (None: unknown id). Idempotent."""
    alarm = session.scalars(
        select(Alarm).where(or_(Alarm.whatsapp_message_id == report.message_id, Alarm.message_sid == report.message_id))
    ).first()
    if alarm is None:
        return None
    current = alarm.notification_status
    values: dict = {}
    if report.state == "failed":
        if current == S.SENT:  # a delivery already reported cannot be undone by a late failure
            values = {
                "notification_status": S.FAILED,
                "provider_status": "failed",
                "notification_error": report.error or "The provider reported the message undeliverable.",
            }
    elif current in (S.SENT, S.DELIVERED) and _PROGRESS[report.state] > _PROGRESS.get(alarm.provider_status, -1):
        values = {"provider_status": report.state}  # statuses only move forward, whatever order they arrive in
        if current == S.SENT and report.state in ("delivered", "read"):
            values.update(notification_status=S.DELIVERED, delivered_at=now)
    if values:
        _update(session, and_(Alarm.id == alarm.id, Alarm.notification_status == current), updated_at=now, **values)
    return alarm


def release_dead_claims(session: Session, host: str, alive: set[str], now: datetime) -> int:
    """Expire PROCESSING leases held by this host's dead worker processes (checked at worker start)."""
    held = session.execute(
        select(Alarm.id, Alarm.claimed_by).where(
            Alarm.notification_status == S.PROCESSING, Alarm.claimed_by.like(f"{host}:%")
        )
    ).all()
    dead_ids = [row.id for row in held if row.claimed_by not in alive]
    if dead_ids:
        session.execute(
            update(Alarm)
            .where(Alarm.id.in_(dead_ids), Alarm.notification_status == S.PROCESSING)
            .values(claimed_until=now - timedelta(seconds=1))
            .execution_options(synchronize_session=False)
        )
    return len(dead_ids)


def _error_text(record: AttemptRecord) -> str:
    code = f" (code {record.error_code})" if record.error_code else ""
    return f"Channel {record.channel}: {record.error_message or record.outcome}{code}"
