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

from sqlalchemy import and_, bindparam, insert, null, or_, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from appliance.i18n import Sentence
from appliance.store.models import Alarm, AlarmStatus, Custodian, DeliveryAttempt, SystemParameter
from appliance.stored_text import CHANNEL_ERROR, CHANNEL_ERROR_CODE, INTERRUPTED, UNDELIVERABLE

S = AlarmStatus
# The transitions are Core statements on the tables: the ORM's bulk-update path and identity map
# cost more CPU than the statements themselves on the worker's hot path (bench/README.md).
_ALARMS = Alarm.__table__
_ATTEMPTS = DeliveryAttempt.__table__
# Where they run: the worker's plain connection (`Store.transaction`), or a service's ORM session.
Transaction = Connection | Session


def worker_identity() -> str:
    """Who holds a claim: host and pid, so a restarted worker can recognise its dead self."""
    return f"{socket.gethostname()}:{os.getpid()}"


def due(now: datetime, retry_grace: timedelta = timedelta(0)) -> ColumnElement[bool]:
    """SQL condition: an alarm a worker may take at `now`.

    New (PENDING), a retry whose time came (ERROR, `retry_grace` after `next_attempt_at`), or a
    claim whose lease ran out (PROCESSING). The claim uses no grace; the sweeper gives the
    worker's own wake-up message a head start.
    """
    return _due(now, now - retry_grace)


def _due(now: datetime | BindParameter, retry_from: datetime | BindParameter) -> ColumnElement[bool]:
    return or_(
        _ALARMS.c.notification_status == S.PENDING,
        and_(_ALARMS.c.notification_status == S.ERROR, _ALARMS.c.next_attempt_at <= retry_from),
        and_(_ALARMS.c.notification_status == S.PROCESSING, _ALARMS.c.claimed_until < now),
    )


@dataclass(frozen=True)
class Claimed:
    """An alarm as its delivery needs it, read by the claim itself (UPDATE ... RETURNING).

    Beside the alarm's own fields: `custodian_language` (the custodian's language, None when the
    row has no custodian) and `chosen_channel` (the `channel` system parameter, None when unset).
    """

    id: int
    subject_name: str
    recipient_phone: str
    created_at: datetime
    location: str
    is_test: bool
    source: str | None
    finder_note: str | None
    finder_phone: str | None
    clock_synced: bool
    boot_id: str | None
    created_monotonic: float | None
    time_corrected_at: datetime | None
    notification_attempts: int
    notification_error: str | None
    channel_plan: list[int] | None
    plan_position: int
    channel_attempts: int
    role: str
    escalation_reason: str | None
    custodian_language: str | None
    chosen_channel: str | None


_EXTRA = ("custodian_language", "chosen_channel")


def _claimed_columns() -> list[ColumnElement]:
    """The columns of `Claimed`: the alarm's, the custodian's language and the chosen channel (scalar subqueries)."""
    own = [_ALARMS.c[name] for name in Claimed.__dataclass_fields__ if name not in _EXTRA]
    language = select(Custodian.language).where(Custodian.id == _ALARMS.c.custodian_id).scalar_subquery()
    chosen = select(SystemParameter.value).where(SystemParameter.key == "channel").scalar_subquery()
    return [*own, language.label("custodian_language"), chosen.label("chosen_channel")]


# The statements of a successful delivery, built once with named parameters: building and keying a
# statement on every call cost the worker more CPU than running it (bench/README.md). The names
# are not column names (a parameter named like a column would add it to an UPDATE's SET).
_TIME = _ALARMS.c.updated_at.type
_ALARM, _OWNER, _NOW = bindparam("alarm"), bindparam("owner"), bindparam("now", type_=_TIME)
_UNTIL = bindparam("until", type_=_TIME)
_CLAIM = (
    update(_ALARMS)
    .where(_ALARMS.c.id == _ALARM, _due(_NOW, _NOW))
    .values(
        notification_status=S.PROCESSING,
        claimed_by=_OWNER,
        claimed_until=_UNTIL,
        enqueued_at=None,  # the message that brought the worker here is used up
        updated_at=_NOW,
    )
)
_CLAIM_RETURNING = _CLAIM.returning(*_claimed_columns())
_READ_CLAIMED = select(*_claimed_columns()).where(_ALARMS.c.id == _ALARM)


def claim(session: Transaction, alarm_id: int, now: datetime, owner: str, lease: timedelta) -> Claimed | None:
    """Move the alarm to PROCESSING for `owner`, held for `lease`, unless someone else holds it or it is done.

    Returns what the delivery reads of it, from the same statement where the database can
    (UPDATE ... RETURNING: SQLite 3.35 and later, PostgreSQL), else from a SELECT in the same
    transaction; None when the claim did not match.
    """
    params = {"alarm": alarm_id, "owner": owner, "now": now, "until": now + lease}
    dialect = session.dialect if isinstance(session, Connection) else session.get_bind().dialect
    if dialect.update_returning:
        row = session.execute(_CLAIM_RETURNING, params).first()
    elif session.execute(_CLAIM, params).rowcount == 1:
        row = session.execute(_READ_CLAIMED, {"alarm": alarm_id}).first()
    else:
        row = None
    return None if row is None else Claimed(**row._mapping)


def read_claimed(session: Transaction, alarm_id: int) -> Claimed:
    """The same view of an alarm this worker holds, again after its plan moved on."""
    return Claimed(**session.execute(_READ_CLAIMED, {"alarm": alarm_id}).one()._mapping)


def _update(session: Transaction, condition: ColumnElement[bool], **values: object) -> bool:
    """One conditional UPDATE of one alarm; True when it matched (the transition happened)."""
    return session.execute(update(_ALARMS).where(condition).values(**values)).rowcount == 1


def _held(alarm_id: int | BindParameter, owner: str | BindParameter) -> ColumnElement[bool]:
    return and_(_ALARMS.c.id == alarm_id, _ALARMS.c.notification_status == S.PROCESSING, _ALARMS.c.claimed_by == owner)


def fix_plan(session: Transaction, alarm_id: int, owner: str, plan: list[int]) -> None:
    """Record the channel order at the first claim, so that later retries keep it."""
    session.execute(_FIX_PLAN, {"alarm": alarm_id, "owner": owner, "plan": plan})


_FIX_PLAN = (
    update(_ALARMS)
    .where(_held(_ALARM, _OWNER), _ALARMS.c.channel_plan.is_(None))
    .values(channel_plan=bindparam("plan", type_=_ALARMS.c.channel_plan.type))
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
    session: Transaction, alarm_id: int, owner: str, channel: int, started_at: datetime, lease: timedelta
) -> int | None:
    """Before calling a provider: an `in_flight` attempt, the lease extended to cover the send.

    Returns the attempt's id, or None when `owner` no longer holds the alarm (then nothing may
    be sent). The attempt counts here, once, whatever its outcome turns out to be.
    """
    params = {"alarm": alarm_id, "owner": owner, "now": started_at, "until": started_at + lease}
    if session.execute(_BEGIN_SEND, params).rowcount != 1:
        return None
    row = {"alarm_id": alarm_id, "channel": channel, "started_at": started_at, "outcome": "in_flight"}
    return session.execute(_NEW_ATTEMPT, row).inserted_primary_key[0]


_BEGIN_SEND = (
    update(_ALARMS)
    .where(_held(_ALARM, _OWNER))
    .values(
        claimed_until=_UNTIL,
        notification_attempts=_ALARMS.c.notification_attempts + 1,
        last_attempt=_NOW,
        updated_at=_NOW,
    )
)
_NEW_ATTEMPT = insert(_ATTEMPTS)
_ACCEPTED = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == bindparam("attempt"))
    .values(outcome="sent", provider_message_id=bindparam("message"), duration_ms=bindparam("took"))
)


def record_accepted(session: Transaction, attempt_id: int, message_id: str, duration_ms: float) -> None:
    """The provider accepted the send: its message id, in the attempt row.

    Unconditional: whoever holds the alarm now, this is what the provider did.
    """
    session.execute(_ACCEPTED, {"attempt": attempt_id, "message": message_id, "took": duration_ms})


def accepted_attempt(session: Transaction, alarm_id: int) -> Row | None:
    """A send of this alarm the provider accepted (its id recorded): its `channel` and `provider_message_id`.

    A claimed alarm with such an attempt was sent by a worker that could not record SENT: it is
    finished with `mark_sent`, never sent again. (An admin's retry marks earlier sends `undelivered` first.)
    """
    return session.execute(
        select(_ATTEMPTS.c.channel, _ATTEMPTS.c.provider_message_id)
        .where(
            _ATTEMPTS.c.alarm_id == alarm_id,
            _ATTEMPTS.c.outcome == "sent",
            _ATTEMPTS.c.provider_message_id.is_not(None),
        )
        .order_by(_ATTEMPTS.c.id)
        .limit(1)
    ).first()


def close_interrupted(session: Transaction, alarm_id: int, owner: str, now: datetime) -> int:
    """`in_flight` attempts of a worker that stopped before any outcome: `interrupted`, each a try on its channel.

    They count against the channel's tries, so that a worker dying in every send still moves
    along the plan. Returns how many there were.
    """
    found = session.execute(
        select(_ATTEMPTS.c.id, _ATTEMPTS.c.channel)
        .where(_ATTEMPTS.c.alarm_id == alarm_id, _ATTEMPTS.c.outcome == "in_flight")
        .order_by(_ATTEMPTS.c.id)
    ).all()
    if not found:
        return 0
    session.execute(
        update(_ATTEMPTS)
        .where(_ATTEMPTS.c.id.in_([attempt.id for attempt in found]))
        .values(outcome="interrupted", error_code="interrupted", error_message=INTERRUPTED)
    )
    _update(
        session,
        _held(alarm_id, owner),
        channel_attempts=_ALARMS.c.channel_attempts + len(found),
        notification_error=str(Sentence(CHANNEL_ERROR, channel=found[-1].channel, error=INTERRUPTED)),
        updated_at=now,
    )
    return len(found)


def _settle(session: Transaction, alarm_id: int, record: AttemptRecord) -> dict:
    """Write an attempt's outcome; returns the seed counters a new real attempt adds (a settled one counted already)."""
    values = {
        "outcome": record.outcome,
        "duration_ms": record.duration_ms,
        "error_code": record.error_code,
        "error_message": record.error_message,
    }
    if record.attempt_id is not None:
        session.execute(update(_ATTEMPTS).where(_ATTEMPTS.c.id == record.attempt_id).values(**values))
        return {}
    row = {"alarm_id": alarm_id, "channel": record.channel, "started_at": record.started_at, **values}
    session.execute(insert(_ATTEMPTS).values(**row))
    if record.outcome == "skipped":
        return {}
    return {"notification_attempts": _ALARMS.c.notification_attempts + 1, "last_attempt": record.started_at}


def mark_sent(
    session: Transaction, alarm_id: int, owner: str, channel: int, message_id: str, id_field: str, now: datetime
) -> bool:
    """The provider accepted the message on `channel`: SENT with its id in the channel's column `id_field`.

    Earlier channels' errors stay as a note. The attempt row says "sent" (`record_accepted`).
    """
    params = {"alarm": alarm_id, "owner": owner, "number": channel, "message": message_id, "now": now}
    return session.execute(_MARK_SENT[id_field], params).rowcount == 1


_MARK_SENT = {  # by the channel's id column (`Channel.message_id_field`)
    id_field: update(_ALARMS)
    .where(_held(_ALARM, _OWNER))
    .values(
        notification_status=S.SENT,
        notification_sent=True,
        channel=bindparam("number"),
        sent_at=_NOW,
        claimed_by=None,
        claimed_until=None,
        next_attempt_at=None,
        updated_at=_NOW,
        **{id_field: bindparam("message")},
    )
    for id_field in ("whatsapp_message_id", "message_sid")
}


def mark_retry(
    session: Transaction, alarm_id: int, owner: str, record: AttemptRecord, retry_at: datetime, now: datetime
) -> bool:
    """A transient failure with attempts left on this channel: ERROR, due again at `retry_at`."""
    return _update(
        session,
        _held(alarm_id, owner),
        notification_status=S.ERROR,
        notification_error=_error_text(record),
        channel_attempts=_ALARMS.c.channel_attempts + 1,
        next_attempt_at=retry_at,
        claimed_by=None,
        claimed_until=None,
        updated_at=now,
        **_settle(session, alarm_id, record),
    )


def mark_next_channel(
    session: Transaction, alarm_id: int, owner: str, record: AttemptRecord | None, now: datetime, lease: timedelta
) -> bool:
    """This channel is finished (permanent error, skipped, or out of attempts): move along the plan.

    `record` is the try that finished it; None when interrupted tries used the channel up.
    """
    note = {} if record is None else {"notification_error": _error_text(record), **_settle(session, alarm_id, record)}
    return _update(
        session,
        _held(alarm_id, owner),
        plan_position=_ALARMS.c.plan_position + 1,
        channel_attempts=0,
        claimed_until=now + lease,
        updated_at=now,
        **note,
    )


def mark_failed(session: Transaction, alarm_id: int, owner: str, error: str, now: datetime) -> bool:
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


def restart_plan(
    session: Transaction, alarm_id: int, owner: str, error: str, retry_at: datetime, now: datetime
) -> bool:
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
        and_(_ALARMS.c.id == alarm_id, _ALARMS.c.notification_status == S.FAILED),
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
            update(_ATTEMPTS)
            .where(_ATTEMPTS.c.alarm_id == alarm_id, _ATTEMPTS.c.outcome == "sent")
            .values(outcome="undelivered")
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
        select(Alarm).where(
            or_(_ALARMS.c.whatsapp_message_id == report.message_id, _ALARMS.c.message_sid == report.message_id)
        )
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
        _update(
            session, and_(_ALARMS.c.id == alarm.id, _ALARMS.c.notification_status == current), updated_at=now, **values
        )
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
        and_(_ALARMS.c.id == alarm.id, _ALARMS.c.notification_status == S.SENT, _ALARMS.c.rerouted_at.is_(None)),
        notification_status=S.ERROR,
        notification_error=report.error or UNDELIVERABLE,
        provider_status="failed",
        plan_position=_ALARMS.c.plan_position + 1,
        channel_attempts=0,
        next_attempt_at=now,
        rerouted_at=now,
        whatsapp_message_id=None,
        message_sid=None,
        updated_at=now,
    )
    if moved:
        session.execute(
            update(_ATTEMPTS)
            .where(_ATTEMPTS.c.alarm_id == alarm.id, _ATTEMPTS.c.provider_message_id == report.message_id)
            .values(outcome="undelivered", error_message=report.error)
        )
    return moved


def release_dead_claims(session: Session, host: str, alive: set[str], now: datetime) -> int:
    """Expire PROCESSING leases held by this host's dead worker processes (checked at worker start)."""
    held = session.execute(
        select(_ALARMS.c.id, _ALARMS.c.claimed_by).where(
            _ALARMS.c.notification_status == S.PROCESSING, _ALARMS.c.claimed_by.like(f"{host}:%")
        )
    ).all()
    dead_ids = [row.id for row in held if row.claimed_by not in alive]
    if dead_ids:
        session.execute(
            update(_ALARMS)
            .where(_ALARMS.c.id.in_(dead_ids), _ALARMS.c.notification_status == S.PROCESSING)
            .values(claimed_until=now - timedelta(seconds=1))
        )
    return len(dead_ids)


def _error_text(record: AttemptRecord) -> str:
    error = record.error_message or record.outcome
    if record.error_code:
        return str(Sentence(CHANNEL_ERROR_CODE, channel=record.channel, error=error, code=record.error_code))
    return str(Sentence(CHANNEL_ERROR, channel=record.channel, error=error))
