"""The one state machine of an alarm's notification.

Every change of `notification_status` and of the seed's fields (`notification_sent`,
`notification_attempts`, `last_attempt`, `notification_error`, `whatsapp_message_id`,
`message_sid`) happens here, as conditional UPDATEs that work the same on SQLite and
PostgreSQL. The worker, the sweeper, webhooks, the beat's poll and the admin page call these
through the services. `due` is the one rule of when an alarm may be worked on; the claim uses
it as it is, the outbox sweeper with its grace (see docs/delivery.md).

A send leaves a trace before it starts: `begin_send` writes an `in_flight` attempt (and
extends the lease) before the provider is called, `record_accepted` writes the provider's
message id into that row before anything else, and only then `mark_sent` moves the alarm.
So a later claim can tell a send that went out (`accepted_attempt`: finish it, never send
again) from one that was cut off (`close_interrupted`: it may have gone out; send again).

    PENDING ──claim──► PROCESSING ──accepted──► SENT ──provider──► DELIVERED
       ▲                 │   │                   │
       │         transient│   │no channel left    ├──provider failed, next channel once──► ERROR
       │                 │   │                   └──provider failed, plan spent──► FAILED
       │                 ▼   ▼
       └─admin retry─ ERROR  FAILED        ERROR ──due──► claim again
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, null, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from appliance.i18n import Sentence
from appliance.store.models import Alarm, AlarmStatus, DeliveryAttempt
from appliance.stored_text import CHANNEL_ERROR, CHANNEL_ERROR_CODE, INTERRUPTED, UNDELIVERABLE

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


def claim(session: Session, alarm_id: int, now: datetime, owner: str, lease: timedelta) -> bool:
    """Move the alarm to PROCESSING for `owner`, held for `lease`, unless someone else holds it or it is done."""
    return _update(
        session,
        and_(Alarm.id == alarm_id, due(now)),
        notification_status=S.PROCESSING,
        claimed_by=owner,
        claimed_until=now + lease,
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
    """The outcome of one try: settles its `in_flight` row (`attempt_id`), or is a new row (a skip)."""

    channel: int
    started_at: datetime
    outcome: str  # transient | permanent | skipped (sent: `record_accepted`)
    duration_ms: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    attempt_id: int | None = None  # the row `begin_send` wrote; None: no request was made


def begin_send(
    session: Session, alarm_id: int, owner: str, channel: int, started_at: datetime, lease: timedelta
) -> int | None:
    """Before calling a provider: an `in_flight` attempt, the lease extended to cover the send.

    Returns the attempt's id, or None when `owner` no longer holds the alarm (then nothing may
    be sent). The attempt counts here, once, whatever its outcome turns out to be.
    """
    held = _update(
        session,
        _held(alarm_id, owner),
        claimed_until=started_at + lease,
        notification_attempts=Alarm.notification_attempts + 1,
        last_attempt=started_at,
        updated_at=started_at,
    )
    if not held:
        return None
    attempt = DeliveryAttempt(alarm_id=alarm_id, channel=channel, started_at=started_at, outcome="in_flight")
    session.add(attempt)
    session.flush()
    return attempt.id


def record_accepted(session: Session, attempt_id: int, message_id: str, duration_ms: float) -> None:
    """The provider accepted the send: its message id, in the attempt row, before anything else.

    Unconditional: whoever holds the alarm now, this is what the provider did.
    """
    session.execute(
        update(DeliveryAttempt)
        .where(DeliveryAttempt.id == attempt_id)
        .values(outcome="sent", provider_message_id=message_id, duration_ms=duration_ms)
        .execution_options(synchronize_session=False)
    )


def accepted_attempt(session: Session, alarm_id: int) -> DeliveryAttempt | None:
    """A send of this alarm the provider accepted (its id recorded), if there is one.

    A claimed alarm with such an attempt was sent by a worker that could not record SENT: it is
    finished with `mark_sent`, never sent again. (An admin's retry marks earlier sends `undelivered` first.)
    """
    return session.scalars(
        select(DeliveryAttempt)
        .where(
            DeliveryAttempt.alarm_id == alarm_id,
            DeliveryAttempt.outcome == "sent",
            DeliveryAttempt.provider_message_id.is_not(None),
        )
        .order_by(DeliveryAttempt.id)
    ).first()


def close_interrupted(session: Session, alarm_id: int, owner: str, now: datetime) -> int:
    """`in_flight` attempts of a worker that stopped before any outcome: `interrupted`, each a try on its channel.

    They count against the channel's tries, so that a worker dying in every send still moves
    along the plan. Returns how many there were.
    """
    found = session.scalars(
        select(DeliveryAttempt).where(DeliveryAttempt.alarm_id == alarm_id, DeliveryAttempt.outcome == "in_flight")
    ).all()
    if not found:
        return 0
    session.execute(
        update(DeliveryAttempt)
        .where(DeliveryAttempt.id.in_([attempt.id for attempt in found]))
        .values(outcome="interrupted", error_code="interrupted", error_message=INTERRUPTED)
        .execution_options(synchronize_session=False)
    )
    _update(
        session,
        _held(alarm_id, owner),
        channel_attempts=Alarm.channel_attempts + len(found),
        notification_error=str(Sentence(CHANNEL_ERROR, channel=found[-1].channel, error=INTERRUPTED)),
        updated_at=now,
    )
    return len(found)


def _settle(session: Session, alarm_id: int, record: AttemptRecord) -> dict:
    """Write an attempt's outcome; returns the seed counters a new real attempt adds (a settled one counted already)."""
    values = {
        "outcome": record.outcome,
        "duration_ms": record.duration_ms,
        "error_code": record.error_code,
        "error_message": record.error_message,
    }
    if record.attempt_id is not None:
        session.execute(
            update(DeliveryAttempt)
            .where(DeliveryAttempt.id == record.attempt_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return {}
    session.add(DeliveryAttempt(alarm_id=alarm_id, channel=record.channel, started_at=record.started_at, **values))
    if record.outcome == "skipped":
        return {}
    return {"notification_attempts": Alarm.notification_attempts + 1, "last_attempt": record.started_at}


def mark_sent(
    session: Session, alarm_id: int, owner: str, channel: int, message_id: str, id_field: str, now: datetime
) -> bool:
    """The provider accepted the message on `channel`: SENT with its id in the channel's column `id_field`.

    Earlier channels' errors stay as a note. The attempt row already says "sent" (`record_accepted`).
    """
    return _update(
        session,
        _held(alarm_id, owner),
        notification_status=S.SENT,
        notification_sent=True,
        channel=channel,
        sent_at=now,
        claimed_by=None,
        claimed_until=None,
        next_attempt_at=None,
        updated_at=now,
        **{id_field: message_id},
    )


def mark_retry(
    session: Session, alarm_id: int, owner: str, record: AttemptRecord, retry_at: datetime, now: datetime
) -> bool:
    """A transient failure with attempts left on this channel: ERROR, due again at `retry_at`."""
    return _update(
        session,
        _held(alarm_id, owner),
        notification_status=S.ERROR,
        notification_error=_error_text(record),
        channel_attempts=Alarm.channel_attempts + 1,
        next_attempt_at=retry_at,
        claimed_by=None,
        claimed_until=None,
        updated_at=now,
        **_settle(session, alarm_id, record),
    )


def mark_next_channel(
    session: Session, alarm_id: int, owner: str, record: AttemptRecord | None, now: datetime, lease: timedelta
) -> bool:
    """This channel is finished (permanent error, skipped, or out of attempts): move along the plan.

    `record` is the try that finished it; None when interrupted tries used the channel up.
    """
    note = {} if record is None else {"notification_error": _error_text(record), **_settle(session, alarm_id, record)}
    return _update(
        session,
        _held(alarm_id, owner),
        plan_position=Alarm.plan_position + 1,
        channel_attempts=0,
        claimed_until=now + lease,
        updated_at=now,
        **note,
    )


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
    """An admin's retry of a FAILED alarm, whatever made it fail: back to PENDING with a fresh plan.

    An alarm the provider took and then reported undeliverable failed too: its accepted sends
    become `undelivered` (so the next claim sends anew instead of finishing the old message) and
    the old message ids are cleared, so a late report about them cannot touch the new send.
    """
    requeued = _update(
        session,
        and_(Alarm.id == alarm_id, Alarm.notification_status == S.FAILED),
        notification_status=S.PENDING,
        notification_sent=False,
        channel=None,
        whatsapp_message_id=None,
        message_sid=None,
        provider_status=None,
        sent_at=None,
        delivered_at=None,
        channel_plan=null(),  # SQL NULL, which `fix_plan` looks for (None would be stored as JSON 'null')
        plan_position=0,
        channel_attempts=0,
        next_attempt_at=None,
        enqueued_at=now,
        updated_at=now,
    )
    if requeued:
        session.execute(
            update(DeliveryAttempt)
            .where(DeliveryAttempt.alarm_id == alarm_id, DeliveryAttempt.outcome == "sent")
            .values(outcome="undelivered")
            .execution_options(synchronize_session=False)
        )
    return requeued


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
        if current == S.SENT and _reroute(session, alarm, report, now):
            return alarm
        if current == S.SENT:  # a delivery already reported cannot be undone by a late failure
            values = {
                "notification_status": S.FAILED,
                "provider_status": "failed",
                "notification_error": report.error or UNDELIVERABLE,
            }
    elif current in (S.SENT, S.DELIVERED) and _PROGRESS[report.state] > _PROGRESS.get(alarm.provider_status, -1):
        values = {"provider_status": report.state}  # statuses only move forward, whatever order they arrive in
        if current == S.SENT and report.state in ("delivered", "read"):
            values.update(notification_status=S.DELIVERED, delivered_at=now)
    if values:
        _update(session, and_(Alarm.id == alarm.id, Alarm.notification_status == current), updated_at=now, **values)
    return alarm


def _reroute(session: Session, alarm: Alarm, report: ProviderReport, now: datetime) -> bool:
    """Undeliverable after SENT: on to the next channel of the plan, once; False when that is not possible.

    The message that failed is written off in its attempt row (so a later claim does not take it
    for an accepted send and record SENT again) and its id leaves the alarm (a late report about
    it finds nothing); the alarm is ERROR and due at once, on the next channel, with fresh tries.
    """
    plan = alarm.channel_plan or []
    if alarm.rerouted_at is not None or alarm.plan_position + 1 >= len(plan):
        return False
    moved = _update(
        session,
        and_(Alarm.id == alarm.id, Alarm.notification_status == S.SENT, Alarm.rerouted_at.is_(None)),
        notification_status=S.ERROR,
        notification_error=report.error or UNDELIVERABLE,
        provider_status="failed",
        plan_position=Alarm.plan_position + 1,
        channel_attempts=0,
        next_attempt_at=now,
        rerouted_at=now,
        whatsapp_message_id=None,
        message_sid=None,
        updated_at=now,
    )
    if moved:
        session.execute(
            update(DeliveryAttempt)
            .where(DeliveryAttempt.alarm_id == alarm.id, DeliveryAttempt.provider_message_id == report.message_id)
            .values(outcome="undelivered", error_message=report.error)
            .execution_options(synchronize_session=False)
        )
    return moved


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
    error = record.error_message or record.outcome
    if record.error_code:
        return str(Sentence(CHANNEL_ERROR_CODE, channel=record.channel, error=error, code=record.error_code))
    return str(Sentence(CHANNEL_ERROR, channel=record.channel, error=error))
