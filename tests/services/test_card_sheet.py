"""`card_sheet_pdf`: the sheet the admin page and `keryu card sheet` print holds the cards in use."""

from __future__ import annotations

import io

import pypdf

from appliance.services.cards import card_sheet_pdf
from appliance.services.subjects import SubjectInput, add_subject, set_subject_active


def test_card_sheet_pdf_prints_only_active_cards_of_active_subjects(kiosk):
    add_subject(kiosk, SubjectInput("Ana López", "55 1234 5678"))
    gone = add_subject(kiosk, SubjectInput("Bruno Díaz", "55 1234 5679"))
    set_subject_active(kiosk, gone.subject_id, False)
    pdf = card_sheet_pdf(kiosk)
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Ana López" in text and "Bruno Díaz" not in text
