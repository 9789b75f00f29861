"""What Twilio WhatsApp and Twilio SMS share: the SDK client, error translation, status mapping.

The Twilio SDK itself (`twilio_sdk.py`) is imported when a Twilio channel first sends or polls,
so that the scanner, the web page and a worker on Meta's channel never load it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from appliance import stored_text
from appliance.config import Settings
from appliance.errors import ChannelNotConfigured, PermanentSendError, SendError, TransientSendError
from appliance.i18n import Sentence
from appliance.messaging.base import MessageIdField, Notification, ProviderStatus, SendResult
from appliance.messaging.errors import TWILIO_CODES, from_network_error, from_provider_code, parse_retry_after

if TYPE_CHECKING:
    from twilio.base.exceptions import TwilioRestException
    from twilio.rest import Client

    from appliance.messaging.twilio_sdk import HeaderKeepingHttpClient

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (3.0, 10.0)  # connect, read

# Twilio's message statuses in the neutral words of `ProviderStatus.state`.
TWILIO_STATES: dict[str, str] = {
    "accepted": "pending",
    "scheduled": "pending",
    "queued": "pending",
    "sending": "pending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


def provider_status(
    message_sid: str, status: str, error_code: object = None, error_message: str | None = None
) -> ProviderStatus:
    """A Twilio status (poll or callback) as a ProviderStatus; unknown statuses count as pending."""
    state = TWILIO_STATES.get((status or "").strip().lower(), "pending")
    code = str(error_code) if error_code not in (None, "", 0, "0") else None
    if state == "failed" and error_message is None:
        known = TWILIO_CODES.get(int(code)) if code and code.isdigit() else None
        error_message = known[1] if known else str(Sentence(stored_text.TWILIO_REPORTED, status=status))
    return ProviderStatus(message_id=message_sid, state=state, error_code=code, error_message=error_message)


def status_callback_url(settings: Settings) -> str | None:
    """Where Twilio should post status callbacks: only a public HTTPS kiosk URL can receive them."""
    parts = urlsplit(settings.public_url)
    if parts.scheme != "https" or (parts.hostname or "").endswith(".local"):
        return None
    return f"{settings.public_url}/webhooks/twilio"


class TwilioChannel:
    """Base of both Twilio channels: a lazily built SDK client pointed at TWILIO_API_URL."""

    number: ClassVar[int]
    name: ClassVar[str]
    required: ClassVar[tuple[str, ...]]  # settings field names that must be set
    message_id_field: ClassVar[MessageIdField] = "message_sid"
    pollable: ClassVar[bool] = True  # no webhook reaches a kiosk on a LAN, so the beat asks

    def __init__(self, settings: Settings, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        self.settings = settings
        self.timeout = timeout
        self._client: Client | None = None
        self._http: HeaderKeepingHttpClient | None = None
        self._lock = threading.Lock()

    def is_configured(self) -> bool:
        """True when the account SID, auth token and this channel's sender number are set."""
        return all(getattr(self.settings, field) for field in self.required)

    @property
    def client(self) -> Client:
        """The SDK client (one per channel object, keep-alive), pointed at TWILIO_API_URL."""
        with self._lock:
            if self._client is None:
                from appliance.messaging.twilio_sdk import HeaderKeepingHttpClient, make_client

                self._http = HeaderKeepingHttpClient(self.timeout)
                self._client = make_client(self.settings, self._http)
            return self._client

    def _not_configured(self) -> ChannelNotConfigured:
        names = ", ".join(field.upper() for field in self.required)
        return ChannelNotConfigured(
            Sentence(stored_text.CHANNEL_UNCONFIGURED, channel=self.name, names=names), code="not_configured"
        )

    def _call(self, action: Callable[[], Any], *, sending: bool) -> Any:
        """Run one SDK call, translating every failure into a classified SendError."""
        import requests  # the SDK's transport, loaded with it on the first call
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            return action()
        except TwilioRestException as exc:
            raise self._classify(exc) from None
        except requests.RequestException as exc:
            raise from_network_error(self.name, exc) from None
        except (TwilioException, ValueError) as exc:  # a success status with a body the SDK cannot read
            if sending:  # Twilio may hold the message: retrying this channel could send it twice
                raise PermanentSendError(
                    Sentence(stored_text.UNREADABLE_SEND_ANSWER, channel=self.name, kind=type(exc).__name__),
                    code="bad_answer",
                ) from None
            raise TransientSendError(
                Sentence(stored_text.UNREADABLE_ANSWER, channel=self.name, kind=type(exc).__name__), code="bad_answer"
            ) from None

    def _classify(self, exc: TwilioRestException) -> SendError:
        assert self._http is not None
        retry_after = parse_retry_after(self._http.last_header("Retry-After"))
        code = exc.code if isinstance(exc.code, int) and exc.code != exc.status else None
        detail = (exc.msg or "").split(": ", 1)[-1] or None  # the SDK prefixes "Unable to create record: "
        failure = from_provider_code(self.name, TWILIO_CODES, code, int(exc.status), detail, retry_after)
        logger.info("Twilio answered HTTP %s, code %s: %s", exc.status, failure.code, type(failure).__name__)
        return failure

    def _create(self, **fields: Any) -> SendResult:
        """Create a Message resource; Twilio's SID identifies it from now on."""
        if not self.is_configured():
            raise self._not_configured()
        callback = status_callback_url(self.settings)
        if callback:
            fields["status_callback"] = callback
        message = self._call(lambda: self.client.messages.create(**fields), sending=True)
        return SendResult(channel=self.number, message_id=str(message.sid), provider_status=message.status)

    def send(self, notification: Notification) -> SendResult:
        raise NotImplementedError

    def fetch_status(self, message_sid: str) -> ProviderStatus:
        """Ask Twilio for a message's current status (the beat's poll: no webhook reaches a LAN)."""
        if not self.is_configured():
            raise self._not_configured()
        message = self._call(lambda: self.client.messages(message_sid).fetch(), sending=False)
        return provider_status(message_sid, str(message.status), message.error_code, message.error_message)
