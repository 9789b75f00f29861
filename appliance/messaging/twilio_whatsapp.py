"""Channel 2: Twilio WhatsApp, free-form text or an approved content template."""

from __future__ import annotations

import json
import logging
from typing import ClassVar

from appliance.messaging.base import Notification, SendResult
from appliance.messaging.format import template_subject_parameter, twilio_whatsapp_address, twilio_whatsapp_sender
from appliance.messaging.twilio_common import TwilioChannel

logger = logging.getLogger(__name__)


class TwilioWhatsApp(TwilioChannel):
    """WhatsApp through Twilio; uses TWILIO_WHATSAPP_CONTENT_SID when set (needed outside 24 h)."""

    number: ClassVar[int] = 2
    name: ClassVar[str] = "Twilio WhatsApp"
    required: ClassVar[tuple[str, ...]] = ("twilio_account_sid", "twilio_auth_token", "twilio_whatsapp_number")

    def message_fields(self, notification: Notification) -> dict[str, str]:
        """The Messages.json fields (SDK names) for this notification."""
        fields = {
            "from_": twilio_whatsapp_sender(self.settings.twilio_whatsapp_number or ""),
            "to": twilio_whatsapp_address(notification.recipient_phone),
        }
        if self.settings.twilio_whatsapp_content_sid:
            fields["content_sid"] = self.settings.twilio_whatsapp_content_sid
            fields["content_variables"] = json.dumps(
                {"1": template_subject_parameter(notification), "2": notification.timestamp_text}
            )
        else:
            fields["body"] = notification.text
        return fields

    def send(self, notification: Notification) -> SendResult:
        """Create the WhatsApp message at Twilio; return its SID or raise a classified SendError."""
        return self._create(**self.message_fields(notification))
