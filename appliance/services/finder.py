"""A finder's phone: the public page behind a card's QR code raises the alarm the camera would.

Nothing personal leaves this module: a finder learns only that the card can alert. A card
alerts at most once per `KERYU_SCAN_COOLDOWN` from phones; more presses within it are told the
custodians were already alerted, and the finder's note of a repeated press is not lost in the
log (a scan event records it as a duplicate).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select

from appliance.errors import NotFound, UserError
from appliance.i18n import N_
from appliance.messaging.phone import normalize_phone
from appliance.payload import is_card_uuid
from appliance.services.kiosk import Kiosk
from appliance.services.scans import ScanSource, dispatch, record_duplicate, record_scan
from appliance.store.models import Alarm, Card

logger = logging.getLogger(__name__)

NOTE_MAX = 500
NO_SUCH_CARD = N_("There is no such card.")  # the same for unknown and deactivated: a finder learns nothing
NOTE_TOO_LONG = N_("The note must be at most {most} characters.")

# Check-then-record must not interleave: the web is one process, its handlers run in threads.
_alerting = threading.Lock()


class FinderOutcome(StrEnum):
    ALERTED = "alerted"  # a new alarm was recorded and queued
    ALREADY_ALERTED = "already_alerted"  # a phone alerted for this card within the cooldown


@dataclass(frozen=True)
class FinderReport:
    """What a finder may add: a note and their own number (checked, E.164), both optional."""

    note: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class FinderAlert:
    """What a press of the button did (the alarm's id is for logs and tests, never shown to the finder)."""

    outcome: FinderOutcome
    alarm_id: int


def finder_report(kiosk: Kiosk, note: str, phone: str) -> FinderReport:
    """The finder's typed note and number, checked; `InvalidPhoneNumber` says what is wrong with the number."""
    cleaned = " ".join((note or "").split())
    if len(cleaned) > NOTE_MAX:
        raise UserError(NOTE_TOO_LONG, most=NOTE_MAX)
    number = normalize_phone(phone, kiosk.settings.default_region) if (phone or "").strip() else None
    return FinderReport(note=cleaned or None, phone=number)


def _active_card(kiosk: Kiosk, card_uuid: str) -> str:
    """The card's canonical UUID when it and its holder are active; else `NotFound` with no detail."""
    text = (card_uuid or "").strip().lower()
    if is_card_uuid(text):
        with kiosk.store.read() as session:
            card = session.scalars(select(Card).where(Card.uuid == text)).first()
            if card is not None and card.active and card.subject.active:
                return text
    raise NotFound(NO_SUCH_CARD)


def require_alertable_card(kiosk: Kiosk, card_uuid: str) -> None:
    """Raise `NotFound` unless this card can raise an alarm (what the public page may know)."""
    _active_card(kiosk, card_uuid)


def _recent_phone_alarm(kiosk: Kiosk, card_uuid: str) -> Alarm | None:
    since = kiosk.clock.now() - timedelta(seconds=kiosk.settings.scan_cooldown)
    with kiosk.store.read() as session:
        return session.scalars(
            select(Alarm)
            .where(Alarm.card_uuid == card_uuid, Alarm.source == str(ScanSource.PHONE), Alarm.created_at > since)
            .order_by(Alarm.id.desc())
        ).first()


def alert_from_phone(kiosk: Kiosk, card_uuid: str, report: FinderReport) -> FinderAlert:
    """Raise the card's alarm from a finder's phone, unless a phone did within the cooldown."""
    uuid = _active_card(kiosk, card_uuid)
    with _alerting:
        recent = _recent_phone_alarm(kiosk, uuid)
        if recent is not None:
            record_duplicate(kiosk, uuid, ScanSource.PHONE)
            logger.info("Phone alert for card %s: already alerted (alarm %s)", uuid, recent.id)
            return FinderAlert(FinderOutcome.ALREADY_ALERTED, recent.id)
        result = record_scan(kiosk, uuid, ScanSource.PHONE, finder_note=report.note, finder_phone=report.phone)
    if not result.accepted or result.alarm_id is None:  # deactivated between the check and the scan
        raise NotFound(NO_SUCH_CARD)
    dispatch(kiosk, result)
    return FinderAlert(FinderOutcome.ALERTED, result.alarm_id)
