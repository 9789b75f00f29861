"""What every printed card says, in the kiosk's language: one place for the sheet and the PNG."""

from __future__ import annotations

from pathlib import Path

from appliance.i18n import gettext

# A Unicode font when the system has DejaVu (names like 'Zoë' or 'Nguyễn'; Spanish accents).
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
)


def how_to_use(language: str, phone_scan: bool) -> str:
    """The instruction a finder reads on the card; `phone_scan` only where a phone can open the card's URL."""
    if phone_scan:
        return gettext(language, "If found, hold this card to the kiosk's camera, or scan it with a phone.")
    return gettext(language, "If found, hold this card to the kiosk's camera.")


def card_label(language: str, scan_url: str) -> str:
    """The card's short id, `Tarjeta 1a2b3c4d`, to tell printed cards apart."""
    return gettext(language, "Card {code}").format(code=scan_url.rsplit("/", 1)[-1][:8])
