"""Provider callbacks over HTTP: forged 403, malformed 400, unknown ids 200 and ignored, repeats change nothing."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from twilio.request_validator import RequestValidator

from appliance.store.models import Alarm, AlarmStatus
from appliance.web import create_app
from tests.web.conftest import make_alarms

pytestmark = pytest.mark.asyncio

APP_SECRET = "meta-app-secret"
VERIFY_TOKEN = "meta-verify-token"
TWILIO_TOKEN = "twilio-auth-token"


@pytest.fixture
def settings(settings):
    """Webhook secrets configured."""
    return settings.model_copy(
        update={
            "whatsapp_app_secret": APP_SECRET,
            "whatsapp_verify_token": VERIFY_TOKEN,
            "twilio_auth_token": TWILIO_TOKEN,
            "twilio_account_sid": "AC" + "0" * 32,
        }
    )


@pytest.fixture
def hooked(kiosk):
    """The kiosk with the webhook secrets above."""
    return kiosk


def _meta_body(message_id: str, status: str, **extra) -> bytes:
    item = {"id": message_id, "status": status, "timestamp": "1764096000", "recipient_id": "525512345678", **extra}
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"statuses": [item]}}]}],
    }
    return json.dumps(payload).encode()


def _sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _alarm(kiosk, alarm_id: int) -> Alarm:
    with kiosk.store.read() as session:
        return session.get(Alarm, alarm_id)


def _sent(kiosk, **ids) -> int:
    [alarm_id] = make_alarms(kiosk, 1, status=AlarmStatus.SENT, notification_sent=True, **ids)
    return alarm_id


async def _post_meta(client, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return await client.post("/webhooks/whatsapp", data=body, headers=headers)


async def test_meta_verification_handshake(hooked, client):
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    response = await client.get("/webhooks/whatsapp", params=query)
    assert (response.status, await response.text()) == (200, "1158201444")
    response = await client.get("/webhooks/whatsapp", params={**query, "hub.verify_token": "guess"})
    assert response.status == 403


async def test_meta_delivered_status_is_applied_once(hooked, client):
    alarm_id = _sent(hooked, whatsapp_message_id="wamid.HBgM1", channel=1)
    body = _meta_body("wamid.HBgM1", "delivered")
    response = await _post_meta(client, body, _sign(body))
    assert response.status == 200 and (await response.json()) == {"applied": 1, "ignored": 0}
    first = _alarm(hooked, alarm_id)
    assert first.notification_status == AlarmStatus.DELIVERED
    again = await _post_meta(client, body, _sign(body))
    assert again.status == 200
    second = _alarm(hooked, alarm_id)
    assert (second.notification_status, second.updated_at, second.delivered_at) == (
        first.notification_status,
        first.updated_at,
        first.delivered_at,
    )


async def test_meta_failed_status_fails_the_alarm_with_the_reason(hooked, client):
    alarm_id = _sent(hooked, whatsapp_message_id="wamid.F", channel=1)
    body = _meta_body("wamid.F", "failed", errors=[{"code": 131026, "title": "Message undeliverable"}])
    assert (await _post_meta(client, body, _sign(body))).status == 200
    alarm = _alarm(hooked, alarm_id)
    assert alarm.notification_status == AlarmStatus.FAILED and "131026" in alarm.notification_error


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=", "sha256=" + "0" * 64, "sha1=abc", "signed-by-me"],
)
async def test_forged_meta_webhooks_are_403_and_change_nothing(hooked, client, signature):
    alarm_id = _sent(hooked, whatsapp_message_id="wamid.X", channel=1)
    body = _meta_body("wamid.X", "failed")
    response = await _post_meta(client, body, signature)
    assert response.status == 403
    assert _alarm(hooked, alarm_id).notification_status == AlarmStatus.SENT


async def test_meta_signed_with_another_secret_is_403(hooked, client):
    body = _meta_body("wamid.X", "delivered")
    assert (await _post_meta(client, body, _sign(body, "someone-else"))).status == 403


async def test_meta_without_an_app_secret_refuses_everything(kiosk, aiohttp_client):
    client = await aiohttp_client(
        create_app(kiosk.with_settings(kiosk.settings.model_copy(update={"whatsapp_app_secret": None})))
    )
    body = _meta_body("wamid.X", "delivered")
    assert (await _post_meta(client, body, _sign(body))).status == 403


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"object": "page"}', b'{"object": "whatsapp_business_account", "entry": 3}'],
)
async def test_malformed_but_signed_meta_body_is_400(hooked, client, body):
    assert (await _post_meta(client, body, _sign(body))).status == 400


async def test_meta_unknown_message_id_is_200_and_ignored(hooked, client):
    body = _meta_body("wamid.NOBODY", "delivered")
    response = await _post_meta(client, body, _sign(body))
    assert response.status == 200 and (await response.json()) == {"applied": 0, "ignored": 1}


def _twilio_signature(kiosk, params: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(kiosk.settings.public_url + "/webhooks/twilio", params)


async def test_twilio_delivered_status_is_applied(hooked, client):
    alarm_id = _sent(hooked, message_sid="SM" + "a" * 32, channel=3)
    params = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}
    headers = {"X-Twilio-Signature": _twilio_signature(hooked, params)}
    response = await client.post("/webhooks/twilio", data=params, headers=headers)
    assert response.status == 200
    assert _alarm(hooked, alarm_id).notification_status == AlarmStatus.DELIVERED


@pytest.mark.parametrize("how", ["missing", "wrong token", "other params", "other url"])
async def test_forged_twilio_webhooks_are_403(hooked, client, how):
    alarm_id = _sent(hooked, message_sid="SM1", channel=3)
    params = {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    signature = {
        "missing": None,
        "wrong token": _twilio_signature(hooked, params, "not-the-token"),
        "other params": _twilio_signature(hooked, {**params, "MessageStatus": "delivered"}),
        "other url": RequestValidator(TWILIO_TOKEN).compute_signature("http://evil/webhooks/twilio", params),
    }[how]
    headers = {"X-Twilio-Signature": signature} if signature else {}
    response = await client.post("/webhooks/twilio", data=params, headers=headers)
    assert response.status == 403
    assert _alarm(hooked, alarm_id).notification_status == AlarmStatus.SENT


async def test_malformed_but_signed_twilio_callback_is_400(hooked, client):
    params = {"AccountSid": "AC1"}
    headers = {"X-Twilio-Signature": _twilio_signature(hooked, params)}
    assert (await client.post("/webhooks/twilio", data=params, headers=headers)).status == 400


async def test_twilio_unknown_sid_is_200_and_ignored(hooked, client):
    params = {"MessageSid": "SMunknown", "MessageStatus": "delivered"}
    headers = {"X-Twilio-Signature": _twilio_signature(hooked, params)}
    response = await client.post("/webhooks/twilio", data=params, headers=headers)
    assert response.status == 200 and (await response.json()) == {"applied": 0, "ignored": 1}
