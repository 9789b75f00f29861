"""The one table of channels, by contract number (1 Meta WhatsApp, 2 Twilio WhatsApp, 3 Twilio SMS).

Everything else that needs a channel fact (the `channel` parameter's choices and its error
sentence, the names pages and the CLI show, which channels the beat polls, which alarm column
an id fills) reads it from here. A new channel is one module with a `Channel` class and one
entry in `CHANNEL_CLASSES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from appliance.config import Settings
from appliance.messaging.base import Channel
from appliance.messaging.meta_whatsapp import MetaWhatsApp
from appliance.messaging.twilio_sms import TwilioSMS
from appliance.messaging.twilio_whatsapp import TwilioWhatsApp

CHANNEL_CLASSES: dict[int, type[Channel]] = {cls.number: cls for cls in (MetaWhatsApp, TwilioWhatsApp, TwilioSMS)}


def channel_names() -> dict[int, str]:
    """Number → name of every channel, in number order: what pages, the CLI and app.js show."""
    return {number: CHANNEL_CLASSES[number].name for number in sorted(CHANNEL_CLASSES)}


def channel_name(number: int | None) -> str:
    """The name shown for channel `number`; empty for none, the bare number for one no longer registered."""
    if number is None:
        return ""
    cls = CHANNEL_CLASSES.get(number)
    return cls.name if cls else str(number)


def channel_choices() -> str:
    """The channels as a person reads them in a sentence: "1 (Meta WhatsApp), 2 (...) or 3 (...)"."""
    parts = [f"{number} ({name})" for number, name in channel_names().items()]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"


def pollable_numbers() -> tuple[int, ...]:
    """Channels whose provider the beat asks about messages still SENT."""
    return tuple(number for number in sorted(CHANNEL_CLASSES) if CHANNEL_CLASSES[number].pollable)


def build_channels(settings: Settings) -> Mapping[int, Channel]:
    """Every channel, configured or not, keyed by its number; read-only, built once per Kiosk."""
    return MappingProxyType({number: CHANNEL_CLASSES[number](settings) for number in sorted(CHANNEL_CLASSES)})
