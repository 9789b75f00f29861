"""Cards: issue, activate, look up, and render as PNG or a printable PDF sheet."""

from __future__ import annotations

import io
from pathlib import Path

import qrcode
import qrcode.constants
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from appliance.errors import NotFound, UnknownCard, UserError
from appliance.payload import is_card_uuid, new_card_uuid, scan_url
from appliance.services.subjects import get_subject
from appliance.store.models import Card, Subject


def issue_card(session: Session, subject_id: int) -> Card:
    """A new active card for the subject; the old active card is deactivated first."""
    subject = get_subject(session, subject_id)
    session.execute(update(Card).where(Card.subject_id == subject.id, Card.active.is_(True)).values(active=False))
    card = Card(uuid=new_card_uuid(), subject_id=subject.id, active=True)
    session.add(card)
    session.flush()
    return card


def set_card_active(session: Session, card_uuid: str, active: bool) -> Card:
    """Activate a card (deactivating the subject's other one) or deactivate it."""
    card = get_card(session, card_uuid)
    if active and not card.active:
        session.execute(
            update(Card).where(Card.subject_id == card.subject_id, Card.active.is_(True)).values(active=False)
        )
    card.active = active
    session.flush()
    return card


def get_card(session: Session, card_uuid: str) -> Card:
    text = (card_uuid or "").strip().lower()
    if not is_card_uuid(text):
        raise UserError(f"{card_uuid!r} is not a card UUID.")
    card = session.scalars(select(Card).where(Card.uuid == text)).first()
    if card is None:
        raise UnknownCard(f"There is no card {text}.")
    return card


def card_json(card: Card, public_url: str) -> dict[str, object]:
    """The contract's JSON for a new card: subject_id, card_uuid, scan_url."""
    return {"subject_id": card.subject_id, "card_uuid": card.uuid, "scan_url": scan_url(public_url, card.uuid)}


def qr_png(text: str, *, box_size: int = 12, border: int = 4) -> bytes:
    """A PNG of a QR code holding `text`, with medium error correction for worn cards."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=border)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


def card_png(session: Session, card_uuid: str, public_url: str) -> bytes:
    card = get_card(session, card_uuid)
    return qr_png(scan_url(public_url, card.uuid))


def write_card_png(session: Session, card_uuid: str, public_url: str, out: Path) -> Path:
    out.write_bytes(card_png(session, card_uuid, public_url))
    return out


def active_cards(session: Session) -> list[Card]:
    """Active cards of active subjects, by subject name (what a sheet prints)."""
    query = (
        select(Card)
        .join(Card.subject)
        .where(Card.active.is_(True), Subject.active.is_(True))
        .order_by(Subject.name, Card.id)
    )
    return list(session.scalars(query).unique())


def card_sheet_pdf(session: Session, public_url: str) -> bytes:
    """An A4 sheet (several pages if needed) of every active card, with names and cut marks."""
    from appliance.cards.sheet import SheetEntry, render_sheet

    cards = active_cards(session)
    if not cards:
        raise NotFound("There are no active cards to print.")
    entries = []
    for card in cards:
        url = scan_url(public_url, card.uuid)
        entries.append(SheetEntry(name=card.subject.name, scan_url=url, qr_png=qr_png(url, box_size=8, border=2)))
    return render_sheet(entries)
