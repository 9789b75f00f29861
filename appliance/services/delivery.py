"""Deliver one alarm: claim it, walk its channel plan, and record every attempt.

Each channel gets at most `ATTEMPTS_PER_CHANNEL` tries. A transient error schedules the next
try on the same channel (5 s, then 25 s: three tries well inside two minutes); a permanent
error, or a channel without credentials, moves to the next channel at once. `deliver` owns
the retry schedule: it writes the time of the next try in the alarm (`next_attempt_at`) and
says how long to wait (`retry_in`); the worker's task turns that into one wake-up message and
the outbox sweeper is the safety net (docs/delivery.md).

A kiosk's network drops for minutes at a time. When every attempt so far failed without any
provider answering (connection refused, no route, connect timeout), the alarm is not FAILED:
it waits as ERROR and the whole plan starts again after 1, 2, 5, then every 10 minutes, for a
day. Only a provider's own refusal, or a day without network, makes an alarm FAILED.

A message must never reach a parent twice. Before the provider is called the try is written
as `in_flight` (and the lease extended: `claim_lease` outlasts the longest send plus every
retry of the writes after it); once the provider accepted, its message id is written into
that row first, then the alarm becomes SENT, each write retried with back-off while the
database is locked. A later claim that finds the id finishes the alarm instead of sending it
again; one that finds a bare `in_flight` row sends again (docs/delivery.md weighs that).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from appliance import stored_text
from appliance.errors import ChannelNotConfigured, PermanentSendError, SendError, TransientSendError
from appliance.i18n import Sentence, gettext
from appliance.messaging.base import Notification, SendResult
from appliance.messaging.format import format_timestamp
from appliance.services.clock_sync import TIME_UNKNOWN, corrected_time, monotonic_age, time_known
from appliance.services.kiosk import Kiosk
from appliance.services.parameters import channel_number
from appliance.store import alarm_state
from appliance.store.alarm_state import AttemptRecord, Claimed, worker_identity
from appliance.store.db import SQLITE_BUSY_TIMEOUT_MS
from appliance.store.models import AlarmStatus, DeliveryAttempt

logger = logging.getLogger(__name__)

ATTEMPTS_PER_CHANNEL = 3
RETRY_DELAYS = (5.0, 25.0)  # seconds before the 2nd and 3rd try on a channel
MAX_RETRY_AFTER = 60.0  # a provider's Retry-After is honoured up to this
UNREACHABLE = frozenset({"connection", "connect_timeout"})  # error codes meaning no provider heard us
OFFLINE_RETRY_DELAYS = (60.0, 120.0, 300.0, 600.0)  # between rounds of the plan while offline
OFFLINE_GIVE_UP = timedelta(hours=24)  # of offline rounds, by attempts and monotonic time, never the wall clock
COMMIT_RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)  # pauses between tries of a write refused as locked
LEASE_MARGIN = 30.0  # seconds beyond the sums below: DNS, a second address's connect, a slow SD card

T = TypeVar("T")


@dataclass(frozen=True)
class DeliveryResult:
    """What `deliver` did: the status it left, and when to try again.

    `retry_in` is set for ERROR, and for PROCESSING: a send went out but the database refused
    to record it, and the alarm is due again once its lease has run out.
    """

    status: AlarmStatus | None  # None: not claimed (done already, or held by another worker)
    retry_in: float | None = None


def longest_send(kiosk: Kiosk) -> float:
    """Seconds the slowest channel's provider call may take: its connect plus read timeout."""
    return max(connect + read for connect, read in (channel.timeout for channel in kiosk.channels.values()))


def commit_retry_budget() -> float:
    """Seconds the writes after a send may keep retrying: every try may wait SQLite's busy timeout."""
    tries = len(COMMIT_RETRY_DELAYS) + 1
    return tries * SQLITE_BUSY_TIMEOUT_MS / 1000 + sum(COMMIT_RETRY_DELAYS)


def claim_lease(kiosk: Kiosk) -> timedelta:
    """How long a claim holds an alarm: the longest send, the retried writes after it, and a margin.

    Set at the claim, and again just before every provider call, so that it cannot run out
    while a send is in flight or its outcome is still being written.
    """
    return timedelta(seconds=longest_send(kiosk) + commit_retry_budget() + LEASE_MARGIN)


def channel_plan(kiosk: Kiosk, first: int) -> list[int]:
    """The chosen channel first, then every other channel that has credentials, in number order."""
    others = [number for number, channel in kiosk.channels.items() if number != first and channel.is_configured()]
    return [first, *others]


def retry_delay(channel_attempts: int, error: SendError) -> float:
    """Seconds before the next try on the same channel after `channel_attempts` failed tries."""
    base = RETRY_DELAYS[min(channel_attempts - 1, len(RETRY_DELAYS) - 1)]
    if error.retry_after:
        return min(max(base, error.retry_after), MAX_RETRY_AFTER)
    return base


def recipient_language(kiosk: Kiosk, alarm: Claimed) -> str:
    """A custodian is written to in their own language; the on-duty contact in the kiosk's."""
    if alarm.role == "custodian" and alarm.custodian_language is not None:
        return alarm.custodian_language
    return kiosk.settings.language


def _timestamp_text(kiosk: Kiosk, alarm: Claimed, language: str) -> str:
    """The alarm's time as the message says it: corrected from the monotonic clock when it was
    recorded before the sync and the clock is set now (the beat's sweep stores the same figure),
    else "time unknown" rather than a stale time."""
    moment = alarm.created_at if time_known(alarm) else corrected_time(kiosk, alarm)
    if moment is None:
        return gettext(language, TIME_UNKNOWN)
    return format_timestamp(moment, kiosk.zone, language)


def notification_for(kiosk: Kiosk, alarm: Claimed) -> Notification:
    language = recipient_language(kiosk, alarm)
    return Notification(
        recipient_phone=alarm.recipient_phone,
        subject_name=alarm.subject_name,
        timestamp_text=_timestamp_text(kiosk, alarm, language),
        location=alarm.location,
        is_test=alarm.is_test,
        language=language,
        escalation=alarm.escalation_reason,
        from_phone=alarm.source == "phone",
        finder_note=alarm.finder_note,
        finder_phone=alarm.finder_phone,
    )


def deliver(kiosk: Kiosk, alarm_id: int, owner: str | None = None) -> DeliveryResult:
    """Try to hand alarm `alarm_id` to a provider; safe to call any number of times."""
    owner = owner or worker_identity()
    now = kiosk.clock.now()
    # Durable for the in-flight record of the first try, usually written here too: on disk before
    # the send. The claim alone need not be (one lost in a power cut is made again).
    with kiosk.store.transaction() as connection:
        alarm = alarm_state.claim(connection, alarm_id, now, owner, claim_lease(kiosk))
        if alarm is None:
            logger.info("Alarm %s not claimed: already handled or held by another worker", alarm_id)
            return DeliveryResult(None)
        if alarm.channel_plan is None:
            plan = channel_plan(kiosk, channel_number(alarm.chosen_channel))
            alarm_state.fix_plan(connection, alarm_id, owner, plan)
            alarm = replace(alarm, channel_plan=plan)
        if alarm.notification_attempts:  # none yet: no send can be open or accepted (`begin_send` counts each)
            accepted = alarm_state.accepted_attempt(connection, alarm_id)
            if accepted is not None:
                number, message_id = accepted.channel, accepted.provider_message_id
                return _finish_accepted(kiosk, connection, alarm_id, owner, number, message_id)
            if alarm_state.close_interrupted(connection, alarm_id, owner, now):
                logger.warning("Alarm %s: a send was cut off before the provider answered; sending again", alarm_id)
                alarm = None  # its tries on the channel changed: read again below
        begun = None if alarm is None else _begin_with_claim(kiosk, connection, alarm, owner)
    while True:
        if alarm is None:  # after the claim's own view: the plan moved on, or interrupted tries counted
            with kiosk.store.reading() as connection:
                alarm = alarm_state.read_claimed(connection, alarm_id)
        plan = alarm.channel_plan
        assert plan is not None  # fixed by the claim above
        position, attempts_here = alarm.plan_position, alarm.channel_attempts
        if position >= len(plan):
            offline_rounds = _offline_rounds(kiosk, alarm_id, len(plan))
            if offline_rounds and not _offline_time_spent(kiosk, alarm, offline_rounds):
                return _wait_for_network(kiosk, alarm_id, owner, offline_rounds)
            return _fail(kiosk, alarm_id, owner, alarm.notification_error)
        if attempts_here >= ATTEMPTS_PER_CHANNEL:  # used up by interrupted sends
            with kiosk.store.transaction() as connection:
                alarm_state.mark_next_channel(connection, alarm_id, owner, None, kiosk.clock.now(), claim_lease(kiosk))
        else:
            notification = notification_for(kiosk, alarm)
            outcome = _attempt(kiosk, alarm_id, owner, plan[position], notification, attempts_here, begun)
            if outcome is not None:
                return outcome
        alarm = begun = None


@dataclass(frozen=True)
class _Begun:
    """A try whose `in_flight` row is written (`alarm_state.begin_send`): what its outcome is recorded against."""

    attempt_id: int
    started_at: datetime


def _begin_with_claim(kiosk: Kiosk, connection: Connection, alarm: Claimed, owner: str) -> _Begun | None:
    """When the claimed alarm's next step is a send, its `in_flight` row in the claim's transaction.

    One transaction fewer per alarm (bench/README.md, "Delivery"); None when the next step is
    not a send (plan used up, tries used up, a channel without credentials): the loop decides.
    """
    plan = alarm.channel_plan
    assert plan is not None  # fixed by the claim
    if alarm.plan_position >= len(plan) or alarm.channel_attempts >= ATTEMPTS_PER_CHANNEL:
        return None
    number = plan[alarm.plan_position]
    if not kiosk.channels[number].is_configured():
        return None
    return _begin(kiosk, connection, alarm.id, owner, number)


def _begin(kiosk: Kiosk, connection: Connection, alarm_id: int, owner: str, number: int) -> _Begun | None:
    """A try on channel `number` from now: its `in_flight` row, the lease extended; None when `owner` lost the alarm."""
    started = kiosk.clock.now()
    attempt_id = alarm_state.begin_send(connection, alarm_id, owner, number, started, claim_lease(kiosk))
    return None if attempt_id is None else _Begun(attempt_id, started)


def _finish_accepted(
    kiosk: Kiosk, connection: Connection, alarm_id: int, owner: str, number: int, message_id: str | None
) -> DeliveryResult:
    """An earlier claim's send was accepted but SENT was never recorded: record it now, send nothing."""
    assert message_id is not None  # `accepted_attempt` only finds attempts with an id
    id_field = kiosk.channels[number].message_id_field
    alarm_state.mark_sent(connection, alarm_id, owner, number, message_id, id_field, kiosk.clock.now())
    logger.warning("Alarm %s had been sent as %s; recorded SENT without sending again", alarm_id, message_id)
    return DeliveryResult(AlarmStatus.SENT)


def _attempt(
    kiosk: Kiosk,
    alarm_id: int,
    owner: str,
    number: int,
    notification: Notification,
    attempts_here: int,
    begun: _Begun | None = None,
) -> DeliveryResult | None:
    """One try on channel `number`, its `in_flight` row written already when `begun`; None: on to the next channel."""
    channel = kiosk.channels[number]
    if begun is None:
        if not channel.is_configured():
            skipped = ChannelNotConfigured(Sentence(stored_text.NOT_CONFIGURED, channel=channel.name))
            record = AttemptRecord(number, kiosk.clock.now(), "skipped", None, skipped.code, str(skipped))
            return _after_error(kiosk, alarm_id, owner, record, skipped, attempts_here)
        with kiosk.store.transaction() as connection:
            begun = _begin(kiosk, connection, alarm_id, owner, number)
        if begun is None:
            logger.warning("Alarm %s: no longer held by %s; not sending", alarm_id, owner)
            return DeliveryResult(None)
    attempt_id, started = begun.attempt_id, begun.started_at
    t0 = time.perf_counter()
    try:
        sent = channel.send(notification)
    except SendError as error:
        record = AttemptRecord(
            number, started, _outcome_word(error), _ms(t0), error.code, str(error), attempt_id=attempt_id
        )
        return _after_error(kiosk, alarm_id, owner, record, error, attempts_here)
    except Exception as error:  # a bug or an unexpected library error must not lose the alarm
        logger.exception("Alarm %s: unexpected error on channel %s", alarm_id, number)
        wrapped = TransientSendError(Sentence(stored_text.UNEXPECTED, error=str(error)))
        record = AttemptRecord(number, started, "transient", _ms(t0), None, str(wrapped), attempt_id=attempt_id)
        return _after_error(kiosk, alarm_id, owner, record, wrapped, attempts_here)
    return _record_sent(kiosk, alarm_id, owner, attempt_id, sent, _ms(t0))


def _record_sent(
    kiosk: Kiosk, alarm_id: int, owner: str, attempt_id: int, sent: SendResult, duration_ms: float
) -> DeliveryResult:
    """The provider took the message: SENT and its id in the attempt row, in one transaction retried while
    the database is locked; if that is refused past the retries, the id alone.

    With the id recorded the alarm stays PROCESSING and the worker wakes once the lease has run
    out: that claim finds the id and records SENT without sending. The alarm's row is written
    before the attempt's, in the order a claim takes them (no deadlock on PostgreSQL).
    """
    id_field = kiosk.channels[sent.channel].message_id_field

    def sent_with_id(connection: Connection) -> None:
        alarm_state.mark_sent(connection, alarm_id, owner, sent.channel, sent.message_id, id_field, kiosk.clock.now())
        alarm_state.record_accepted(connection, attempt_id, sent.message_id, duration_ms)

    try:
        _write(kiosk, sent_with_id)
    except OperationalError:
        pass
    else:
        logger.info("Alarm %s sent on channel %s as %s", alarm_id, sent.channel, sent.message_id)
        return DeliveryResult(AlarmStatus.SENT)
    try:  # on disk by the task's sync before its ack (`Store.transaction(durable=...)`)
        _write(kiosk, lambda s: alarm_state.record_accepted(s, attempt_id, sent.message_id, duration_ms), durable=False)
    except OperationalError:
        logger.critical(
            "Alarm %s was sent as %s but the database refused its id; the next claim sends it again",
            alarm_id,
            sent.message_id,
        )
    else:
        logger.error(
            "Alarm %s was sent as %s; the next claim records SENT (the database refused it)", alarm_id, sent.message_id
        )
    return DeliveryResult(AlarmStatus.PROCESSING, retry_in=claim_lease(kiosk).total_seconds() + 1)


def _write(kiosk: Kiosk, write: Callable[[Connection], T], *, durable: bool = True) -> T:
    """Run `write` in a transaction of its own, again after each of `COMMIT_RETRY_DELAYS` while the database refuses.

    SQLite answers "database is locked" once another process held the write lock for its whole
    busy timeout; PostgreSQL raises OperationalError when its connection breaks. The last
    refusal goes to the caller.
    """
    for pause in COMMIT_RETRY_DELAYS:
        try:
            with kiosk.store.transaction(durable=durable) as connection:
                return write(connection)
        except OperationalError as error:
            logger.warning("Database write refused (%s); trying again in %.1f s", error.orig, pause)
            time.sleep(pause)
    with kiosk.store.transaction(durable=durable) as connection:
        return write(connection)


def _after_error(
    kiosk: Kiosk, alarm_id: int, owner: str, record: AttemptRecord, error: SendError, attempts_here: int
) -> DeliveryResult | None:
    now = kiosk.clock.now()
    tries_left = ATTEMPTS_PER_CHANNEL - (attempts_here + 1)
    if isinstance(error, TransientSendError) and tries_left > 0:
        delay = retry_delay(attempts_here + 1, error)
        _write(kiosk, lambda s: alarm_state.mark_retry(s, alarm_id, owner, record, now + timedelta(seconds=delay), now))
        logger.warning(
            "Alarm %s: channel %s failed (%s); retry in %.0f s (%d left)",
            alarm_id,
            record.channel,
            error,
            delay,
            tries_left,
        )
        return DeliveryResult(AlarmStatus.ERROR, retry_in=delay)
    _write(kiosk, lambda s: alarm_state.mark_next_channel(s, alarm_id, owner, record, now, claim_lease(kiosk)))
    logger.warning("Alarm %s: channel %s given up (%s); trying the next channel", alarm_id, record.channel, error)
    return None


def _offline_rounds(kiosk: Kiosk, alarm_id: int, channels: int) -> int:
    """How many rounds of the plan ended with no provider reachable (0: the last try reached one).

    Only the newest try says whether the network is there now: a provider that hung or refused
    before a power cut says nothing about a Wi-Fi still coming back after it, and failing the
    alarm then would leave the family untold.
    """
    with kiosk.store.reading() as connection:
        codes = list(
            connection.scalars(
                select(DeliveryAttempt.error_code)
                .where(
                    DeliveryAttempt.alarm_id == alarm_id,
                    DeliveryAttempt.outcome.not_in(("skipped", "interrupted")),
                )
                .order_by(DeliveryAttempt.id)
            )
        )
    if not codes or codes[-1] not in UNREACHABLE:
        return 0
    return max(1, len(codes) // (ATTEMPTS_PER_CHANNEL * channels))


def _offline_time_spent(kiosk: Kiosk, alarm: Claimed, rounds: int) -> bool:
    """Has the alarm waited `OFFLINE_GIVE_UP` for the network? Never judged by the wall clock.

    The wall clock jumps when the network time arrives after a power cut (the Pi has no clock),
    so the wait is the longer of what the rounds so far have waited by schedule, and the
    monotonic time since the alarm was recorded (known only within the boot it was recorded in).
    """
    scheduled = sum(OFFLINE_RETRY_DELAYS[min(n, len(OFFLINE_RETRY_DELAYS)) - 1] for n in range(1, rounds))
    waited = max(scheduled, monotonic_age(kiosk, alarm) or 0.0)
    return waited >= OFFLINE_GIVE_UP.total_seconds()


def _wait_for_network(kiosk: Kiosk, alarm_id: int, owner: str, rounds: int) -> DeliveryResult:
    delay = OFFLINE_RETRY_DELAYS[min(rounds, len(OFFLINE_RETRY_DELAYS)) - 1]
    now = kiosk.clock.now()
    error = str(Sentence(stored_text.OFFLINE, delay=delay))
    with kiosk.store.transaction() as connection:
        alarm_state.restart_plan(connection, alarm_id, owner, error, now + timedelta(seconds=delay), now)
    logger.warning("Alarm %s: no provider reachable; the plan starts again in %.0f s", alarm_id, delay)
    return DeliveryResult(AlarmStatus.ERROR, retry_in=delay)


def _fail(kiosk: Kiosk, alarm_id: int, owner: str, last_error: str | None) -> DeliveryResult:
    error = last_error or str(Sentence(stored_text.NO_CHANNEL))
    with kiosk.store.transaction() as connection:
        alarm_state.mark_failed(connection, alarm_id, owner, error, kiosk.clock.now())
    logger.error("Alarm %s FAILED: %s", alarm_id, error)
    return DeliveryResult(AlarmStatus.FAILED)


def _outcome_word(error: SendError) -> str:
    if isinstance(error, ChannelNotConfigured):
        return "skipped"
    return "permanent" if isinstance(error, PermanentSendError) else "transient"


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)
