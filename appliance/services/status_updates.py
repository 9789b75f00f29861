"""Provider statuses (webhooks and the beat's poll of pollable channels) applied through the state machine."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import cast

from sqlalchemy import or_, select

from appliance.errors import SendError
from appliance.i18n import Sentence
from appliance.messaging.base import PollableChannel, ProviderStatus
from appliance.messaging.registry import pollable_numbers
from appliance.queue import enqueue_delivery
from appliance.services.kiosk import Kiosk
from appliance.store import alarm_state
from appliance.store.models import Alarm, AlarmStatus
from appliance.stored_text import (
    UNDELIVERABLE_BECAUSE,
    UNDELIVERABLE_BECAUSE_CODE,
    UNDELIVERABLE_NO_DETAIL,
    UNDELIVERABLE_NO_DETAIL_CODE,
)

logger = logging.getLogger(__name__)

POLL_WINDOW = timedelta(hours=24)  # providers settle a message's status well within this
POLL_BATCH = 50


def apply_provider_status(kiosk: Kiosk, status: ProviderStatus) -> bool:
    """Apply one reported status; False when no alarm has that message id. Repeats change nothing."""
    error = None
    if status.state == "failed":
        error = str(undeliverable(status.error_message, status.error_code))
    report = alarm_state.ProviderReport(message_id=status.message_id, state=status.state, error=error)
    with kiosk.store.session() as session:
        alarm = alarm_state.apply_report(session, report, kiosk.clock.now())
    if alarm is None:
        logger.info("Status %s for unknown message %s ignored", status.state, status.message_id)
        return False
    logger.info("Alarm %s: provider reports %s", alarm.id, status.state)
    if status.state == "failed":
        _wake_if_rerouted(kiosk, alarm.id)
    return True


def undeliverable(detail: str | None, code: str | None) -> Sentence:
    """What an alarm's error says when its provider reports the message undeliverable (stored_text)."""
    if detail:
        return (
            Sentence(UNDELIVERABLE_BECAUSE_CODE, error=detail, code=code)
            if code
            else Sentence(UNDELIVERABLE_BECAUSE, error=detail)
        )
    return Sentence(UNDELIVERABLE_NO_DETAIL_CODE, code=code) if code else Sentence(UNDELIVERABLE_NO_DETAIL)


def _wake_if_rerouted(kiosk: Kiosk, alarm_id: int) -> None:
    """An undeliverable message moved on to the next channel: a worker takes it now (the sweeper would, later)."""
    with kiosk.store.read() as session:
        status = session.scalar(select(Alarm.notification_status).where(Alarm.id == alarm_id))
    if status == AlarmStatus.ERROR:
        logger.warning("Alarm %s: undeliverable; trying the next channel", alarm_id)
        enqueue_delivery(kiosk.queue, alarm_id)  # refused: the sweeper finds it due


def poll_providers(kiosk: Kiosk) -> int:
    """Ask pollable channels about messages still SENT (no webhook reaches a LAN); returns how many changed."""
    since = kiosk.clock.now() - POLL_WINDOW
    with kiosk.store.read() as session:
        rows = session.execute(
            select(Alarm.id, Alarm.channel, Alarm.whatsapp_message_id, Alarm.message_sid)
            .where(
                Alarm.notification_status == AlarmStatus.SENT,
                Alarm.channel.in_(pollable_numbers()),
                or_(Alarm.whatsapp_message_id.is_not(None), Alarm.message_sid.is_not(None)),
                Alarm.sent_at >= since,
            )
            .order_by(Alarm.sent_at)
            .limit(POLL_BATCH)
        ).all()
    changed = 0
    for row in rows:
        channel = cast(PollableChannel, kiosk.channels[row.channel])
        try:
            status = channel.fetch_status(getattr(row, channel.message_id_field))
        except SendError as exc:
            logger.warning("%s status poll for alarm %s failed: %s", channel.name, row.id, exc)
            continue
        if status.state in ("delivered", "read", "failed"):
            changed += apply_provider_status(kiosk, status)
    return changed
