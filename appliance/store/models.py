"""The database schema. Runs unchanged on SQLite (the kiosk) and PostgreSQL (a fleet)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from appliance.clock import utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite has no time zones; it stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use appliance.clock.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class AlarmStatus(StrEnum):
    """The contract's notification statuses."""

    PENDING = "PENDING"  # recorded and queued
    PROCESSING = "PROCESSING"  # a worker holds it
    SENT = "SENT"  # the provider accepted it
    DELIVERED = "DELIVERED"  # the provider reported delivery
    FAILED = "FAILED"  # no attempt left, or reported undeliverable
    ERROR = "ERROR"  # the last attempt failed, another is scheduled


class Custodian(Base):
    """A person told when a subject's card is scanned; a subject has one or more, in `position` order.

    `subjects.custodian_id` points at the first active one (kept so by `services.custodians`):
    the alarm's seed fields describe that custodian's notification.
    """

    __tablename__ = "custodians"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20))  # E.164, validated with phonenumbers
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    subject_id: Mapped[int | None] = mapped_column(Integer, index=True)  # subjects.id (no FK: migration 0004)
    language: Mapped[str] = mapped_column(String(5), default="es", server_default="es")  # es | en
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class Subject(Base):
    """A child, elderly person or person with a disability who carries a card."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    custodian_id: Mapped[int] = mapped_column(ForeignKey("custodians.id", ondelete="RESTRICT"), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    custodian: Mapped[Custodian] = relationship(lazy="joined")
    custodians: Mapped[list[Custodian]] = relationship(
        primaryjoin="Subject.id == foreign(Custodian.subject_id)",
        order_by="(Custodian.position, Custodian.id)",
        viewonly=True,
    )
    cards: Mapped[list[Card]] = relationship(back_populates="subject", order_by="Card.id")


class Card(Base):
    """A printed QR card. At most one active card per subject, enforced by a partial unique index.

    The index's PostgreSQL form (`postgresql_where`) is in the migration only, which creates the
    schema on either engine: naming it here would load SQLAlchemy's PostgreSQL dialect into every
    process of a kiosk on SQLite (1.9 MiB of RSS each).
    """

    __tablename__ = "cards"
    __table_args__ = (
        Index(
            "uq_cards_one_active_per_subject",
            "subject_id",
            unique=True,
            sqlite_where=text("active = 1"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subject: Mapped[Subject] = relationship(back_populates="cards", lazy="joined")


class Alarm(Base):
    """One scan of a valid card (or a test notification) and the state of its delivery."""

    __tablename__ = "alarms"
    __table_args__ = (
        Index("ix_alarms_status_next_attempt", "notification_status", "next_attempt_at"),
        Index("ix_alarms_status_id", "notification_status", "id"),  # status filter, newest first
        Index("ix_alarms_subject_created", "subject_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id", ondelete="SET NULL"))
    subject_name: Mapped[str] = mapped_column(String(120))  # as it was when scanned
    card_uuid: Mapped[str | None] = mapped_column(String(36))
    recipient_phone: Mapped[str] = mapped_column(String(20))  # E.164, as it was when scanned
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    location: Mapped[str] = mapped_column(String(120), default="")
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str | None] = mapped_column(String(16))  # camera | phone | web | api | file (None: older)
    finder_note: Mapped[str | None] = mapped_column(Text)  # what a finder's phone wrote (phone scans only)
    finder_phone: Mapped[str | None] = mapped_column(String(20))  # E.164, the finder's own number if given
    # Recorded before the network time arrived this boot (the Pi has no clock): `created_at` is
    # a stale guess until corrected from the monotonic time of the same boot (docs/appliance.md).
    clock_synced: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    boot_id: Mapped[str | None] = mapped_column(String(36))
    created_monotonic: Mapped[float | None] = mapped_column(Float)  # seconds since that boot began
    time_corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    channel: Mapped[int | None] = mapped_column(Integer)  # the channel that sent it
    notification_status: Mapped[str] = mapped_column(String(12), default=AlarmStatus.PENDING)
    notification_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    notification_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notification_error: Mapped[str | None] = mapped_column(Text)
    whatsapp_message_id: Mapped[str | None] = mapped_column(String(128), index=True)
    message_sid: Mapped[str | None] = mapped_column(String(64), index=True)

    # Delivery bookkeeping (internal): the channel plan, where we are in it, and the claim lease.
    channel_plan: Mapped[list[int] | None] = mapped_column(JSON)  # e.g. [1, 2, 3], fixed at first claim
    plan_position: Mapped[int] = mapped_column(Integer, default=0)
    channel_attempts: Mapped[int] = mapped_column(Integer, default=0)  # attempts on the current channel
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_status: Mapped[str | None] = mapped_column(String(32))  # last status the provider reported

    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_notes: Mapped[str | None] = mapped_column(Text)

    # Several custodians: this row is the first custodian's notification; every other custodian's,
    # and the on-duty contact's escalation, is a row of its own under it (`parent_id`), delivered
    # by the same state machine (docs/delivery.md, "Several custodians").
    parent_id: Mapped[int | None] = mapped_column(Integer, index=True)  # alarms.id (no FK: migration 0004)
    custodian_id: Mapped[int | None] = mapped_column(Integer)  # custodians.id as it was when scanned
    recipient_name: Mapped[str | None] = mapped_column(String(120))  # as it was when scanned
    role: Mapped[str] = mapped_column(String(12), default="custodian", server_default="custodian")  # | duty
    escalation_reason: Mapped[str | None] = mapped_column(Text)  # the duty row's "why"
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # on the first row, set once
    rerouted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # reported undeliverable after SENT, once

    attempts: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="alarm", order_by="DeliveryAttempt.id", cascade="all, delete-orphan"
    )
    children: Mapped[list[Alarm]] = relationship(
        primaryjoin="Alarm.id == foreign(Alarm.parent_id)", order_by="Alarm.id", viewonly=True
    )


class DeliveryAttempt(Base):
    """One try at handing an alarm to a provider."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    channel: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # in_flight (the provider call is open) | sent | transient | permanent | skipped | interrupted
    # | undelivered (was sent, the provider reported it undeliverable, and an admin retried the alarm)
    outcome: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float | None]
    provider_message_id: Mapped[str | None] = mapped_column(String(128))

    alarm: Mapped[Alarm] = relationship(back_populates="attempts")


class ScanEvent(Base):
    """Every decoded code the scanner acted on, accepted or not (for the admin page and metrics)."""

    __tablename__ = "scan_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(16))  # camera | file | api | web | phone
    outcome: Mapped[str] = mapped_column(String(16))  # accepted | duplicate | unknown | inactive | foreign
    payload: Mapped[str] = mapped_column(String(200))  # truncated; never used as anything but text
    card_uuid: Mapped[str | None] = mapped_column(String(36))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id", ondelete="SET NULL"))
    alarm_id: Mapped[int | None] = mapped_column(ForeignKey("alarms.id", ondelete="SET NULL"))


class SystemParameter(Base):
    """Key/value settings changed at run time (`channel`, admin password hash, session key...)."""

    __tablename__ = "system_parameters"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebSession(Base):
    """One logged-in admin browser. The cookie holds a random token; only its SHA-256 is kept here,
    so deleting the row ends the session (logout, password change, "log out everywhere")."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex SHA-256 of the cookie's token
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlarmStatusCount(Base):
    """How many alarms have each status: kept by database triggers in the transaction that changes them.

    So the dashboard's counts cost one read of six rows at any number of alarms (migration perf_counts).
    """

    __tablename__ = "alarm_status_counts"

    status: Mapped[str] = mapped_column(String(12), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class OutboxEvent(Base):
    """An accepted scan or an alarm's status change, written by triggers in the change's own transaction.

    The publishers (MQTT, outbound webhook) read these after commit, each from its own cursor
    (`OutboxCursor`), so a broker that is down loses nothing and a rolled-back change is never
    published (migration 0008, docs/home-assistant.md). AUTOINCREMENT on SQLite: an id is never
    reused after pruning, so a cursor can never skip a new row.
    """

    __tablename__ = "outbox_events"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # scan | alarm
    alarm_id: Mapped[int | None] = mapped_column(Integer)  # the alarm (a custodian's row: its parent)
    row_id: Mapped[int | None] = mapped_column(Integer)  # the alarms row that changed (the alarm or a notification)
    status: Mapped[str | None] = mapped_column(String(12))  # the status it changed to (alarm events)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OutboxCursor(Base):
    """How far one publisher (`sink`: mqtt | webhook) has come, and its last trouble (health reads it)."""

    __tablename__ = "outbox_cursors"

    sink: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
