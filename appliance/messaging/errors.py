"""Provider answers translated at the edge into Transient/PermanentSendError (DESIGN principle 7).

The tables say, per provider error code, whether retrying the same channel can help and what
a person should do about it. A code not in the tables is judged by its HTTP status: 429 and
5xx are transient, any other 4xx is permanent (retrying a request the provider called wrong
only delays the fallback channel).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from appliance import stored_text
from appliance.errors import PermanentSendError, SendError, TransientSendError
from appliance.i18n import N_, Sentence

if TYPE_CHECKING:
    import requests
    import urllib3

logger = logging.getLogger(__name__)

# Meta Cloud API / Graph API codes: code -> (transient, what it means for the kiosk's owner).
META_CODES: dict[int, tuple[bool, str]] = {
    # transient: the provider is busy or rate limiting; the same request later will do
    1: (True, N_("Meta reported an unknown, possibly temporary error")),
    2: (True, N_("the WhatsApp service is temporarily unavailable")),
    4: (True, N_("the app hit Meta's API call limit")),
    80007: (True, N_("the WhatsApp Business Account hit its rate limit")),
    130429: (True, N_("the WhatsApp number hit its message throughput limit")),
    131000: (True, N_("Meta could not send the message (unknown error on their side)")),
    131016: (True, N_("the WhatsApp service is temporarily unavailable")),
    131056: (True, N_("too many messages to the same custodian in a short time (pair rate limit)")),
    131057: (True, N_("the WhatsApp Business Account is in maintenance mode")),
    133004: (True, N_("the WhatsApp server is temporarily unavailable")),
    # permanent: credentials, account, recipient or template must be fixed by a person
    0: (False, N_("Meta could not authenticate the request; check WHATSAPP_ACCESS_TOKEN")),
    3: (False, N_("the app is not allowed to use this API method")),
    10: (False, N_("the access token lacks permission to send WhatsApp messages")),
    100: (False, N_("Meta rejected a parameter (phone number id, recipient or message)")),
    190: (False, N_("the access token was rejected or has expired; renew WHATSAPP_ACCESS_TOKEN")),
    200: (False, N_("the access token lacks a required permission")),
    368: (False, N_("the WhatsApp number is temporarily blocked for policy violations")),
    130472: (False, N_("the custodian's number is part of a WhatsApp experiment and cannot receive this")),
    130497: (False, N_("the business account may not message custodians in this country")),
    131005: (False, N_("Meta denied access; check the token's permissions")),
    131008: (False, N_("a required parameter is missing from the message")),
    131009: (False, N_("a parameter value is not valid")),
    131021: (False, N_("the custodian's number is the kiosk's own sender number")),
    131026: (False, N_("WhatsApp could not deliver to this number (not on WhatsApp, old app, or blocked)")),
    131030: (False, N_("the custodian's number is not in the test number's allowed list")),
    131031: (False, N_("the WhatsApp Business Account is locked")),
    131042: (False, N_("the WhatsApp Business Account has a payment problem")),
    131045: (False, N_("the WhatsApp sender number is not registered (certificate error)")),
    131047: (False, N_("more than 24 hours since the custodian last wrote; a template is required")),
    131048: (False, N_("the WhatsApp number is restricted for spam (messages blocked or reported)")),
    131051: (False, N_("WhatsApp does not support this message type")),
    132000: (False, N_("the template's parameter count does not match; check WHATSAPP_TEMPLATE")),
    132001: (False, N_("the template does not exist in this language; check WHATSAPP_TEMPLATE and its language")),
    132005: (False, N_("the template text is too long after filling in the parameters")),
    132007: (False, N_("the template breaks WhatsApp's formatting policy")),
    132012: (False, N_("a template parameter has the wrong format")),
    132015: (False, N_("the template is paused by Meta (low quality)")),
    132016: (False, N_("the template is disabled by Meta")),
    133010: (False, N_("the WhatsApp sender number is not registered with Cloud API")),
    135000: (False, N_("Meta rejected the message (generic user error)")),
}

# Twilio REST API codes: code -> (transient, meaning).
TWILIO_CODES: dict[int, tuple[bool, str]] = {
    20429: (True, N_("Twilio is rate limiting requests (too many requests)")),
    20500: (True, N_("Twilio had an internal server error")),
    20503: (True, N_("Twilio is temporarily unavailable")),
    30001: (True, N_("Twilio's queue for the sender is full (queue overflow)")),
    63018: (True, N_("the WhatsApp sender exceeded its rate limit")),
    20003: (False, N_("Twilio refused the credentials; check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")),
    20404: (False, N_("Twilio does not know this resource (wrong account SID or message SID)")),
    21211: (False, N_("Twilio says the custodian's phone number is invalid")),
    21408: (False, N_("the Twilio account may not send SMS to this country (geo permissions)")),
    21602: (False, N_("the message body is empty")),
    21604: (False, N_("no recipient number was given")),
    21606: (False, N_("TWILIO_PHONE_NUMBER is not an SMS-capable number of this Twilio account")),
    21608: (False, N_("a Twilio trial account may only send to verified numbers")),
    21610: (False, N_("the custodian has unsubscribed (replied STOP) from this sender")),
    21612: (False, N_("the custodian's number cannot be reached by SMS from this sender")),
    21614: (False, N_("the custodian's number is not a mobile number")),
    21617: (False, N_("the message is too long")),
    # codes Twilio reports later, in a status callback or poll, for messages it accepted
    30003: (False, N_("the custodian's phone is unreachable (off or out of coverage)")),
    30004: (False, N_("the custodian has blocked messages from this sender")),
    30005: (False, N_("the custodian's number is unknown to the carrier")),
    30006: (False, N_("the custodian's number is a landline or cannot receive SMS")),
    30007: (False, N_("the carrier filtered the message as spam")),
    30008: (False, N_("the carrier reported an unknown delivery error")),
    63007: (False, N_("TWILIO_WHATSAPP_NUMBER is not a WhatsApp sender of this Twilio account")),
    63016: (False, N_("outside WhatsApp's 24-hour window a template is required; set TWILIO_WHATSAPP_CONTENT_SID")),
    63024: (False, N_("the custodian's number is not a valid WhatsApp recipient")),
    63032: (False, N_("the custodian's WhatsApp cannot receive this message")),
}

# What reading an answer of an unexpected JSON shape raises (missing keys, wrong types, no JSON).
MALFORMED_ANSWER = (ValueError, KeyError, IndexError, TypeError, AttributeError)

PAIR_RATE_LIMIT_WAIT = 6.0  # Meta allows about one message per 6 s to the same recipient


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def from_provider_code(
    provider: str,
    table: dict[int, tuple[bool, str]],
    code: int | None,
    http_status: int,
    detail: str | None,
    retry_after: float | None,
    is_transient_hint: bool | None = None,
) -> SendError:
    """One provider error answer as the SendError the delivery service acts on."""
    known = table.get(code) if code is not None else None
    if known is not None:
        transient, meaning = known
    elif is_transient_hint is not None:
        transient, meaning = is_transient_hint, stored_text.PROVIDER_REFUSED
    else:
        transient = http_status == 429 or http_status >= 500
        meaning = stored_text.PROVIDER_UNAVAILABLE if transient else stored_text.PROVIDER_REFUSED
    shown_code = str(code) if code is not None else f"http_{http_status}"
    fields = {"provider": provider, "meaning": meaning, "code": shown_code, "status": http_status}
    if detail:
        message = Sentence(stored_text.PROVIDER_ERROR_DETAIL, **fields, detail=_short(detail))
    else:
        message = Sentence(stored_text.PROVIDER_ERROR, **fields)
    kind = TransientSendError if transient else PermanentSendError
    return kind(message, code=shown_code, retry_after=retry_after if transient else None)


def from_network_error(provider: str, exc: requests.RequestException) -> TransientSendError:
    """A request made with requests (the Twilio SDK's) that got no HTTP answer."""
    import requests  # already loaded by the channel that raised `exc`; the tables above need none of it

    if isinstance(exc, requests.ConnectTimeout):
        return network_failure(provider, "connect_timeout")
    if isinstance(exc, requests.Timeout):
        return network_failure(provider, "timeout")
    kind = "connection" if isinstance(exc, requests.ConnectionError) else "request"
    reason = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError -> its cause
    return network_failure(provider, kind, _exception_summary(reason, type(exc).__name__))


def from_urllib3_error(provider: str, exc: urllib3.exceptions.HTTPError) -> TransientSendError:
    """A request made with urllib3 (no retries: it raises the cause itself) that got no HTTP answer."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError, ProxyError, SSLError
    from urllib3.exceptions import TimeoutError as AnyTimeout

    if isinstance(exc, NewConnectionError | ProtocolError | ProxyError | SSLError):  # NewConnectionError first:
        return network_failure(provider, "connection", _exception_summary(exc))  # it is a ConnectTimeoutError too
    if isinstance(exc, ConnectTimeoutError):
        return network_failure(provider, "connect_timeout")
    if isinstance(exc, AnyTimeout):
        return network_failure(provider, "timeout")
    return network_failure(provider, "request", _exception_summary(exc))


def network_failure(provider: str, kind: str, problem: str | None = None) -> TransientSendError:
    """The failure of a request no provider answered, by kind (`stored_text.NETWORK_FAILURES`).

    "connect_timeout" and "connection": the provider never heard us. "timeout": it may have
    taken the message; only retries on this channel risk a repeat.
    """
    fields = {"provider": provider} if problem is None else {"provider": provider, "problem": problem}
    return TransientSendError(Sentence(stored_text.NETWORK_FAILURES[kind], **fields), code=kind)


def _exception_summary(reason: object, fallback: str = "error") -> str:
    """The innermost reason of a network error, short and without request details."""
    if isinstance(reason, BaseException) and reason.args and isinstance(reason.args[-1], BaseException):
        reason = reason.args[-1]  # ProtocolError("Connection aborted.", RemoteDisconnected(...))
    if not isinstance(reason, BaseException):
        return fallback
    text = str(reason).rsplit(": ", 1)[-1]
    return f"{type(reason).__name__}: {text}" if text else type(reason).__name__


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
