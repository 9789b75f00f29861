"""Pure formatting of phone numbers, timestamps and message text, exactly as the contract says."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from appliance.messaging.phone import normalize_phone as normalize_phone  # re-exported: it lived here

if TYPE_CHECKING:
    from appliance.messaging.base import Notification


def meta_recipient(e164: str) -> str:
    """Meta wants the number without '+': +5212345678901 -> 5212345678901."""
    return e164.lstrip("+")


def twilio_number(e164: str) -> str:
    """Twilio's form: a Mexican number gets '1' after +52 when it lacks it (the seed's rule)."""
    if e164.startswith("+52") and not e164.startswith("+521"):
        return "+521" + e164[3:]
    return e164


def twilio_whatsapp_address(e164: str) -> str:
    """`whatsapp:` plus Twilio's form of the number."""
    return "whatsapp:" + twilio_number(e164)


def twilio_whatsapp_sender(configured: str) -> str:
    """The `From` of a Twilio WhatsApp message: TWILIO_WHATSAPP_NUMBER with one `whatsapp:` prefix, given or not."""
    number = configured.strip()
    return number if number.lower().startswith("whatsapp:") else f"whatsapp:{number}"


def clean_text(text: str) -> str:
    """Whitespace runs and line breaks become one space, trimmed."""
    return " ".join(text.split())


def format_timestamp(moment: datetime, zone: tzinfo | None = None) -> str:
    """An alarm's time as a custodian reads it, in the kiosk's zone: '25 Nov 2026, 14:05 CST'."""
    local = moment.astimezone(zone)
    return clean_text(local.strftime("%d %b %Y, %H:%M ") + (local.tzname() or ""))


def message_text(notification: Notification) -> str:
    """The free-form body used by the Twilio channels."""
    where = "with a finder's phone" if notification.from_phone else f"at {notification.location}"
    body = f"Keryu alert: the card of {notification.subject_name} was scanned {where} on {notification.timestamp_text}."
    if notification.is_test:
        body = f"TEST MESSAGE, no action needed. {body}"
    return clean_text(body + finder_text(notification))


def finder_text(notification: Notification) -> str:
    """What a finder's phone added, as a sentence after the alert ("" when nothing)."""
    text = ""
    if notification.finder_phone:
        text += f" Call the finder at {notification.finder_phone}."
    if notification.finder_note:
        text += f' The finder wrote: "{notification.finder_note}"'
    return text


def template_subject_parameter(notification: Notification) -> str:
    """Template body parameter 1: the subject's name, marked plainly when this is a test."""
    name = clean_text(notification.subject_name)
    return f"TEST - {name}" if notification.is_test else name
