"""Pure formatting of phone numbers, timestamps and message text, exactly as the contract says."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from appliance.i18n import format_moment, gettext

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


def format_timestamp(moment: datetime, zone: tzinfo | None = None, language: str = "es") -> str:
    """An alarm's time as a custodian reads it, in the kiosk's zone: '28 nov 2026, 14:05 CST' (es)."""
    return format_moment(moment, language, zone)


def message_text(notification: Notification) -> str:
    """The free-form body used by the Twilio channels, in the notification's language."""
    language = notification.language
    if notification.from_phone:
        alert = gettext(language, "Keryu alert: the card of {name} was scanned with a finder's phone on {time}.")
    else:
        alert = gettext(language, "Keryu alert: the card of {name} was scanned at {location} on {time}.")
    body = alert.format(
        name=notification.subject_name, location=notification.location, time=notification.timestamp_text
    )
    if notification.is_test:
        body = gettext(language, "TEST MESSAGE, no action needed. {body}").format(body=body)
    if notification.escalation:
        body = gettext(language, "{body} No custodian has been reached: {reason}").format(
            body=body, reason=notification.escalation
        )
    return clean_text(body + finder_text(notification))


def finder_text(notification: Notification) -> str:
    """What a finder's phone added, as a sentence after the alert ("" when nothing)."""
    language = notification.language
    text = ""
    if notification.finder_phone:
        text += " " + gettext(language, "Call the finder at {phone}.").format(phone=notification.finder_phone)
    if notification.finder_note:
        text += " " + gettext(language, 'The finder wrote: "{note}"').format(note=notification.finder_note)
    return text


def template_subject_parameter(notification: Notification) -> str:
    """Template body parameter 1: the subject's name, marked plainly when this is a test."""
    name = clean_text(notification.subject_name)
    if notification.escalation:  # the template has two parameters; the reason travels with the name
        name = f"{name} - {clean_text(notification.escalation)}"
    if notification.is_test:
        return gettext(notification.language, "TEST - {name}").format(name=name)
    return name
