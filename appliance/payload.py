"""What a card's QR code holds, and how a scanned text is turned back into a card UUID.

A card holds `<KERYU_PUBLIC_URL>/scan/<uuid4>`. Any host is accepted (a kiosk may have been
renamed since the card was printed), or a bare UUID. Everything else is foreign.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

MAX_PAYLOAD_CHARS = 512
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")
_SCAN_PATH_RE = re.compile(r"^/scan/([0-9a-fA-F-]{36})/?$")


class ForeignPayload(ValueError):
    """The text is not a Keryu card (a URL of another site, a Wi-Fi code, garbage)."""


def scan_url(public_url: str, card_uuid: str) -> str:
    """The URL printed in a card's QR code."""
    return f"{public_url.rstrip('/')}/scan/{card_uuid}"


def new_card_uuid() -> str:
    """A fresh random card identifier."""
    return str(uuid.uuid4())


def is_card_uuid(text: str) -> bool:
    """True when `text` is a canonical UUID4 as cards carry."""
    return bool(_UUID_RE.match(text))


def parse_payload(text: str) -> str:
    """Return the card UUID (lower case) that `text` names, or raise `ForeignPayload`."""
    candidate = text.strip()
    if not candidate or len(candidate) > MAX_PAYLOAD_CHARS:
        raise ForeignPayload("empty or oversized payload")
    if is_card_uuid(candidate):
        return candidate.lower()
    try:
        parts = urlsplit(candidate)
    except ValueError as exc:
        raise ForeignPayload("not a URL") from exc
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ForeignPayload("not a Keryu scan URL")
    match = _SCAN_PATH_RE.match(parts.path)
    if not match or not is_card_uuid(match.group(1)):
        raise ForeignPayload("not a Keryu scan URL")
    return match.group(1).lower()
