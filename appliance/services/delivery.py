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
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from appliance.errors import ChannelNotConfigured, PermanentSendError, SendError, TransientSendError
from appliance.messaging.base import Notification
from appliance.messaging.format import format_timestamp
from appliance.services.kiosk import Kiosk
from appliance.services.parameters import get_channel
from appliance.store import alarm_state
from appliance.store.alarm_state import AttemptRecord, worker_identity
from appliance.store.models import Alarm, AlarmStatus, DeliveryAttempt

logger = logging.getLogger(__name__)

ATTEMPTS_PER_CHANNEL = 3
RETRY_DELAYS = (5.0, 25.0)  # seconds before the 2nd and 3rd try on a channel
MAX_RETRY_AFTER = 60.0  # a provider's Retry-After is honoured up to this
UNREACHABLE = frozenset({"connection", "connect_timeout"})  # error codes meaning no provider heard us
OFFLINE_RETRY_DELAYS = (60.0, 120.0, 300.0, 600.0)  # between rounds of the plan while offline
OFFLINE_GIVE_UP = timedelta(hours=24)


@dataclass(frozen=True)
class DeliveryResult:
    """What `deliver` did: the status it left, and when to try again (ERROR only)."""

    status: AlarmStatus | None  # None: not claimed (done already, or held by another worker)
    retry_in: float | None = None


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


def notification_for(kiosk: Kiosk, alarm: Alarm) -> Notification:
    return Notification(
        recipient_phone=alarm.recipient_phone,
        subject_name=alarm.subject_name,
        timestamp_text=format_timestamp(alarm.created_at, kiosk.zone),
        location=alarm.location,
        is_test=alarm.is_test,
    )


def deliver(kiosk: Kiosk, alarm_id: int, owner: str | None = None) -> DeliveryResult:
    """Try to hand alarm `alarm_id` to a provider; safe to call any number of times."""
    owner = owner or worker_identity()
    with kiosk.store.session() as session:
        if not alarm_state.claim(session, alarm_id, kiosk.clock.now(), owner):
            logger.info("Alarm %s not claimed: already handled or held by another worker", alarm_id)
            return DeliveryResult(None)
        plan = channel_plan(kiosk, get_channel(session))
        alarm_state.fix_plan(session, alarm_id, owner, plan)
    while True:
        with kiosk.store.read() as session:
            alarm = session.get(Alarm, alarm_id)
            assert alarm is not None  # claimed a moment ago; alarms are never deleted while held
            plan = alarm.channel_plan
            assert plan is not None  # fixed by the claim above
            position, attempts_here = alarm.plan_position, alarm.channel_attempts
            notification = notification_for(kiosk, alarm)
        if position >= len(plan):
            offline_rounds = _offline_rounds(kiosk, alarm_id, len(plan))
            if offline_rounds and alarm.created_at > kiosk.clock.now() - OFFLINE_GIVE_UP:
                return _wait_for_network(kiosk, alarm_id, owner, offline_rounds)
            return _fail(kiosk, alarm_id, owner, alarm.notification_error)
        number = plan[position]
        outcome = _attempt(kiosk, alarm_id, owner, number, notification, attempts_here)
        if outcome is not None:
            return outcome


def _attempt(
    kiosk: Kiosk, alarm_id: int, owner: str, number: int, notification: Notification, attempts_here: int
) -> DeliveryResult | None:
    """One try on channel `number`; None means "go on with the next channel"."""
    channel = kiosk.channels[number]
    started, t0 = kiosk.clock.now(), time.perf_counter()
    try:
        if not channel.is_configured():
            raise ChannelNotConfigured(f"{channel.name} has no credentials configured; skipped")
        sent = channel.send(notification)
    except SendError as error:
        record = AttemptRecord(
            channel=number,
            started_at=started,
            outcome=_outcome_word(error),
            duration_ms=None if isinstance(error, ChannelNotConfigured) else _ms(t0),
            error_code=error.code,
            error_message=str(error),
        )
        return _after_error(kiosk, alarm_id, owner, record, error, attempts_here)
    except Exception as error:  # a bug or an unexpected library error must not lose the alarm
        logger.exception("Alarm %s: unexpected error on channel %s", alarm_id, number)
        wrapped = TransientSendError(f"unexpected error: {error}")
        record = AttemptRecord(number, started, "transient", _ms(t0), None, str(wrapped))
        return _after_error(kiosk, alarm_id, owner, record, wrapped, attempts_here)
    record = AttemptRecord(number, started, "sent", _ms(t0), provider_message_id=sent.message_id)
    with kiosk.store.session() as session:
        alarm_state.mark_sent(session, alarm_id, owner, record, channel.message_id_field, kiosk.clock.now())
    logger.info("Alarm %s sent on channel %s (%s) as %s", alarm_id, number, channel.name, sent.message_id)
    return DeliveryResult(AlarmStatus.SENT)


def _after_error(
    kiosk: Kiosk, alarm_id: int, owner: str, record: AttemptRecord, error: SendError, attempts_here: int
) -> DeliveryResult | None:
    now = kiosk.clock.now()
    tries_left = ATTEMPTS_PER_CHANNEL - (attempts_here + 1)
    if isinstance(error, TransientSendError) and tries_left > 0:
        delay = retry_delay(attempts_here + 1, error)
        with kiosk.store.session() as session:
            alarm_state.mark_retry(session, alarm_id, owner, record, now + timedelta(seconds=delay), now)
        logger.warning(
            "Alarm %s: channel %s failed (%s); retry in %.0f s (%d left)",
            alarm_id,
            record.channel,
            error,
            delay,
            tries_left,
        )
        return DeliveryResult(AlarmStatus.ERROR, retry_in=delay)
    with kiosk.store.session() as session:
        alarm_state.mark_next_channel(session, alarm_id, owner, record, now)
    logger.warning("Alarm %s: channel %s given up (%s); trying the next channel", alarm_id, record.channel, error)
    return None


def _offline_rounds(kiosk: Kiosk, alarm_id: int, channels: int) -> int:
    """How many full rounds of the plan failed with no provider answering at all (0: some answered)."""
    with kiosk.store.read() as session:
        codes = list(
            session.scalars(
                select(DeliveryAttempt.error_code).where(
                    DeliveryAttempt.alarm_id == alarm_id, DeliveryAttempt.outcome != "skipped"
                )
            )
        )
    if not codes or any(code not in UNREACHABLE for code in codes):
        return 0
    return max(1, len(codes) // (ATTEMPTS_PER_CHANNEL * channels))


def _wait_for_network(kiosk: Kiosk, alarm_id: int, owner: str, rounds: int) -> DeliveryResult:
    delay = OFFLINE_RETRY_DELAYS[min(rounds, len(OFFLINE_RETRY_DELAYS)) - 1]
    now = kiosk.clock.now()
    error = f"No provider could be reached (network down?); trying every channel again in {delay:.0f} s."
    with kiosk.store.session() as session:
        alarm_state.restart_plan(session, alarm_id, owner, error, now + timedelta(seconds=delay), now)
    logger.warning("Alarm %s: no provider reachable; the plan starts again in %.0f s", alarm_id, delay)
    return DeliveryResult(AlarmStatus.ERROR, retry_in=delay)


def _fail(kiosk: Kiosk, alarm_id: int, owner: str, last_error: str | None) -> DeliveryResult:
    error = last_error or "No channel could send the message."
    with kiosk.store.session() as session:
        alarm_state.mark_failed(session, alarm_id, owner, error, kiosk.clock.now())
    logger.error("Alarm %s FAILED: %s", alarm_id, error)
    return DeliveryResult(AlarmStatus.FAILED)


def _outcome_word(error: SendError) -> str:
    if isinstance(error, ChannelNotConfigured):
        return "skipped"
    return "permanent" if isinstance(error, PermanentSendError) else "transient"


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)
