"""One path from a decoded text to an alarm, shared by the camera, `keryu scan`, the API and the web page.

`record_scan` commits (durably) before it returns, so feedback can be given at once;
`dispatch` then puts the alarm on the queue. A dead Redis delays the notification, never loses it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select

from appliance.payload import ForeignPayload, parse_payload
from appliance.queue import enqueue_delivery
from appliance.services.clock_sync import recording_clock
from appliance.services.custodians import add_notifications, delivery_ids
from appliance.services.kiosk import Kiosk
from appliance.services.outbox import mark_not_enqueued
from appliance.store.models import Alarm, AlarmStatus, Card, ScanEvent

logger = logging.getLogger(__name__)

PAYLOAD_SHOWN = 200


class ScanOutcome(StrEnum):
    ACCEPTED = "accepted"  # an alarm was recorded
    DUPLICATE = "duplicate"  # same card again within the cooldown (decided by the scanner)
    UNKNOWN = "unknown"  # a card UUID no card has
    INACTIVE = "inactive"  # a deactivated card, or a card of a deactivated subject
    FOREIGN = "foreign"  # not a Keryu card at all


class ScanSource(StrEnum):
    CAMERA = "camera"
    FILE = "file"
    API = "api"
    WEB = "web"
    PHONE = "phone"  # a finder's phone, through the card's public page


@dataclass(frozen=True)
class ScanResult:
    outcome: ScanOutcome
    card_uuid: str | None = None
    subject_id: int | None = None
    subject_name: str | None = None
    alarm_id: int | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome is ScanOutcome.ACCEPTED


def record_scan(
    kiosk: Kiosk,
    payload: str,
    source: ScanSource,
    *,
    finder_note: str | None = None,
    finder_phone: str | None = None,
) -> ScanResult:
    """Classify a decoded text and, for a valid active card, commit a PENDING alarm.

    A finder's phone (`ScanSource.PHONE`) adds its optional note and number (already checked).
    """
    shown = payload[:PAYLOAD_SHOWN]
    try:
        card_uuid = parse_payload(payload)
    except ForeignPayload:
        return _log_event(kiosk, ScanResult(ScanOutcome.FOREIGN), source, shown)
    now = kiosk.clock.now()
    with kiosk.store.session() as session:
        card = session.scalars(select(Card).where(Card.uuid == card_uuid)).first()
        if card is None:
            result = ScanResult(ScanOutcome.UNKNOWN, card_uuid=card_uuid)
        elif not card.active or not card.subject.active:
            result = ScanResult(ScanOutcome.INACTIVE, card_uuid, card.subject_id, card.subject.name)
        else:
            subject = card.subject
            alarm = Alarm(
                subject_id=subject.id,
                subject_name=subject.name,
                card_uuid=card.uuid,
                recipient_phone=subject.custodian.phone,
                created_at=now,
                location=kiosk.settings.location,
                is_test=False,
                source=str(source),
                finder_note=finder_note,
                finder_phone=finder_phone,
                notification_status=AlarmStatus.PENDING,
                enqueued_at=now,  # optimistic: `dispatch` clears it if the broker refuses
                **recording_clock(kiosk),
            )
            session.add(alarm)
            card.last_used_at = now
            session.flush()
            add_notifications(session, subject, alarm, now)
            result = ScanResult(ScanOutcome.ACCEPTED, card.uuid, subject.id, subject.name, alarm.id)
        session.add(_event_row(result, source, shown, now))
    if result.accepted:
        logger.info(
            "Alarm %s recorded for subject %s (card %s, %s)", result.alarm_id, result.subject_id, card_uuid, source
        )
    else:
        logger.info("Scan rejected: %s card %s (%s)", result.outcome, card_uuid, source)
    return result


def record_duplicate(kiosk: Kiosk, card_uuid: str, source: ScanSource) -> ScanResult:
    """Note that a card was shown again within its cooldown (no alarm)."""
    return _log_event(kiosk, ScanResult(ScanOutcome.DUPLICATE, card_uuid=card_uuid), source, card_uuid)


def dispatch(kiosk: Kiosk, result: ScanResult) -> bool:
    """Queue the delivery of an accepted scan's alarm; False when it must wait for the sweeper."""
    if not result.accepted or result.alarm_id is None:
        return False

    queued = True
    for alarm_id in delivery_ids(kiosk, result.alarm_id):  # one delivery per custodian
        queued = queued and enqueue_delivery(kiosk.queue, alarm_id)  # a refusal: the rest wait for the sweep too
        if not queued:
            mark_not_enqueued(kiosk, alarm_id)
    return queued


def handle_scan(kiosk: Kiosk, payload: str, source: ScanSource) -> ScanResult:
    """Record a scan and queue its alarm: the whole path for callers that need no feedback in between."""
    result = record_scan(kiosk, payload, source)
    dispatch(kiosk, result)
    return result


def _event_row(result: ScanResult, source: ScanSource, shown: str, now) -> ScanEvent:
    return ScanEvent(
        created_at=now,
        source=str(source),
        outcome=str(result.outcome),
        payload=shown,
        card_uuid=result.card_uuid,
        subject_id=result.subject_id,
        alarm_id=result.alarm_id,
    )


def _log_event(kiosk: Kiosk, result: ScanResult, source: ScanSource, shown: str) -> ScanResult:
    with kiosk.store.session() as session:
        session.add(_event_row(result, source, shown, kiosk.clock.now()))
    return result
