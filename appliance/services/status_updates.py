"""Provider statuses (webhooks and the beat's Twilio poll) applied through the state machine."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from appliance.errors import SendError
from appliance.messaging.base import ProviderStatus
from appliance.services import alarm_state
from appliance.services.kiosk import Kiosk
from appliance.store.models import Alarm, AlarmStatus

logger = logging.getLogger(__name__)

POLL_WINDOW = timedelta(hours=24)  # Twilio settles a message's status well within this
POLL_BATCH = 50
TWILIO_CHANNELS = (2, 3)


def apply_provider_status(kiosk: Kiosk, status: ProviderStatus) -> bool:
    """Apply one reported status; False when no alarm has that message id. Repeats change nothing."""
    error = None
    if status.state == "failed":
        code = f" (code {status.error_code})" if status.error_code else ""
        error = f"Provider reported the message undeliverable: {status.error_message or 'failed'}{code}"
    report = alarm_state.ProviderReport(message_id=status.message_id, state=status.state, error=error)
    with kiosk.store.session() as session:
        alarm = alarm_state.apply_report(session, report, kiosk.clock.now())
    if alarm is None:
        logger.info("Status %s for unknown message %s ignored", status.state, status.message_id)
        return False
    logger.info("Alarm %s: provider reports %s", alarm.id, status.state)
    return True


def poll_twilio(kiosk: Kiosk) -> int:
    """Ask Twilio about messages still SENT (no webhook reaches a kiosk on a LAN); returns how many changed."""
    since = kiosk.clock.now() - POLL_WINDOW
    with kiosk.store.read() as session:
        rows = session.execute(
            select(Alarm.id, Alarm.channel, Alarm.message_sid)
            .where(
                Alarm.notification_status == AlarmStatus.SENT,
                Alarm.channel.in_(TWILIO_CHANNELS),
                Alarm.message_sid.is_not(None),
                Alarm.sent_at >= since,
            )
            .order_by(Alarm.sent_at)
            .limit(POLL_BATCH)
        ).all()
    changed = 0
    for row in rows:
        channel = kiosk.channels[row.channel]
        try:
            status = channel.fetch_status(row.message_sid)  # type: ignore[attr-defined]
        except SendError as exc:
            logger.warning("Twilio status poll for alarm %s failed: %s", row.id, exc)
            continue
        if status.state in ("delivered", "read", "failed"):
            changed += apply_provider_status(kiosk, status)
    return changed
