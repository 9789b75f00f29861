"""System parameters: run-time settings kept in the database (`channel`, secrets of the web page)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from appliance.clock import utcnow
from appliance.errors import UserError
from appliance.messaging.registry import CHANNEL_CLASSES, channel_choices
from appliance.store.models import SystemParameter

CHANNEL = "channel"
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
    """The first channel to try; the default when the stored one is no longer registered."""
    return channel_number(get_parameter(session, CHANNEL))


def channel_number(stored: str | None) -> int:
    """The first channel to try, from the parameter's stored value (None: never set)."""
    number = _registered_number(stored or "")
    return DEFAULT_CHANNEL if number is None else number


def set_channel(session: Session, value: str | int) -> int:
    """Store the first channel to try, or raise a `UserError` naming the registered channels."""
    text = str(value).strip()
    number = _registered_number(text)
    if number is None:
        raise UserError("Channel must be {choices}, not {typed!r}.", choices=channel_choices(), typed=text)
    set_parameter(session, CHANNEL, str(number))
    return number


def _registered_number(text: str) -> int | None:
    return int(text) if text.isdecimal() and int(text) in CHANNEL_CLASSES else None
