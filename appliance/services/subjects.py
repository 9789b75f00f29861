"""Subjects and their custodians: create, edit, list, deactivate."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from appliance.errors import NotFound, UserError
from appliance.i18n import N_
from appliance.messaging.phone import normalize_phone
from appliance.payload import new_card_uuid
from appliance.services.kiosk import Kiosk
from appliance.services.views import CardView, SubjectView
from appliance.store.models import Card, Custodian, Subject

MAX_NAME = 120


@dataclass(frozen=True)
class SubjectInput:
    """What a person types to create or edit a subject."""

    name: str
    phone: str
    custodian_name: str = ""
    notes: str = ""


@dataclass(frozen=True)
class NameRules:
    """What a person is told when a name is empty or too long (msgids, the second with {most})."""

    empty: str
    too_long: str


SUBJECT_NAME = NameRules(
    N_("The subject name must not be empty."), N_("The subject name must be at most {most} characters.")
)
CUSTODIAN_NAME = NameRules(
    N_("The custodian's name must not be empty."), N_("The custodian's name must be at most {most} characters.")
)


def clean_name(name: str, rules: NameRules) -> str:
    """A name with its spaces tidied, or `UserError` saying why it cannot be one."""
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise UserError(rules.empty)
    if len(cleaned) > MAX_NAME:
        raise UserError(rules.too_long, most=MAX_NAME)
    return cleaned


def subject_row(session: Session, subject_id: int) -> Subject:
    """The subject's row inside a service's unit of work (for services that change it or its cards)."""
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise NotFound("There is no subject with id {id}.", id=subject_id)
    return subject


def add_subject(kiosk: Kiosk, data: SubjectInput) -> CardView:
    """Create a subject, its custodian and its first active card; the card is the answer."""
    name = clean_name(data.name, SUBJECT_NAME)
    phone = normalize_phone(data.phone, kiosk.settings.default_region)
    custodian_name = clean_name(data.custodian_name, CUSTODIAN_NAME) if data.custodian_name.strip() else "Custodian"
    with kiosk.store.session() as session:
        custodian = Custodian(name=custodian_name, phone=phone)
        subject = Subject(name=name, custodian=custodian, notes=data.notes.strip(), active=True)
        card = Card(uuid=new_card_uuid(), subject=subject, active=True)
        session.add_all([custodian, subject, card])
        session.flush()
        custodian.subject_id = subject.id  # the subject's first custodian (services.custodians)
        return CardView.of(card, kiosk.settings.public_url)


def update_subject(kiosk: Kiosk, subject_id: int, data: SubjectInput) -> SubjectView:
    """Change a subject's name, notes and custodian details."""
    with kiosk.store.session() as session:
        subject = subject_row(session, subject_id)
        subject.name = clean_name(data.name, SUBJECT_NAME)
        subject.notes = data.notes.strip()
        subject.custodian.phone = normalize_phone(data.phone, kiosk.settings.default_region)
        if data.custodian_name.strip():
            subject.custodian.name = clean_name(data.custodian_name, CUSTODIAN_NAME)
        return SubjectView.of(subject, kiosk.settings.public_url)


def set_subject_active(kiosk: Kiosk, subject_id: int, active: bool) -> SubjectView:
    """Deactivate (or reactivate) a subject; a deactivated subject's cards raise no alarm."""
    with kiosk.store.session() as session:
        subject = subject_row(session, subject_id)
        subject.active = active
        return SubjectView.of(subject, kiosk.settings.public_url)


def get_subject(kiosk: Kiosk, subject_id: int) -> SubjectView:
    """One subject with their custodian and cards."""
    with kiosk.store.read() as session:
        return SubjectView.of(subject_row(session, subject_id), kiosk.settings.public_url)


def list_subjects(kiosk: Kiosk, *, search: str = "", limit: int = 500) -> list[SubjectView]:
    """Subjects by name, optionally filtered by a search over subject and custodian names and phone."""
    query = (
        select(Subject)
        .join(Subject.custodian)
        .options(selectinload(Subject.cards), selectinload(Subject.custodians))  # one query each, not one per subject
        .order_by(func.lower(Subject.name), Subject.id)
    )
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Subject.name).like(pattern),
                func.lower(Custodian.name).like(pattern),
                Custodian.phone.like(pattern),
            )
        )
    with kiosk.store.read() as session:
        rows = session.scalars(query.limit(limit)).unique()
        return [SubjectView.of(subject, kiosk.settings.public_url) for subject in rows]
