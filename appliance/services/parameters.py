"""System parameters: run-time settings kept in the database (`channel`, secrets of the web page)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.clock import utcnow
from appliance.errors import UserError
from appliance.store.models import SystemParameter

CHANNEL = "channel"
CHANNELS = {1: "Meta WhatsApp", 2: "Twilio WhatsApp", 3: "Twilio SMS"}
DEFAULT_CHANNEL = 1


def get_parameter(session: Session, key: str) -> str | None:
    row = session.get(SystemParameter, key)
    return row.value if row else None


def set_parameter(session: Session, key: str, value: str) -> None:
    row = session.get(SystemParameter, key)
    if row is None:
        session.add(SystemParameter(key=key, value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()


def get_channel(session: Session) -> int:
    """The first channel to try (1 Meta WhatsApp, 2 Twilio WhatsApp, 3 Twilio SMS)."""
    value = get_parameter(session, CHANNEL)
    return int(value) if value in ("1", "2", "3") else DEFAULT_CHANNEL


def set_channel(session: Session, value: str | int) -> int:
    text = str(value).strip()
    if text not in ("1", "2", "3"):
        raise UserError(f"Channel must be 1 (Meta WhatsApp), 2 (Twilio WhatsApp) or 3 (Twilio SMS), not {text!r}.")
    set_parameter(session, CHANNEL, text)
    return int(text)


def all_parameters(session: Session) -> dict[str, str]:
    return {row.key: row.value for row in session.scalars(select(SystemParameter))}
