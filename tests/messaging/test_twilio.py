"""Channels 2 and 3 through the official twilio SDK against the Twilio REST stand-in."""

from __future__ import annotations

import base64
import http.server
import json
import logging
import threading
from collections.abc import Callable

import pytest

from appliance.config import Settings
from appliance.errors import ChannelNotConfigured, PermanentSendError, SendError, TransientSendError
from appliance.messaging.base import Notification, ProviderStatus
from appliance.messaging.twilio_common import TwilioChannel
from appliance.messaging.twilio_sms import TwilioSMS
from appliance.messaging.twilio_whatsapp import TwilioWhatsApp
from tests.standins.providers import ProviderStandIn

FAST = (1.0, 0.4)
TEXT = "Alerta de Keryu: la tarjeta de Ana López se escaneó en Front gate el 25 nov 2026, 2:05 p.m. CST."


@pytest.fixture
def sms(make_settings: Callable[..., Settings]) -> TwilioSMS:
    return TwilioSMS(make_settings(), timeout=FAST)


@pytest.fixture
def whatsapp(make_settings: Callable[..., Settings]) -> TwilioWhatsApp:
    return TwilioWhatsApp(make_settings(), timeout=FAST)


@pytest.fixture(params=["sms", "whatsapp"])
def channel(request: pytest.FixtureRequest) -> TwilioChannel:
    return request.getfixturevalue(request.param)


def basic_auth(standin: ProviderStandIn) -> str:
    return "Basic " + base64.b64encode(f"{standin.twilio_sid}:{standin.twilio_token}".encode()).decode()


def test_sms_posts_twilio_form_fields(sms: TwilioSMS, standin: ProviderStandIn, notification: Notification) -> None:
    result = sms.send(notification)
    (request,) = standin.accepted
    assert request.path == f"/2010-04-01/Accounts/{standin.twilio_sid}/Messages.json"
    assert request.headers["Authorization"] == basic_auth(standin)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.body == {"To": "+5215512345678", "From": "+15005550006", "Body": TEXT}
    assert (result.channel, result.message_id, result.provider_status) == (3, request.message_id, "queued")


def test_whatsapp_free_form_uses_whatsapp_addresses(
    whatsapp: TwilioWhatsApp, standin: ProviderStandIn, notification: Notification
) -> None:
    result = whatsapp.send(notification)
    (request,) = standin.accepted
    assert request.body == {"To": "whatsapp:+5215512345678", "From": "whatsapp:+14155238886", "Body": TEXT}
    assert (result.channel, result.message_id) == (2, request.message_id)


def test_whatsapp_content_template_when_configured(
    make_settings: Callable[..., Settings], standin: ProviderStandIn, notification: Notification
) -> None:
    content_sid = "HX" + "b" * 32
    channel = TwilioWhatsApp(make_settings(twilio_whatsapp_content_sid=content_sid), timeout=FAST)
    channel.send(Notification(**{**notification.__dict__, "is_test": True}))
    body = standin.accepted[0].body
    assert set(body) == {"To", "From", "ContentSid", "ContentVariables"}
    assert body["ContentSid"] == content_sid
    assert json.loads(body["ContentVariables"]) == {"1": "PRUEBA - Ana López", "2": "25 nov 2026, 2:05 p.m. CST"}


@pytest.mark.parametrize(
    ("phone", "sms_to", "whatsapp_to"),
    [
        ("+525512345678", "+5215512345678", "whatsapp:+5215512345678"),  # Mexico gets its old mobile 1
        ("+5212345678901", "+5212345678901", "whatsapp:+5212345678901"),  # already has it: unchanged
        ("+14155550123", "+14155550123", "whatsapp:+14155550123"),  # elsewhere: unchanged
    ],
)
def test_recipient_numbers_follow_the_contract(
    sms: TwilioSMS, whatsapp: TwilioWhatsApp, standin: ProviderStandIn, phone: str, sms_to: str, whatsapp_to: str
) -> None:
    note = Notification(recipient_phone=phone, subject_name="Ana", timestamp_text="now", location="gate")
    sms.send(note)
    whatsapp.send(note)
    assert [r.body["To"] for r in standin.accepted] == [sms_to, whatsapp_to]


TWILIO_CLASSIFICATION = [
    (20429, TransientSendError),  # too many requests
    (20500, TransientSendError),  # internal error
    (20503, TransientSendError),  # unavailable
    (30001, TransientSendError),  # queue overflow
    (20003, PermanentSendError),  # authentication
    (21211, PermanentSendError),  # invalid To
    (21408, PermanentSendError),  # region not enabled
    (21610, PermanentSendError),  # unsubscribed (STOP)
    (21612, PermanentSendError),  # not reachable by SMS
    (21614, PermanentSendError),  # not a mobile number
    (21606, PermanentSendError),  # bad From
    (63007, PermanentSendError),  # no WhatsApp sender
    (63016, PermanentSendError),  # outside the 24-hour window
]


@pytest.mark.parametrize(("code", "kind"), TWILIO_CLASSIFICATION, ids=[str(c) for c, _ in TWILIO_CLASSIFICATION])
def test_every_twilio_error_code_is_classified(
    channel: TwilioChannel, standin: ProviderStandIn, notification: Notification, code: int, kind: type[SendError]
) -> None:
    standin.script("twilio", [{"error": code}])
    with pytest.raises(SendError) as caught:
        channel.send(notification)
    assert type(caught.value) is kind
    assert caught.value.code == str(code)
    assert str(caught.value).startswith(f"{channel.name}: ")
    assert standin.accepted == []


@pytest.mark.parametrize(
    ("scripted", "kind", "code"),
    [
        ({"error": 99_001, "status": 400}, PermanentSendError, "99001"),
        ({"error": 99_002, "status": 502}, TransientSendError, "99002"),
        ({"status": 500}, TransientSendError, "20500"),
        ({"status": 502, "body": "<html>Bad Gateway</html>"}, TransientSendError, "http_502"),
        ({"status": 404, "body": "gone"}, PermanentSendError, "http_404"),
        ({"status": 201, "body": "not json"}, PermanentSendError, "bad_answer"),  # accepted? never send twice
    ],
    ids=["unknown-400", "unknown-502", "500", "html-502", "text-404", "201-unreadable"],
)
def test_unknown_codes_and_bodies_are_judged_by_http_status(
    sms: TwilioSMS, standin: ProviderStandIn, notification: Notification, scripted: dict, kind, code: str
) -> None:
    standin.script("twilio", [scripted])
    with pytest.raises(SendError) as caught:
        sms.send(notification)
    assert (type(caught.value), caught.value.code) == (kind, code)


def test_wrong_auth_token_is_permanent(make_settings: Callable[..., Settings], notification: Notification) -> None:
    with pytest.raises(PermanentSendError, match="TWILIO_AUTH_TOKEN") as caught:
        TwilioSMS(make_settings(twilio_auth_token="0" * 32), timeout=FAST).send(notification)
    assert caught.value.code == "20003"


def test_wrong_sender_number_is_permanent(make_settings: Callable[..., Settings], notification: Notification) -> None:
    with pytest.raises(PermanentSendError) as caught:
        TwilioSMS(make_settings(twilio_phone_number="+15550001111"), timeout=FAST).send(notification)
    assert caught.value.code == "21606"


@pytest.mark.parametrize(
    ("scripted", "retry_after"),
    [
        ({"status": 429, "retry_after": 9}, 9.0),
        ({"error": 20429, "retry_after": 3}, 3.0),
        ({"error": 20429}, None),
        ({"error": 21211, "retry_after": 9}, None),
    ],
)
def test_retry_after_is_honoured(
    sms: TwilioSMS, standin: ProviderStandIn, notification: Notification, scripted: dict, retry_after
) -> None:
    standin.script("twilio", [scripted])
    with pytest.raises(SendError) as caught:
        sms.send(notification)
    assert caught.value.retry_after == retry_after


def test_retry_after_of_an_earlier_answer_does_not_leak_into_the_next(
    sms: TwilioSMS, standin: ProviderStandIn, notification: Notification
) -> None:
    standin.script("twilio", [{"status": 429, "retry_after": 9}, {"status": 500}])
    with pytest.raises(TransientSendError):
        sms.send(notification)
    with pytest.raises(TransientSendError) as caught:
        sms.send(notification)
    assert caught.value.retry_after is None


@pytest.mark.parametrize(("scripted", "code"), [({"hang": 5}, "timeout"), ({"drop": True}, "connection")])
def test_hangs_and_dropped_connections_are_transient(
    channel: TwilioChannel, standin: ProviderStandIn, notification: Notification, scripted: dict, code: str
) -> None:
    standin.script("twilio", [scripted])
    with pytest.raises(TransientSendError) as caught:
        channel.send(notification)
    assert caught.value.code == code


def test_sdk_environment_variables_cannot_redirect_the_channel(
    sms: TwilioSMS, standin: ProviderStandIn, notification: Notification, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK reads TWILIO_EDGE/TWILIO_REGION from os.environ unless told not to; config.py is the only reader."""
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    sms.send(notification)
    assert len(standin.accepted) == 1


@pytest.mark.parametrize(
    ("public_url", "callback"),
    [
        ("https://kiosk.example.org", "https://kiosk.example.org/webhooks/twilio"),
        ("http://keryu.local", None),  # Twilio cannot reach a LAN name
        ("https://keryu.local", None),
        ("http://kiosk.example.org", None),  # Twilio signs and posts to public HTTPS only
    ],
)
def test_status_callback_only_for_a_public_https_url(
    make_settings: Callable[..., Settings],
    standin: ProviderStandIn,
    notification: Notification,
    public_url: str,
    callback: str | None,
) -> None:
    TwilioSMS(make_settings(public_url=public_url), timeout=FAST).send(notification)
    assert standin.accepted[0].body.get("StatusCallback") == callback


@pytest.mark.parametrize(
    ("twilio_status", "error_code", "state"),
    [
        ("queued", None, "pending"),
        ("accepted", None, "pending"),
        ("sending", None, "pending"),
        ("sent", None, "sent"),
        ("delivered", None, "delivered"),
        ("read", None, "read"),
        ("undelivered", 30003, "failed"),
        ("failed", 63016, "failed"),
        ("canceled", None, "failed"),
    ],
)
def test_fetch_status_maps_twilio_statuses(
    channel: TwilioChannel, standin: ProviderStandIn, notification: Notification, twilio_status, error_code, state
) -> None:
    sid = channel.send(notification).message_id
    standin.set_status(sid, twilio_status, error_code)
    status = channel.fetch_status(sid)
    assert isinstance(status, ProviderStatus)
    assert (status.message_id, status.state) == (sid, state)
    assert status.error_code == (str(error_code) if error_code else None)
    if state == "failed":
        assert status.error_message
    fetch = standin.requests[-1]
    assert (fetch.method, fetch.path) == ("GET", f"/2010-04-01/Accounts/{standin.twilio_sid}/Messages/{sid}.json")


class _MaintenancePage(http.server.BaseHTTPRequestHandler):
    """A proxy's HTML page where Twilio's JSON should be."""

    def do_GET(self) -> None:
        body = b"<html>maintenance</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_fetch_status_with_an_unreadable_answer_is_transient(make_settings: Callable[..., Settings]) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _MaintenancePage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(TransientSendError) as caught:
            TwilioSMS(make_settings(twilio_api_url=url), timeout=FAST).fetch_status("SM" + "0" * 32)
        assert caught.value.code == "bad_answer"
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_status_of_an_unknown_sid_is_a_permanent_error(sms: TwilioSMS) -> None:
    with pytest.raises(PermanentSendError) as caught:
        sms.fetch_status("SM" + "0" * 32)
    assert caught.value.code == "20404"


def test_fetch_status_when_twilio_is_down_is_transient(
    make_settings: Callable[..., Settings], standin: ProviderStandIn
) -> None:
    url = standin.url
    standin.stop()
    with pytest.raises(TransientSendError):
        TwilioSMS(make_settings(twilio_api_url=url), timeout=FAST).fetch_status("SM" + "0" * 32)


@pytest.mark.parametrize(
    ("cls", "missing", "named"),
    [
        (TwilioSMS, "twilio_phone_number", "TWILIO_PHONE_NUMBER"),
        (TwilioSMS, "twilio_auth_token", "TWILIO_AUTH_TOKEN"),
        (TwilioWhatsApp, "twilio_whatsapp_number", "TWILIO_WHATSAPP_NUMBER"),
        (TwilioWhatsApp, "twilio_account_sid", "TWILIO_ACCOUNT_SID"),
    ],
)
def test_unconfigured_channel_refuses_without_a_request(
    make_settings: Callable[..., Settings],
    standin: ProviderStandIn,
    notification: Notification,
    cls: type[TwilioChannel],
    missing: str,
    named: str,
) -> None:
    channel = cls(make_settings(**{missing: None}))
    assert not channel.is_configured()
    with pytest.raises(ChannelNotConfigured, match=named):
        channel.send(notification)
    with pytest.raises(ChannelNotConfigured):
        channel.fetch_status("SM" + "0" * 32)
    assert standin.requests == []


def test_whatsapp_needs_only_its_own_sender(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(twilio_phone_number=None)
    assert TwilioWhatsApp(settings).is_configured()
    assert not TwilioSMS(settings).is_configured()


def test_the_auth_token_never_reaches_logs_or_errors(
    channel: TwilioChannel, standin: ProviderStandIn, notification: Notification, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    standin.script("twilio", [{"error": 20003}, {"status": 500}, {"drop": True}])
    messages = []
    for _ in range(3):
        with pytest.raises(SendError) as caught:
            channel.send(notification)
        messages.append(str(caught.value))
    channel.send(notification)
    secrets = (standin.twilio_token, basic_auth(standin).split()[1])
    assert not any(secret in caplog.text for secret in secrets)
    assert not any(secret in message for secret in secrets for message in messages)
