"""Provider webhooks, pure: signature checks and status payloads turned into ProviderStatus.

No database here; the web runtime passes the result to `services.status_updates`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from typing import Any

from twilio.request_validator import RequestValidator

from appliance import stored_text
from appliance.messaging.base import ProviderStatus
from appliance.messaging.errors import META_CODES
from appliance.messaging.twilio_common import provider_status

logger = logging.getLogger(__name__)

META_STATES = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed", "played": "read"}


def verify_meta_signature(raw_body: bytes, header: str | None, app_secret: str | None) -> bool:
    """True when X-Hub-Signature-256 is `sha256=` + HMAC-SHA256(raw body, app secret)."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def meta_verification_challenge(params: Mapping[str, str], verify_token: str | None) -> str | None:
    """Meta's subscription handshake: the challenge to echo, or None to refuse (403)."""
    if not verify_token or params.get("hub.mode") != "subscribe":
        return None
    offered = params.get("hub.verify_token") or ""
    if not hmac.compare_digest(offered.encode(), verify_token.encode()):
        return None
    challenge = params.get("hub.challenge")
    return challenge if challenge else None


def parse_meta_statuses(payload: Any) -> list[ProviderStatus]:
    """Every message status in a Cloud API webhook (entry/changes/value/statuses); ValueError if malformed.

    Notifications without statuses (incoming messages, template updates) give an empty list;
    statuses with a value the kiosk does not act on (e.g. "deleted") are skipped.
    """
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise ValueError("not a WhatsApp Business Account notification")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise ValueError("notification without an 'entry' list")
    found: list[ProviderStatus] = []
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raise ValueError("entry without a 'changes' list")
        for change in changes:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                raise ValueError("change without a 'value' object")
            statuses = value.get("statuses", [])
            if not isinstance(statuses, list):
                raise ValueError("'statuses' is not a list")
            found.extend(status for item in statuses if (status := _meta_status(item)) is not None)
    return found


def _meta_status(item: Any) -> ProviderStatus | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("status"), str):
        raise ValueError("status without a string 'id' and 'status'")
    state = META_STATES.get(item["status"])
    if state is None:
        logger.debug("Ignoring Meta status %r for %s", item["status"], item["id"])
        return None
    code = message = None
    errors = item.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = str(first["code"]) if first.get("code") is not None else None
        details = first.get("error_data", {}).get("details") if isinstance(first.get("error_data"), dict) else None
        known = META_CODES.get(int(code)) if code and code.isdigit() else None
        message = (known[1] if known else None) or details or first.get("title") or first.get("message")
    if state == "failed" and message is None:
        message = stored_text.META_REPORTED_FAILED
    return ProviderStatus(message_id=item["id"], state=state, error_code=code, error_message=message)


def verify_twilio_signature(url: str, params: Mapping[str, str], signature: str | None, auth_token: str | None) -> bool:
    """True when X-Twilio-Signature matches the full callback URL and POST fields (Twilio's SDK)."""
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def parse_twilio_status(params: Mapping[str, str]) -> ProviderStatus:
    """A Twilio status callback's form fields (MessageSid, MessageStatus, ErrorCode) as a ProviderStatus."""
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = params.get("MessageStatus") or params.get("SmsStatus")
    if not sid or not status:
        raise ValueError("Twilio callback without MessageSid and MessageStatus")
    return provider_status(sid, status, params.get("ErrorCode"), params.get("ErrorMessage") or None)
