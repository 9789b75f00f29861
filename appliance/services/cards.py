"""Cards: issue, activate, look up, and render as PNG or a printable PDF sheet."""

from __future__ import annotations

import io

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.errors import NotFound, UnknownCard, UserError
from appliance.payload import is_card_uuid, new_card_uuid
from appliance.services.kiosk import Kiosk
from appliance.services.subjects import subject_row
from appliance.services.views import CardView
from appliance.store.models import Card, Subject


def issue_card(kiosk: Kiosk, subject_id: int) -> CardView:
    """A new active card for the subject; the old active card is deactivated first."""
    with kiosk.store.session() as session:
        subject = subject_row(session, subject_id)
        session.execute(update(Card).where(Card.subject_id == subject.id, Card.active.is_(True)).values(active=False))
        card = Card(uuid=new_card_uuid(), subject_id=subject.id, active=True)
        session.add(card)
        session.flush()
        return CardView.of(card, kiosk.settings.public_url)


def set_card_active(kiosk: Kiosk, card_uuid: str, active: bool) -> CardView:
    """Activate a card (deactivating the subject's other one) or deactivate it."""
    with kiosk.store.session() as session:
        card = _card_row(session, card_uuid)
        if active and not card.active:
            session.execute(
                update(Card).where(Card.subject_id == card.subject_id, Card.active.is_(True)).values(active=False)
            )
        card.active = active
        session.flush()
        return CardView.of(card, kiosk.settings.public_url)


def get_card(kiosk: Kiosk, card_uuid: str) -> CardView:
    """The card with this UUID; `UnknownCard` when there is none."""
    with kiosk.store.read() as session:
        return CardView.of(_card_row(session, card_uuid), kiosk.settings.public_url)


def _card_row(session: Session, card_uuid: str) -> Card:
    text = (card_uuid or "").strip().lower()
    if not is_card_uuid(text):
        raise UserError("{uuid!r} is not a card UUID.", uuid=card_uuid)
    card = session.scalars(select(Card).where(Card.uuid == text)).first()
    if card is None:
        raise UnknownCard("There is no card {uuid}.", uuid=text)
    return card


def phones_can_open_cards(settings: Settings) -> bool:
    """True when KERYU_PUBLIC_URL is not the LAN default (`http://keryu.local`): cards may say "scan with a phone"."""
    return settings.public_url != Settings.model_fields["public_url"].default


def qr_png(text: str, *, box_size: int = 12, border: int = 4) -> bytes:
    """A PNG of a QR code holding `text`, with medium error correction for worn cards."""
    import qrcode  # with Pillow: loaded by the process that renders a card, only when it does
    import qrcode.constants

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=border)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


def card_png(kiosk: Kiosk, card_uuid: str) -> bytes:
    """The card's QR code (its scan URL) as a PNG, captioned in the kiosk's language with how to use it."""
    from appliance.cards.png import captioned_png
    from appliance.cards.text import card_label, how_to_use

    scan_url = get_card(kiosk, card_uuid).scan_url
    language = kiosk.settings.language
    instruction = how_to_use(language, phones_can_open_cards(kiosk.settings))
    return captioned_png(qr_png(scan_url), [instruction, card_label(language, scan_url)])


def card_sheet_pdf(kiosk: Kiosk) -> bytes:
    """An A4 sheet (several pages if needed) of every active card, with names and cut marks."""
    from appliance.cards.sheet import SheetEntry, render_sheet

    query = (
        select(Card)
        .join(Card.subject)
        .where(Card.active.is_(True), Subject.active.is_(True))
        .order_by(Subject.name, Card.id)
    )
    with kiosk.store.read() as session:
        held = [
            (card.subject.name, CardView.of(card, kiosk.settings.public_url))
            for card in session.scalars(query).unique()
        ]
    if not held:
        raise NotFound("There are no active cards to print.")
    entries = [SheetEntry(name, card.scan_url, qr_png(card.scan_url, box_size=8, border=2)) for name, card in held]
    return render_sheet(entries, kiosk.settings.language, phone_scan=phones_can_open_cards(kiosk.settings))
