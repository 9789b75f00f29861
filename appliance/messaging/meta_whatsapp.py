"""Channel 1: Meta WhatsApp Cloud API, a template message posted with urllib3 (`http_pool.py` says why)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, ClassVar

from appliance import stored_text
from appliance.config import Settings
from appliance.errors import ChannelNotConfigured, PermanentSendError, SendError
from appliance.i18n import REGIONAL, Sentence
from appliance.messaging.base import MessageIdField, Notification, SendResult
from appliance.messaging.errors import (
    MALFORMED_ANSWER,
    META_CODES,
    PAIR_RATE_LIMIT_WAIT,
    from_provider_code,
    from_urllib3_error,
    parse_retry_after,
)
from appliance.messaging.format import meta_recipient, template_subject_parameter

if TYPE_CHECKING:
    import urllib3

logger = logging.getLogger(__name__)

PROVIDER = "Meta WhatsApp"
DEFAULT_TIMEOUT = (3.0, 10.0)  # connect, read: an alarm must fall back quickly when Meta is slow


class MetaWhatsApp:
    """Sends the approved template (subject name, time) to the custodian's WhatsApp."""

    number: ClassVar[int] = 1
    name: ClassVar[str] = PROVIDER
    required: ClassVar[tuple[str, ...]] = ("whatsapp_phone_number_id", "whatsapp_access_token")
    message_id_field: ClassVar[MessageIdField] = "whatsapp_message_id"
    pollable: ClassVar[bool] = False  # Meta reports statuses only by webhook

    def __init__(self, settings: Settings, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        self.settings = settings
        self.timeout = timeout
        self._pool: urllib3.PoolManager | None = None
        self._lock = threading.Lock()

    def is_configured(self) -> bool:
        """True when the phone number id and the access token are set."""
        return all(getattr(self.settings, field) for field in self.required)

    @property
    def pool(self) -> urllib3.PoolManager:
        """Keep-alive connections to Graph, shared by the delivery threads, made by the first send.

        The proxy for the endpoint is read from the environment then, once: the worker's
        environment does not change.
        """
        with self._lock:
            if self._pool is None:
                from appliance.messaging.http_pool import keep_alive_pool  # urllib3: the worker only

                self._pool = keep_alive_pool(self.endpoint)
            return self._pool

    @property
    def endpoint(self) -> str:
        return f"{self.settings.whatsapp_api_url}/{self.settings.whatsapp_phone_number_id}/messages"

    def template_language(self, notification: Notification) -> str:
        """The kiosk's template language (WHATSAPP_TEMPLATE_LANGUAGE), or a custodian's own when it differs
        from the kiosk's (the template must be approved in that language too: docs/whatsapp-template.md)."""
        if notification.language == self.settings.language:
            return self.settings.whatsapp_template_language
        return REGIONAL[notification.language]

    def payload(self, notification: Notification) -> dict[str, Any]:
        """The Graph API body: template message, body parameters 1 subject name, 2 time."""
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": meta_recipient(notification.recipient_phone),
            "type": "template",
            "template": {
                "name": self.settings.whatsapp_template,
                "language": {"code": self.template_language(notification)},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": template_subject_parameter(notification)},
                            {"type": "text", "text": notification.timestamp_text},
                        ],
                    }
                ],
            },
        }

    def send(self, notification: Notification) -> SendResult:
        """POST the template message; return Meta's wamid or raise a classified SendError."""
        if not self.is_configured():
            raise ChannelNotConfigured(
                Sentence(stored_text.META_UNCONFIGURED, provider=PROVIDER), code="not_configured"
            )
        import urllib3  # loaded by the first send: the scanner and the web, which never send, do without it

        from appliance.messaging.http_pool import USER_AGENT

        headers = {"Authorization": f"Bearer {self.settings.whatsapp_access_token}", "User-Agent": USER_AGENT}
        try:
            response = self.pool.request(
                "POST",
                self.endpoint,
                json=self.payload(notification),
                headers=headers,
                timeout=urllib3.Timeout(connect=self.timeout[0], read=self.timeout[1]),
                retries=False,  # the delivery decides what to retry, and when
                redirect=False,  # a redirect would resend the token elsewhere; Graph never redirects
            )
        except urllib3.exceptions.HTTPError as exc:
            raise from_urllib3_error(PROVIDER, exc) from None
        if 200 <= response.status < 300:
            return _accepted(response)
        raise _classify(response)


def _accepted(response: urllib3.BaseHTTPResponse) -> SendResult:
    """Read the wamid from a 2xx answer; one without an id is not retried (it may have been sent)."""
    try:
        message = response.json()["messages"][0]
        message_id = str(message["id"])
    except MALFORMED_ANSWER:
        raise PermanentSendError(
            Sentence(stored_text.NO_MESSAGE_ID, provider=PROVIDER, status=response.status), code="bad_answer"
        ) from None
    return SendResult(channel=MetaWhatsApp.number, message_id=message_id, provider_status=message.get("message_status"))


def _classify(response: urllib3.BaseHTTPResponse) -> SendError:
    """Meta's error body {"error": {"code", "message", "error_subcode", ...}} as a SendError."""
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    try:
        error = response.json()["error"]
        code: int | None = int(error["code"])
        data = error.get("error_data")
        detail = (data.get("details") if isinstance(data, dict) else None) or error.get("message")
        hint = error.get("is_transient")
    except MALFORMED_ANSWER:
        code, detail, hint = None, response.data.decode(errors="replace")[:200] or None, None
    if code == 131056 and retry_after is None:
        retry_after = PAIR_RATE_LIMIT_WAIT
    failure = from_provider_code(
        PROVIDER, META_CODES, code, response.status, detail, retry_after, hint if isinstance(hint, bool) else None
    )
    logger.info("Meta answered HTTP %s, code %s: %s", response.status, failure.code, type(failure).__name__)
    return failure
