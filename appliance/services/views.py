"""The plain values services return: pages, the API and the CLI render these, never ORM rows.

Each view is built from its row while the service's unit of work is open (`of`), so nothing
above the services touches a session; each view's contract JSON is written here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from appliance.payload import scan_url

if TYPE_CHECKING:
    from appliance.store.models import Alarm, Card, Custodian, DeliveryAttempt, Subject

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
    "notifications",
    "clock_synced",
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class AttemptView:
    """One try at handing an alarm to a provider (times as recorded, UTC)."""

    channel: int
    started_at: datetime
    outcome: str
    error_code: str | None
    error_message: str | None
    duration_ms: float | None
    provider_message_id: str | None

    @classmethod
    def of(cls, attempt: DeliveryAttempt) -> AttemptView:
        return cls(
            channel=attempt.channel,
            started_at=attempt.started_at,
            outcome=attempt.outcome,
            error_code=attempt.error_code,
            error_message=attempt.error_message,
            duration_ms=attempt.duration_ms,
            provider_message_id=attempt.provider_message_id,
        )

    def as_json(self) -> dict[str, object]:
        """What `GET /api/alarms/<id>` shows of an attempt."""
        return {
            "channel": self.channel,
            "started_at": self.started_at.isoformat(),
            "outcome": self.outcome,
            "error_code": self.error_code,
            "error_message": self.error_message,
        }


@dataclass(frozen=True)
class NotificationView:
    """One person's message about an alarm: a custodian's, or the on-duty contact's escalation."""

    alarm_id: int  # the delivery row (the alarm's own id for the first custodian)
    custodian_id: int | None
    custodian: str | None
    phone: str
    role: str  # custodian | duty
    channel: int | None
    status: str
    attempts: int
    whatsapp_message_id: str | None
    message_sid: str | None
    error: str | None
    reason: str | None
    sent_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, row: Alarm, zone: tzinfo | None) -> NotificationView:
        return cls(
            alarm_id=row.id,
            custodian_id=row.custodian_id,
            custodian=row.recipient_name,
            phone=row.recipient_phone,
            role=row.role,
            channel=row.channel,
            status=str(row.notification_status),
            attempts=row.notification_attempts,
            whatsapp_message_id=row.whatsapp_message_id,
            message_sid=row.message_sid,
            error=row.notification_error,
            reason=row.escalation_reason,
            sent_at=row.sent_at.astimezone(zone) if row.sent_at else None,
            delivered_at=row.delivered_at.astimezone(zone) if row.delivered_at else None,
        )

    def as_json(self) -> dict[str, object]:
        """The contract's entry of an alarm record's `notifications`."""
        return {
            "custodian": self.custodian,
            "phone": self.phone,
            "channel": self.channel,
            "status": self.status,
            "whatsapp_message_id": self.whatsapp_message_id,
            "message_sid": self.message_sid,
            "error": self.error,
        }


@dataclass(frozen=True)
class AlarmView:
    """An alarm, its delivery state and its attempts; the times people see are in the kiosk's zone."""

    id: int
    subject_id: int | None
    subject_name: str
    card_uuid: str | None
    created_at: datetime
    location: str
    is_test: bool
    source: str | None  # camera | phone | web | api | file; None for alarms recorded before it was kept
    finder_note: str | None
    finder_phone: str | None
    clock_synced: bool  # recorded after the network time arrived this boot
    time_known: bool  # `created_at` is the real time: synced, or corrected from the monotonic clock
    channel: int | None
    notification_status: str
    notification_sent: bool
    notification_attempts: int
    last_attempt: datetime | None
    notification_error: str | None
    whatsapp_message_id: str | None
    message_sid: str | None
    provider_status: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    resolved_at: datetime | None
    resolution_notes: str | None
    updated_at: datetime
    attempts: tuple[AttemptView, ...]
    changed_at: datetime | None = None  # the latest change to it or any of its notifications (live updates)
    notifications: tuple[NotificationView, ...] = ()  # one per custodian, the first is this row's own
    escalation: NotificationView | None = None  # the on-duty contact's message, once told
    status_note: str | None = None  # e.g. "delivery not confirmed (no webhook)" (services/receipts.py)

    @classmethod
    def of(cls, alarm: Alarm, zone: tzinfo | None, corrected_created_at: datetime | None = None) -> AlarmView:
        """The view of a row whose attempts are loaded; `zone` None is the system's local zone.

        `corrected_created_at`: the real time of an alarm recorded before the clock was set, when
        the clock is synced now but the correction is not written yet (services/clock_sync.py).
        """
        time_known = alarm.clock_synced or alarm.time_corrected_at is not None
        created_at = alarm.created_at
        if not time_known and corrected_created_at is not None:
            created_at, time_known = corrected_created_at, True

        def local(value: datetime | None) -> datetime | None:
            return value.astimezone(zone) if value else None

        return cls(
            id=alarm.id,
            subject_id=alarm.subject_id,
            subject_name=alarm.subject_name,
            card_uuid=alarm.card_uuid,
            created_at=created_at.astimezone(zone),
            location=alarm.location,
            is_test=alarm.is_test,
            source=alarm.source,
            finder_note=alarm.finder_note,
            finder_phone=alarm.finder_phone,
            clock_synced=alarm.clock_synced,
            time_known=time_known,
            channel=alarm.channel,
            notification_status=str(alarm.notification_status),
            notification_sent=alarm.notification_sent,
            notification_attempts=alarm.notification_attempts,
            last_attempt=local(alarm.last_attempt),
            notification_error=alarm.notification_error,
            whatsapp_message_id=alarm.whatsapp_message_id,
            message_sid=alarm.message_sid,
            provider_status=alarm.provider_status,
            sent_at=local(alarm.sent_at),
            delivered_at=local(alarm.delivered_at),
            next_attempt_at=local(alarm.next_attempt_at),
            resolved_at=local(alarm.resolved_at),
            resolution_notes=alarm.resolution_notes,
            updated_at=alarm.updated_at,
            attempts=tuple(AttemptView.of(attempt) for attempt in alarm.attempts),
            changed_at=max([alarm.updated_at, *(row.updated_at for row in alarm.children)]),
            notifications=(
                NotificationView.of(alarm, zone),
                *(NotificationView.of(row, zone) for row in alarm.children if row.role == "custodian"),
            ),
            escalation=next((NotificationView.of(row, zone) for row in alarm.children if row.role == "duty"), None),
        )

    def record(self) -> dict[str, object]:
        """The contract's alarm record (`keryu alarms --json`, `GET /api/alarms`, live updates)."""
        record = {name: getattr(self, name) for name in RECORD_FIELDS}
        record["created_at"] = _iso(self.created_at)
        record["last_attempt"] = _iso(self.last_attempt)
        record["notifications"] = [notification.as_json() for notification in self.notifications]
        return record

    def live_record(self) -> dict[str, object]:
        """What an open page redraws from (`/events`): the record, each notification's tries, the escalation."""
        record = self.record()
        record["notifications"] = [
            {**entry, "attempts": note.attempts}
            for entry, note in zip(record["notifications"], self.notifications, strict=True)  # type: ignore[call-overload]
        ]
        duty = self.escalation
        record["escalation"] = None if duty is None else {**duty.as_json(), "reason": duty.reason}
        record["changed_at"] = _iso(self.changed_at)
        return record

    def record_with_attempts(self) -> dict[str, object]:
        """The record, its attempts and what the page shows besides (`GET /api/alarms/<id>`)."""
        return {
            **self.record(),
            "status_note": self.status_note,
            "source": self.source,
            "finder_note": self.finder_note,
            "finder_phone": self.finder_phone,
            "resolved_at": _iso(self.resolved_at),
            "resolution_notes": self.resolution_notes,
            "attempts": [attempt.as_json() for attempt in self.attempts],
        }


@dataclass(frozen=True)
class CardView:
    """A printed card and the URL its QR code holds."""

    uuid: str
    subject_id: int
    active: bool
    created_at: datetime
    last_used_at: datetime | None
    scan_url: str

    @classmethod
    def of(cls, card: Card, public_url: str) -> CardView:
        return cls(
            uuid=card.uuid,
            subject_id=card.subject_id,
            active=card.active,
            created_at=card.created_at,
            last_used_at=card.last_used_at,
            scan_url=scan_url(public_url, card.uuid),
        )

    def as_json(self) -> dict[str, object]:
        """The contract's JSON for a new card (`keryu subject add`, `keryu card new`)."""
        return {"subject_id": self.subject_id, "card_uuid": self.uuid, "scan_url": self.scan_url}


@dataclass(frozen=True)
class CustodianView:
    """A person told of a subject's alarms, in `position` order."""

    id: int
    subject_id: int | None
    name: str
    phone: str
    language: str
    position: int
    active: bool

    @classmethod
    def of(cls, custodian: Custodian) -> CustodianView:
        return cls(
            id=custodian.id,
            subject_id=custodian.subject_id,
            name=custodian.name,
            phone=custodian.phone,
            language=custodian.language,
            position=custodian.position,
            active=custodian.active,
        )

    def as_json(self) -> dict[str, object]:
        """What the API and `keryu custodian list --json` show of a custodian (admins only)."""
        return {
            "id": self.id,
            "subject_id": self.subject_id,
            "name": self.name,
            "phone": self.phone,
            "language": self.language,
            "position": self.position,
        }


@dataclass(frozen=True)
class SubjectView:
    """A subject, their custodian and their cards (newest first)."""

    id: int
    name: str
    active: bool
    notes: str
    custodian_name: str
    custodian_phone: str
    created_at: datetime
    cards: tuple[CardView, ...]
    custodians: tuple[CustodianView, ...] = ()  # the active ones, in order

    @classmethod
    def of(cls, subject: Subject, public_url: str) -> SubjectView:
        return cls(
            id=subject.id,
            name=subject.name,
            active=subject.active,
            notes=subject.notes,
            custodian_name=subject.custodian.name,
            custodian_phone=subject.custodian.phone,
            created_at=subject.created_at,
            cards=tuple(CardView.of(card, public_url) for card in reversed(subject.cards)),
            custodians=tuple(CustodianView.of(row) for row in subject.custodians if row.active),
        )

    @property
    def card(self) -> CardView | None:
        """The active card (a subject has at most one)."""
        return next((card for card in self.cards if card.active), None)

    def as_json(self) -> dict[str, object]:
        """What the API shows of a subject (the custodian's phone included: admins only)."""
        card = self.card
        return {
            "id": self.id,
            "name": self.name,
            "active": self.active,
            "notes": self.notes,
            "custodian_name": self.custodian_name,
            "custodian_phone": self.custodian_phone,
            "card_uuid": card.uuid if card else None,
            "scan_url": card.scan_url if card else None,
            "created_at": self.created_at.isoformat(),
            "custodians": [custodian.as_json() for custodian in self.custodians],
        }
