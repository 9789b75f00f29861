"""What a printed card tells a finder: hold it to the kiosk's camera, and scan it with a phone only
where a phone can open the card's URL (KERYU_PUBLIC_URL is not the LAN default)."""

from __future__ import annotations

import io

import pypdf
import pytest

from appliance.services.cards import card_sheet_pdf
from appliance.services.subjects import SubjectInput, add_subject


def _printed(kiosk) -> str:
    add_subject(kiosk, SubjectInput("Ana López", "55 1234 5678"))
    text = pypdf.PdfReader(io.BytesIO(card_sheet_pdf(kiosk))).pages[0].extract_text()
    return " ".join(text.split())


def test_a_lan_kiosks_card_says_hold_it_to_the_camera_only(kiosk):
    text = _printed(kiosk)
    assert "Si la encuentra, acerque esta tarjeta a la cámara del kiosco." in text
    assert "celular" not in text


@pytest.mark.parametrize("settings", [{"KERYU_PUBLIC_URL": "https://kiosk.example.org"}], indirect=True)
def test_a_card_phones_can_open_also_says_scan_it_with_a_phone(kiosk):
    assert "acerque esta tarjeta a la cámara del kiosco o escanéela con un celular." in _printed(kiosk)


@pytest.mark.parametrize(
    "settings", [{"KERYU_PUBLIC_URL": "https://kiosk.example.org", "KERYU_LANGUAGE": "en"}], indirect=True
)
def test_an_english_kiosks_card_says_the_same_in_english(kiosk):
    assert "hold this card to the kiosk's camera, or scan it with a phone." in _printed(kiosk)
