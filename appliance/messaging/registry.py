"""The one table of channels by contract number (1 Meta WhatsApp, 2 Twilio WhatsApp, 3 Twilio SMS)."""

from __future__ import annotations

import logging

from appliance.config import Settings
from appliance.messaging.base import Channel
from appliance.messaging.meta_whatsapp import MetaWhatsApp
from appliance.messaging.twilio_sms import TwilioSMS
from appliance.messaging.twilio_whatsapp import TwilioWhatsApp

logger = logging.getLogger(__name__)

CHANNEL_CLASSES: dict[int, type[Channel]] = {1: MetaWhatsApp, 2: TwilioWhatsApp, 3: TwilioSMS}


def build_channels(settings: Settings) -> dict[int, Channel]:
    """Every channel, configured or not, keyed by its number."""
    return {number: cls(settings) for number, cls in CHANNEL_CLASSES.items()}  # type: ignore[call-arg]
