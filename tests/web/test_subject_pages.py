"""Subjects from the admin page: numbers typed as people type them, clear errors, edit, deactivate, cards."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from appliance.store.models import Card, Subject
from tests.web.conftest import Admin, make_subject

pytestmark = pytest.mark.asyncio


def _subjects(kiosk) -> list[Subject]:
    with kiosk.store.read() as session:
        return list(session.query(Subject).all())


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("55 1234 5678", "+525512345678"),
        ("+52 55 1234 5678", "+525512345678"),
        ("(55) 1234-5678", "+525512345678"),
        ("+521 55 1234 5678", "+525512345678"),
        ("+1 415 555 2671", "+14155552671"),
    ],
)
async def test_add_subject_stores_the_number_in_e164_and_issues_a_card(kiosk, admin: Admin, typed, stored):
    await admin.page("/subjects/new")
    response = await admin.submit("/subjects", {"name": "  Ana   López ", "phone": typed, "custodian_name": "María"})
    assert response.status == 303
    [subject] = _subjects(kiosk)
    assert (subject.name, subject.custodian.phone, subject.custodian.name) == ("Ana López", stored, "María")
    assert response.headers["Location"] == f"/subjects/{subject.id}"
    text = await admin.page(response.headers["Location"])
    assert "Se agregó a Ana López con una tarjeta nueva." in text
    assert stored in text


@pytest.mark.page_language("en")  # the message is checked in English
@pytest.mark.parametrize(
    ("name", "phone", "message"),
    [
        ("Ana", "12", "is not a valid phone number"),
        ("Ana", "not a number", "is not a phone number"),
        ("Ana", "", "is not a phone number"),
        ("", "55 1234 5678", "must not be empty"),
        ("x" * 121, "55 1234 5678", "at most 120"),
    ],
)
async def test_a_bad_entry_is_a_message_on_the_form_and_nothing_is_saved(kiosk, admin: Admin, name, phone, message):
    await admin.page("/subjects/new")
    response = await admin.submit("/subjects", {"name": name, "phone": phone, "custodian_name": "María"})
    text = await response.text()
    assert response.status == 400
    assert message in text
    assert f'value="{phone}"' in text  # what was typed stays in the form
    assert _subjects(kiosk) == []


async def test_search_finds_by_subject_custodian_or_phone(kiosk, admin: Admin):
    make_subject(kiosk, "Ana López", "55 1234 5678")
    make_subject(kiosk, "Bruno Díaz", "33 1234 5678")
    text = await admin.page("/subjects?q=bruno")
    assert "Bruno Díaz" in text and "Ana López" not in text
    text = await admin.page("/subjects?q=%2B5255")
    assert "Ana López" in text and "Bruno Díaz" not in text
    text = await admin.page("/subjects?q=nobody")
    assert "Ninguna persona coincide" in text


async def test_edit_changes_details_and_keeps_the_card(kiosk, admin: Admin):
    subject_id, card = make_subject(kiosk)
    await admin.page(f"/subjects/{subject_id}")
    response = await admin.submit(
        f"/subjects/{subject_id}", {"name": "Ana María López", "phone": "+52 33 9876 5432", "custodian_name": "Luis"}
    )
    assert response.status == 303
    [subject] = _subjects(kiosk)
    assert (subject.name, subject.custodian.phone, subject.custodian.name) == (
        "Ana María López",
        "+523398765432",
        "Luis",
    )
    with kiosk.store.read() as session:
        assert [c.uuid for c in session.query(Card).filter_by(subject_id=subject_id, active=True)] == [card]


@pytest.mark.page_language("en")  # the message is checked in English
async def test_edit_with_a_bad_phone_changes_nothing(kiosk, admin: Admin):
    subject_id, _ = make_subject(kiosk)
    await admin.page(f"/subjects/{subject_id}")
    response = await admin.submit(f"/subjects/{subject_id}", {"name": "Renamed", "phone": "123"})
    assert response.status == 400
    assert "not a valid phone number" in await response.text()
    [subject] = _subjects(kiosk)
    assert (subject.name, subject.custodian.phone) == ("Ana López", "+525512345678")


async def test_deactivate_and_reactivate(kiosk, admin: Admin):
    subject_id, _ = make_subject(kiosk)
    await admin.page(f"/subjects/{subject_id}")
    await admin.submit(f"/subjects/{subject_id}/active", {"active": "0"})
    assert not _subjects(kiosk)[0].active
    assert "desactivada" in await admin.page("/subjects")
    await admin.submit(f"/subjects/{subject_id}/active", {"active": "1"})
    assert _subjects(kiosk)[0].active


@pytest.mark.page_language("en")  # the message is checked in English
async def test_unknown_subject_is_404(admin: Admin):
    text = await admin.page("/subjects/999", status=404)
    assert "There is no subject with id 999." in text


async def test_issue_a_new_card_deactivates_the_old_one(kiosk, admin: Admin):
    subject_id, old = make_subject(kiosk)
    await admin.page(f"/subjects/{subject_id}")
    response = await admin.submit(f"/subjects/{subject_id}/cards")
    assert response.status == 303
    with kiosk.store.read() as session:
        cards = {c.uuid: c.active for c in session.query(Card).filter_by(subject_id=subject_id)}
    assert cards[old] is False and sum(cards.values()) == 1


async def test_card_png_downloads_a_qr_code_of_the_scan_url(kiosk, admin: Admin):
    import zxingcpp

    _, card = make_subject(kiosk)
    response = await admin.client.get(f"/cards/{card}.png?download=1")
    assert response.status == 200 and response.content_type == "image/png"
    assert response.headers["Content-Disposition"] == f'attachment; filename="keryu-card-{card}.png"'
    image = Image.open(io.BytesIO(await response.read()))
    [decoded] = zxingcpp.read_barcodes(image)
    assert decoded.text == f"{kiosk.settings.public_url}/scan/{card}"


async def test_card_sheet_is_a_pdf_of_active_cards(kiosk, admin: Admin):
    make_subject(kiosk)
    response = await admin.client.get("/cards/sheet.pdf")
    assert response.status == 200 and response.content_type == "application/pdf"
    assert (await response.read()).startswith(b"%PDF-")


@pytest.mark.page_language("en")  # the message is checked in English
async def test_card_sheet_without_cards_says_so(admin: Admin):
    text = await admin.page("/cards/sheet.pdf", status=404)
    assert "no active cards" in text


async def test_card_activation_from_the_page(kiosk, admin: Admin):
    subject_id, card = make_subject(kiosk)
    await admin.page(f"/subjects/{subject_id}")
    await admin.submit(f"/cards/{card}/active", {"active": "0"})
    with kiosk.store.read() as session:
        assert session.query(Card).filter_by(uuid=card).one().active is False
    await admin.submit(f"/cards/{card}/active", {"active": "1"})
    with kiosk.store.read() as session:
        assert session.query(Card).filter_by(uuid=card).one().active is True
