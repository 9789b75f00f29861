"""The seam every channel implements, and the neutral types that cross it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

from appliance.config import Settings
from appliance.i18n import DEFAULT_LANGUAGE

MessageIdField = Literal["whatsapp_message_id", "message_sid"]  # the alarm column a channel's id goes in


@dataclass(frozen=True)
class Notification:
    """What to tell a custodian, already formatted (see `messaging.format`)."""

    recipient_phone: str  # E.164, e.g. +525512345678
    subject_name: str
    timestamp_text: str  # the alarm's time in the kiosk's zone, human-readable
    location: str
    is_test: bool = False
    language: str = DEFAULT_LANGUAGE  # the language the text and the time are written in (`i18n.LANGUAGES`)
    escalation: str | None = None  # to the on-duty contact: why no custodian was reached
    from_phone: bool = False  # a finder's phone raised it from the card's page, not a kiosk's camera
    finder_note: str | None = None  # what a finder's phone wrote (free-form bodies only: templates have two slots)
    finder_phone: str | None = None  # the finder's own number, E.164

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
    """One way of reaching a custodian, with the facts the rest of the kiosk reads from its class.

    `number` is the contract's channel number, `name` what pages and the CLI show,
    `required` the `Settings` fields it needs, `message_id_field` the alarm column its
    message ids fill, and `pollable` whether `fetch_status` can ask the provider later.
    `timeout` (connect, read seconds) bounds one provider call; the delivery's claim lease is
    sized from it.
    """

    number: ClassVar[int]
    name: ClassVar[str]
    required: ClassVar[tuple[str, ...]]
    message_id_field: ClassVar[MessageIdField]
    pollable: ClassVar[bool]
    timeout: tuple[float, float]

    def __init__(self, settings: Settings) -> None: ...

    def is_configured(self) -> bool:
        """True when the configuration has every credential this channel needs."""
        ...

    def send(self, notification: Notification) -> SendResult:
        """Hand the message to the provider or raise Transient/PermanentSendError."""
        ...


class PollableChannel(Channel, Protocol):
    """A channel whose provider answers "what became of message X?" (no webhook reaches a LAN)."""

    def fetch_status(self, message_id: str) -> ProviderStatus:
        """The provider's current word on a message it accepted, or a SendError."""
        ...
