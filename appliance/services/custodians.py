"""A subject's custodians (add, list, remove) and the notification rows an alarm gives each of them.

A subject has one or more active custodians in `position` order. `subjects.custodian_id` always
points at the first active one: the alarm row itself is that custodian's notification (the
contract's seed fields describe it), and every other active custodian gets a row of their own
under it (`parent_id`), which the same delivery state machine sends exactly once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance.errors import NotFound, UserError
from appliance.messaging.phone import normalize_phone
from appliance.services.kiosk import Kiosk
from appliance.services.subjects import CUSTODIAN_NAME, clean_name, subject_row
from appliance.services.views import CustodianView
from appliance.store.models import Alarm, AlarmStatus, Custodian, Subject

LANGUAGES = ("es", "en")


def _active(session: Session, subject_id: int) -> list[Custodian]:
    return list(
        session.scalars(
            select(Custodian)
            .where(Custodian.subject_id == subject_id, Custodian.active.is_(True))
            .order_by(Custodian.position, Custodian.id)
        )
    )


def _point_at_first(session: Session, subject: Subject) -> None:
    """Keep `subjects.custodian_id` on the first active custodian (the one the seed fields describe)."""
    first = _active(session, subject.id)
    if first and subject.custodian_id != first[0].id:
        subject.custodian_id = first[0].id


def add_custodian(kiosk: Kiosk, subject_id: int, name: str, phone: str, language: str = "es") -> CustodianView:
    """Add a custodian after the subject's others; they are told of every alarm from now on."""
    cleaned = clean_name(name, CUSTODIAN_NAME)
    number = normalize_phone(phone, kiosk.settings.default_region)
    if language not in LANGUAGES:
        raise UserError("The language must be es or en.")
    with kiosk.store.session() as session:
        subject = subject_row(session, subject_id)
        last = session.scalar(select(func.max(Custodian.position)).where(Custodian.subject_id == subject.id))
        custodian = Custodian(
            name=cleaned,
            phone=number,
            language=language,
            subject_id=subject.id,
            position=(last if last is not None else -1) + 1,
            active=True,
        )
        session.add(custodian)
        session.flush()
        _point_at_first(session, subject)
        return CustodianView.of(custodian)


def list_custodians(kiosk: Kiosk, subject_id: int) -> list[CustodianView]:
    """The subject's active custodians, first one first."""
    with kiosk.store.read() as session:
        subject = subject_row(session, subject_id)
        return [CustodianView.of(row) for row in _active(session, subject.id)]


def remove_custodian(kiosk: Kiosk, custodian_id: int) -> CustodianView:
    """Stop telling a custodian (past alarms keep their name and phone); a subject keeps at least one."""
    with kiosk.store.session() as session:
        custodian = session.get(Custodian, custodian_id)
        if custodian is None or not custodian.active or custodian.subject_id is None:
            raise NotFound("There is no custodian with id {id}.", id=custodian_id)
        if len(_active(session, custodian.subject_id)) <= 1:
            raise UserError(
                "{name} is the only custodian of this subject; add another before removing them.", name=custodian.name
            )
        custodian.active = False
        session.flush()
        _point_at_first(session, subject_row(session, custodian.subject_id))
        return CustodianView.of(custodian)


def add_notifications(session: Session, subject: Subject, alarm: Alarm, now: datetime) -> list[Alarm]:
    """Tie a new alarm to its first custodian, and add a PENDING row for each other active custodian.

    Called inside the scan's transaction, so an alarm and all its notifications are recorded
    together or not at all.
    """
    custodians = _active(session, subject.id)
    first = next((row for row in custodians if row.id == subject.custodian_id), subject.custodian)
    alarm.custodian_id, alarm.recipient_name = first.id, first.name
    rows = [
        Alarm(
            parent_id=alarm.id,
            custodian_id=custodian.id,
            recipient_name=custodian.name,
            recipient_phone=custodian.phone,
            subject_id=alarm.subject_id,
            subject_name=alarm.subject_name,
            card_uuid=alarm.card_uuid,
            created_at=alarm.created_at,
            location=alarm.location,
            is_test=alarm.is_test,
            source=alarm.source,  # a finder's note and number reach every custodian
            finder_note=alarm.finder_note,
            finder_phone=alarm.finder_phone,
            clock_synced=alarm.clock_synced,  # one scan, one moment: corrected together
            boot_id=alarm.boot_id,
            created_monotonic=alarm.created_monotonic,
            notification_status=AlarmStatus.PENDING,
            enqueued_at=now,
        )
        for custodian in custodians
        if custodian.id != first.id
    ]
    session.add_all(rows)
    session.flush()
    return rows


def delivery_ids(kiosk: Kiosk, alarm_id: int) -> list[int]:
    """The alarm's own delivery row and every other custodian's, in order (what a scan puts on the queue)."""
    with kiosk.store.read() as session:
        children = session.scalars(
            select(Alarm.id).where(Alarm.parent_id == alarm_id, Alarm.role == "custodian").order_by(Alarm.id)
        )
        return [alarm_id, *children]
