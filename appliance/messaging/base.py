"""The seam every channel implements, and the neutral types that cross it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol


@dataclass(frozen=True)
class Notification:
    """What to tell a custodian, already formatted (see `messaging.format`)."""

    recipient_phone: str  # E.164, e.g. +525512345678
    subject_name: str
    timestamp_text: str  # the alarm's time in the kiosk's zone, human-readable
    location: str
    is_test: bool = False

    @property
    def text(self) -> str:
        """Free-form body for the channels that take one (Twilio)."""
        from appliance.messaging.format import message_text

        return message_text(self)


@dataclass(frozen=True)
class SendResult:
    """A provider accepted the message; `message_id` is its wamid or Twilio SID."""

    channel: int
    message_id: str
    provider_status: str | None = None


@dataclass(frozen=True)
class ProviderStatus:
    """A delivery status the provider reported (webhook or poll), mapped to neutral words.

    `state` is one of: "sent", "delivered", "read", "failed" (undeliverable), or "pending"
    (queued/accepted, nothing final yet).
    """

    message_id: str
    state: str
    error_code: str | None = None
    error_message: str | None = None


class Channel(Protocol):
    """One way of reaching a custodian (channel numbers from the contract: 1, 2, 3)."""

    number: ClassVar[int]
    name: ClassVar[str]

    def is_configured(self) -> bool:
        """True when the configuration has every credential this channel needs."""
        ...

    def send(self, notification: Notification) -> SendResult:
        """Hand the message to the provider or raise Transient/PermanentSendError."""
        ...
