"""Webhook signatures and status payloads, as Meta and Twilio send them (pure: no server, no database)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from appliance.messaging.base import ProviderStatus
from appliance.messaging.webhooks import (
    meta_verification_challenge,
    parse_meta_statuses,
    parse_twilio_status,
    verify_meta_signature,
    verify_twilio_signature,
)

APP_SECRET = "0123456789abcdef0123456789abcdef"
WAMID = "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEjVCRjM2NkQ2QjAzRTQ4QTYyNwA="


def meta_notification(*statuses: dict, value_extra: dict | None = None) -> dict:
    """The envelope Meta posts for the `messages` field."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001234", "phone_number_id": "106540352242922"},
        **({"statuses": list(statuses)} if statuses else {}),
        **(value_extra or {}),
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def meta_status(status: str, message_id: str = WAMID, **extra: object) -> dict:
    return {"id": message_id, "status": status, "timestamp": "1764096300", "recipient_id": "5215512345678", **extra}


def meta_signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ---- Meta signature ------------------------------------------------------------------------------
BODY = json.dumps(meta_notification(meta_status("delivered"))).encode()


@pytest.mark.parametrize(
    ("body", "header", "secret", "valid"),
    [
        (BODY, meta_signature(BODY), APP_SECRET, True),
        (BODY, meta_signature(BODY).upper().replace("SHA256=", "sha256="), APP_SECRET, True),  # hex case
        (BODY, meta_signature(BODY, "another-secret"), APP_SECRET, False),
        (BODY + b" ", meta_signature(BODY), APP_SECRET, False),  # body changed after signing
        (BODY, meta_signature(BODY).replace("sha256=", "sha1="), APP_SECRET, False),
        (BODY, "sha256=", APP_SECRET, False),
        (BODY, None, APP_SECRET, False),
        (BODY, meta_signature(BODY), None, False),  # no secret configured: refuse everything
        (BODY, meta_signature(BODY, ""), "", False),
    ],
    ids=["valid", "upper-hex", "wrong-secret", "tampered", "sha1", "empty", "missing", "no-secret", "empty-secret"],
)
def test_meta_signature(body: bytes, header: str | None, secret: str | None, valid: bool) -> None:
    assert verify_meta_signature(body, header, secret) is valid


# ---- Meta verification handshake ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "token", "answer"),
    [
        (
            {"hub.mode": "subscribe", "hub.verify_token": "s3cret", "hub.challenge": "1158201444"},
            "s3cret",
            "1158201444",
        ),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1158201444"}, "s3cret", None),
        ({"hub.mode": "unsubscribe", "hub.verify_token": "s3cret", "hub.challenge": "1"}, "s3cret", None),
        ({"hub.mode": "subscribe", "hub.verify_token": "s3cret"}, "s3cret", None),
        ({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}, None, None),
        ({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}, "", None),
        ({}, "s3cret", None),
    ],
    ids=["ok", "wrong-token", "wrong-mode", "no-challenge", "no-token-configured", "empty-token", "nothing"],
)
def test_meta_verification_challenge(params: dict, token: str | None, answer: str | None) -> None:
    assert meta_verification_challenge(params, token) == answer


# ---- Meta status notifications --------------------------------------------------------------------
@pytest.mark.parametrize(("meta", "state"), [("sent", "sent"), ("delivered", "delivered"), ("read", "read")])
def test_meta_statuses_map_to_neutral_states(meta: str, state: str) -> None:
    assert parse_meta_statuses(meta_notification(meta_status(meta))) == [ProviderStatus(WAMID, state)]


def test_meta_failed_status_carries_the_error_code_and_a_readable_reason() -> None:
    failed = meta_status(
        "failed",
        errors=[
            {
                "code": 131026,
                "title": "Message undeliverable",
                "message": "Message undeliverable",
                "error_data": {"details": "Message Undeliverable."},
            }
        ],
    )
    (status,) = parse_meta_statuses(meta_notification(failed))
    assert (status.state, status.error_code) == ("failed", "131026")
    assert "could not deliver" in (status.error_message or "")


def test_meta_failed_status_with_an_unknown_code_keeps_meta_details() -> None:
    failed = meta_status("failed", errors=[{"code": 555555, "title": "Odd", "error_data": {"details": "Odd thing"}}])
    (status,) = parse_meta_statuses(meta_notification(failed))
    assert (status.error_code, status.error_message) == ("555555", "Odd thing")


def test_meta_failed_status_without_errors_still_says_failed() -> None:
    (status,) = parse_meta_statuses(meta_notification(meta_status("failed")))
    assert status.state == "failed" and status.error_code is None and status.error_message


def test_several_statuses_in_one_notification_keep_their_order() -> None:
    payload = meta_notification(meta_status("sent", "wamid.A"), meta_status("delivered", "wamid.B"))
    payload["entry"].append(
        payload["entry"][0] | {"changes": [{"value": {"statuses": [meta_status("read", "wamid.C")]}}]}
    )
    assert [(s.message_id, s.state) for s in parse_meta_statuses(payload)] == [
        ("wamid.A", "sent"),
        ("wamid.B", "delivered"),
        ("wamid.C", "read"),
    ]


def test_notifications_without_statuses_give_nothing() -> None:
    incoming = {"contacts": [{"wa_id": "5215512345678"}], "messages": [{"id": "wamid.X", "type": "text"}]}
    assert parse_meta_statuses(meta_notification(value_extra=incoming)) == []
    assert parse_meta_statuses(meta_notification(meta_status("deleted"))) == []  # nothing the kiosk acts on


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": [{"id": "1"}]},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {"statuses": {}}}]}]},
        meta_notification({"status": "delivered"}),
        meta_notification({"id": 42, "status": "delivered"}),
        meta_notification("delivered"),  # type: ignore[arg-type]
    ],
    ids=[
        "none",
        "list",
        "other-object",
        "no-entry",
        "no-changes",
        "no-value",
        "statuses-not-list",
        "no-id",
        "id-not-string",
        "status-not-object",
    ],
)
def test_malformed_meta_payloads_are_refused(payload: object) -> None:
    with pytest.raises(ValueError):
        parse_meta_statuses(payload)


# ---- Twilio signature -----------------------------------------------------------------------------
TWILIO_TOKEN = "12345678901234567890123456789012"
CALLBACK_URL = "https://kiosk.example.org/webhooks/twilio"
CALLBACK = {
    "AccountSid": "AC" + "1" * 32,
    "MessageSid": "SM" + "2" * 32,
    "MessageStatus": "delivered",
    "To": "+5215512345678",
    "From": "+15005550006",
    "ApiVersion": "2010-04-01",
}


def twilio_signature(url: str, params: dict, token: str = TWILIO_TOKEN) -> str:
    """Twilio's documented scheme, written out: HMAC-SHA1 of URL + sorted name/value pairs, base64."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@pytest.mark.parametrize(
    ("url", "params", "signature", "token", "valid"),
    [
        (CALLBACK_URL, CALLBACK, twilio_signature(CALLBACK_URL, CALLBACK), TWILIO_TOKEN, True),
        (CALLBACK_URL, CALLBACK, twilio_signature(CALLBACK_URL, CALLBACK, "0" * 32), TWILIO_TOKEN, False),
        (
            CALLBACK_URL,
            {**CALLBACK, "MessageStatus": "failed"},
            twilio_signature(CALLBACK_URL, CALLBACK),
            TWILIO_TOKEN,
            False,
        ),
        (
            "https://other.example.org/webhooks/twilio",
            CALLBACK,
            twilio_signature(CALLBACK_URL, CALLBACK),
            TWILIO_TOKEN,
            False,
        ),
        (CALLBACK_URL, CALLBACK, None, TWILIO_TOKEN, False),
        (CALLBACK_URL, CALLBACK, "", TWILIO_TOKEN, False),
        (CALLBACK_URL, CALLBACK, twilio_signature(CALLBACK_URL, CALLBACK), None, False),
    ],
    ids=["valid", "wrong-token", "field-changed", "other-url", "missing", "empty", "no-token-configured"],
)
def test_twilio_signature(url: str, params: dict, signature: str | None, token: str | None, valid: bool) -> None:
    assert verify_twilio_signature(url, params, signature, token) is valid


# ---- Twilio status callbacks ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"MessageStatus": "delivered"}, ("delivered", None)),
        ({"MessageStatus": "read"}, ("read", None)),
        ({"MessageStatus": "sent"}, ("sent", None)),
        ({"MessageStatus": "queued"}, ("pending", None)),
        ({"MessageStatus": "undelivered", "ErrorCode": "30003"}, ("failed", "30003")),
        ({"MessageStatus": "failed", "ErrorCode": "63016"}, ("failed", "63016")),
        ({"SmsStatus": "delivered"}, ("delivered", None)),  # older callbacks use Sms* names
        ({"MessageStatus": "delivered", "ErrorCode": ""}, ("delivered", None)),
    ],
)
def test_twilio_status_callbacks(fields: dict, expected: tuple[str, str | None]) -> None:
    status = parse_twilio_status({"MessageSid": CALLBACK["MessageSid"], **fields})
    assert (status.message_id, status.state, status.error_code) == (CALLBACK["MessageSid"], *expected)
    if status.state == "failed":
        assert status.error_message


def test_twilio_failed_callback_explains_known_codes() -> None:
    status = parse_twilio_status({"MessageSid": "SMx", "MessageStatus": "undelivered", "ErrorCode": "21610"})
    assert "unsubscribed" in (status.error_message or "")


@pytest.mark.parametrize(
    "fields", [{}, {"MessageSid": "SMx"}, {"MessageStatus": "delivered"}], ids=["empty", "no-status", "no-sid"]
)
def test_twilio_callbacks_without_sid_or_status_are_refused(fields: dict) -> None:
    with pytest.raises(ValueError):
        parse_twilio_status(fields)
