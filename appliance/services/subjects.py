"""Subjects and their custodians: create, edit, list, deactivate."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from appliance.errors import NotFound, UserError
from appliance.messaging.format import normalize_phone
from appliance.payload import new_card_uuid
from appliance.store.models import Card, Custodian, Subject

MAX_NAME = 120


@dataclass(frozen=True)
class SubjectInput:
    """What a person types to create or edit a subject."""

    name: str
    phone: str
    custodian_name: str = ""
    notes: str = ""


def _clean_name(name: str, what: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise UserError(f"The {what} name must not be empty.")
    if len(cleaned) > MAX_NAME:
        raise UserError(f"The {what} name must be at most {MAX_NAME} characters.")
    return cleaned


def add_subject(session: Session, data: SubjectInput, *, region: str = "MX") -> tuple[Subject, Card]:
    """Create a subject, its custodian and its first active card."""
    name = _clean_name(data.name, "subject")
    phone = normalize_phone(data.phone, region)
    custodian_name = _clean_name(data.custodian_name, "custodian") if data.custodian_name.strip() else "Custodian"
    custodian = Custodian(name=custodian_name, phone=phone)
    subject = Subject(name=name, custodian=custodian, notes=data.notes.strip(), active=True)
    card = Card(uuid=new_card_uuid(), subject=subject, active=True)
    session.add_all([custodian, subject, card])
    session.flush()
    return subject, card


def update_subject(session: Session, subject_id: int, data: SubjectInput, *, region: str = "MX") -> Subject:
    """Change a subject's name, notes and custodian details."""
    subject = get_subject(session, subject_id)
    subject.name = _clean_name(data.name, "subject")
    subject.notes = data.notes.strip()
    subject.custodian.phone = normalize_phone(data.phone, region)
    if data.custodian_name.strip():
        subject.custodian.name = _clean_name(data.custodian_name, "custodian")
    return subject


def set_subject_active(session: Session, subject_id: int, active: bool) -> Subject:
    """Deactivate (or reactivate) a subject; a deactivated subject's cards raise no alarm."""
    subject = get_subject(session, subject_id)
    subject.active = active
    return subject


def get_subject(session: Session, subject_id: int) -> Subject:
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise NotFound(f"There is no subject with id {subject_id}.")
    return subject


def list_subjects(
    session: Session, *, search: str = "", include_inactive: bool = True, limit: int = 500, offset: int = 0
) -> list[Subject]:
    """Subjects by name, optionally filtered by a search over subject and custodian names and phone."""
    query = select(Subject).join(Subject.custodian).order_by(func.lower(Subject.name), Subject.id)
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Subject.name).like(pattern),
                func.lower(Custodian.name).like(pattern),
                Custodian.phone.like(pattern),
            )
        )
    if not include_inactive:
        query = query.where(Subject.active.is_(True))
    return list(session.scalars(query.limit(limit).offset(offset)).unique())


def active_card(subject: Subject) -> Card | None:
    return next((card for card in subject.cards if card.active), None)
