"""Channel 3: Twilio SMS, the plain-text fallback that reaches any mobile phone."""

from __future__ import annotations

import logging
from typing import ClassVar

from appliance.messaging.base import Notification, SendResult
from appliance.messaging.format import twilio_number
from appliance.messaging.twilio_common import TwilioChannel

logger = logging.getLogger(__name__)


class TwilioSMS(TwilioChannel):
    """SMS through Twilio from TWILIO_PHONE_NUMBER."""

    number: ClassVar[int] = 3
    name: ClassVar[str] = "Twilio SMS"
    required: ClassVar[tuple[str, ...]] = ("twilio_account_sid", "twilio_auth_token", "twilio_phone_number")

    def message_fields(self, notification: Notification) -> dict[str, str]:
        """The Messages.json fields (SDK names) for this notification."""
        return {
            "from_": str(self.settings.twilio_phone_number),
            "to": twilio_number(notification.recipient_phone),
            "body": notification.text,
        }

    def send(self, notification: Notification) -> SendResult:
        """Create the SMS at Twilio; return its SID or raise a classified SendError."""
        return self._create(**self.message_fields(notification))
