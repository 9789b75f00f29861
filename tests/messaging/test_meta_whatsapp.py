"""Channel 1 against the Graph API stand-in: the exact request, and every answer classified."""

from __future__ import annotations

import logging
import socket
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.config import Settings
from appliance.errors import ChannelNotConfigured, PermanentSendError, SendError, TransientSendError
from appliance.messaging.base import Notification
from appliance.messaging.meta_whatsapp import MetaWhatsApp
from tests.standins.certificates import self_signed_loopback, server_context
from tests.standins.providers import ProviderStandIn

FAST = (1.0, 0.4)  # connect, read: the tests' own timeouts, so a hang costs under a second


def expected_body(name_parameter: str = "Ana López", template: str = "qr_template_on_m", language: str = "es_MX"):
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "525512345678",
        "type": "template",
        "template": {
            "name": template,
            "language": {"code": language},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": name_parameter},
                        {"type": "text", "text": "25 nov 2026, 2:05 p.m. CST"},
                    ],
                }
            ],
        },
    }


@pytest.fixture
def channel(make_settings: Callable[..., Settings]) -> MetaWhatsApp:
    return MetaWhatsApp(make_settings(), timeout=FAST)


def test_sends_the_template_message_meta_expects(
    channel: MetaWhatsApp, standin: ProviderStandIn, notification: Notification
) -> None:
    result = channel.send(notification)
    (request,) = standin.accepted
    assert request.method == "POST"
    assert request.path == f"/v23.0/{standin.meta_phone_number_id}/messages"
    assert request.headers["Authorization"] == f"Bearer {standin.meta_token}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == expected_body()
    assert (result.channel, result.message_id, result.provider_status) == (1, request.message_id, "accepted")
    assert result.message_id.startswith("wamid.")


def test_a_test_notification_says_so_in_the_name_parameter(
    channel: MetaWhatsApp, standin: ProviderStandIn, notification: Notification
) -> None:
    channel.send(Notification(**{**notification.__dict__, "is_test": True}))
    assert standin.accepted[0].body == expected_body(name_parameter="PRUEBA - Ana López")


def test_template_name_and_language_come_from_the_settings(
    make_settings: Callable[..., Settings], standin: ProviderStandIn, notification: Notification
) -> None:
    standin.meta_templates["alerta_keryu"] = (("es_MX",), 2)
    settings = make_settings(whatsapp_template="alerta_keryu", whatsapp_template_language="es_MX")
    MetaWhatsApp(settings, timeout=FAST).send(notification)
    assert standin.accepted[0].body == expected_body(template="alerta_keryu", language="es_MX")


def test_one_kept_alive_connection_carries_many_sends(
    channel: MetaWhatsApp, standin: ProviderStandIn, notification: Notification
) -> None:
    for _ in range(5):
        channel.send(notification)
    assert len(standin.accepted) == 5
    assert len({r.client_port for r in standin.accepted}) == 1


def test_delivery_threads_share_kept_alive_connections(
    channel: MetaWhatsApp, standin: ProviderStandIn, notification: Notification
) -> None:
    def three_sends() -> None:
        for _ in range(3):
            channel.send(notification)

    threads = [threading.Thread(target=three_sends) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ports = Counter(request.client_port for request in standin.accepted)
    assert sum(ports.values()) == 6
    assert len(ports) <= 2  # at most one connection per thread sending at that moment, each kept


def test_a_proxy_set_in_the_environment_is_used(
    make_settings: Callable[..., Settings], standin: ProviderStandIn, notification: Notification, monkeypatch
) -> None:
    with socket.socket() as closed:  # a port nobody listens on: the proxy is down
        closed.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{closed.getsockname()[1]}"
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(TransientSendError):
        MetaWhatsApp(make_settings(), timeout=FAST).send(notification)
    assert standin.accepted == []


def test_the_certificate_of_an_https_provider_is_checked_against_the_system_cas(
    tmp_path: Path, make_settings: Callable[..., Settings], notification: Notification, monkeypatch
) -> None:
    cert, key = self_signed_loopback(tmp_path)
    with ProviderStandIn(tls=server_context(cert, key)) as https:
        settings = make_settings(**{name.lower(): value for name, value in https.env().items()})
        with pytest.raises(TransientSendError, match="SSLCertVerificationError") as caught:
            MetaWhatsApp(settings, timeout=FAST).send(notification)
        assert caught.value.code == "connection"
        assert https.accepted == []

        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # OpenSSL's system CA file, as Debian's ca-certificates sets it
        result = MetaWhatsApp(settings, timeout=FAST).send(notification)
        assert result.message_id == https.accepted[0].message_id


# Meta error code -> expected classification (DESIGN principle 7); the stand-in answers with Meta's HTTP status.
META_CLASSIFICATION = [
    (131056, TransientSendError),  # pair rate limit
    (130429, TransientSendError),  # throughput limit
    (131000, TransientSendError),  # something went wrong
    (131016, TransientSendError),  # service unavailable
    (133004, TransientSendError),  # server temporarily unavailable
    (131057, TransientSendError),  # maintenance mode
    (80007, TransientSendError),  # WABA rate limit
    (4, TransientSendError),  # app call limit
    (2, TransientSendError),  # service temporarily unavailable
    (1, TransientSendError),  # unknown, possibly temporary
    (190, PermanentSendError),  # bad or expired token
    (0, PermanentSendError),  # auth exception
    (10, PermanentSendError),  # permission denied
    (200, PermanentSendError),  # permission error
    (100, PermanentSendError),  # invalid parameter
    (132001, PermanentSendError),  # template missing
    (132000, PermanentSendError),  # parameter count
    (132015, PermanentSendError),  # template paused
    (131026, PermanentSendError),  # undeliverable
    (131030, PermanentSendError),  # not in allowed list
    (131047, PermanentSendError),  # re-engagement window
    (131048, PermanentSendError),  # spam restriction: hours, not seconds; fall back now
    (131031, PermanentSendError),  # account locked
    (368, PermanentSendError),  # blocked for policy
    (133010, PermanentSendError),  # sender not registered
]


@pytest.mark.parametrize(("code", "kind"), META_CLASSIFICATION, ids=[str(c) for c, _ in META_CLASSIFICATION])
def test_every_meta_error_code_is_classified(
    channel: MetaWhatsApp, standin: ProviderStandIn, notification: Notification, code: int, kind: type[SendError]
) -> None:
    standin.script("meta", [{"error": code}])
    with pytest.raises(SendError) as caught:
        channel.send(notification)
    assert type(caught.value) is kind
    assert caught.value.code == str(code)
    assert str(caught.value).startswith("Meta WhatsApp: ")
    assert f"error {code}" in str(caught.value)
    assert standin.accepted == []


@pytest.mark.parametrize(
    ("scripted", "kind", "code"),
    [
        ({"error": 999_001, "status": 400}, PermanentSendError, "999001"),  # unknown 4xx: permanent
        ({"error": 999_002, "status": 403}, PermanentSendError, "999002"),
        ({"error": 999_003, "status": 500}, TransientSendError, "999003"),  # unknown 5xx: transient
        ({"error": 999_004, "status": 429}, TransientSendError, "999004"),
        ({"status": 500}, TransientSendError, "131000"),
        ({"status": 503}, TransientSendError, "2"),
        ({"status": 502, "body": "<html>Bad Gateway</html>"}, TransientSendError, "http_502"),
        ({"status": 404, "body": "not json"}, PermanentSendError, "http_404"),
        ({"status": 200, "body": "{}"}, PermanentSendError, "bad_answer"),  # 200 without an id: never repeat
    ],
    ids=["unknown-400", "unknown-403", "unknown-500", "unknown-429", "500", "503", "html-502", "text-404", "200-no-id"],
)
def test_unknown_codes_and_bodies_are_judged_by_http_status(
    channel: MetaWhatsApp,
    standin: ProviderStandIn,
    notification: Notification,
    scripted: dict,
    kind: type[SendError],
    code: str,
) -> None:
    standin.script("meta", [scripted])
    with pytest.raises(SendError) as caught:
        channel.send(notification)
    assert (type(caught.value), caught.value.code) == (kind, code)


def test_real_credential_errors_from_the_stand_in_are_permanent(
    make_settings: Callable[..., Settings], notification: Notification
) -> None:
    with pytest.raises(PermanentSendError, match="renew WHATSAPP_ACCESS_TOKEN") as caught:
        MetaWhatsApp(make_settings(whatsapp_access_token="EAAGwrong"), timeout=FAST).send(notification)
    assert caught.value.code == "190"
    with pytest.raises(PermanentSendError) as caught:
        MetaWhatsApp(make_settings(whatsapp_phone_number_id="42"), timeout=FAST).send(notification)
    assert caught.value.code == "100"
    with pytest.raises(PermanentSendError) as caught:
        MetaWhatsApp(make_settings(whatsapp_template="no_such_template"), timeout=FAST).send(notification)
    assert caught.value.code == "132001"


@pytest.mark.parametrize(
    ("scripted", "retry_after"),
    [
        ({"status": 503, "retry_after": 12}, 12.0),
        ({"error": 130429, "retry_after": 30}, 30.0),
        ({"error": 131056}, 6.0),  # Meta's one-message-per-6-s pair limit, when no header says otherwise
        ({"error": 131056, "retry_after": 2}, 2.0),
        ({"status": 500}, None),
        ({"error": 190, "retry_after": 12}, None),  # a permanent error never schedules a retry
    ],
)
def test_retry_after_is_honoured(
    channel: MetaWhatsApp, standin: ProviderStandIn, notification: Notification, scripted: dict, retry_after
) -> None:
    standin.script("meta", [scripted])
    with pytest.raises(SendError) as caught:
        channel.send(notification)
    assert caught.value.retry_after == retry_after


def test_a_redirect_is_not_followed_so_the_token_goes_nowhere_else(
    channel: MetaWhatsApp, standin: ProviderStandIn, notification: Notification
) -> None:
    elsewhere = f"{standin.meta_api_url}/{standin.meta_phone_number_id}/messages"
    standin.script("meta", [{"status": 307, "body": "", "headers": {"Location": elsewhere}}])
    with pytest.raises(PermanentSendError) as caught:
        channel.send(notification)
    assert caught.value.code == "http_307"
    assert len(standin.requests) == 1


def test_a_hang_past_the_read_timeout_is_transient(
    channel: MetaWhatsApp, standin: ProviderStandIn, notification: Notification
) -> None:
    standin.script("meta", [{"hang": 5}])
    with pytest.raises(TransientSendError, match="may or may not have been sent") as caught:
        channel.send(notification)
    assert caught.value.code == "timeout"


def test_a_dropped_connection_is_transient(
    channel: MetaWhatsApp, standin: ProviderStandIn, notification: Notification
) -> None:
    standin.script("meta", [{"drop": True}])
    with pytest.raises(TransientSendError) as caught:
        channel.send(notification)
    assert caught.value.code == "connection"


def test_nobody_listening_is_transient(make_settings: Callable[..., Settings], notification: Notification) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings = make_settings(whatsapp_api_url=f"http://127.0.0.1:{closed_port}/v23.0")
    with pytest.raises(TransientSendError, match="connection failed") as caught:
        MetaWhatsApp(settings, timeout=FAST).send(notification)
    assert caught.value.code == "connection"


def test_the_channel_recovers_after_transient_failures(
    channel: MetaWhatsApp, standin: ProviderStandIn, notification: Notification
) -> None:
    standin.script("meta", [{"status": 500}, {"drop": True}, "ok"])
    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(channel.send(notification).message_id)
        except TransientSendError as exc:
            outcomes.append(exc.code)
    assert outcomes == ["131000", "connection", standin.accepted[0].message_id]
    assert len(standin.accepted) == 1


@pytest.mark.parametrize(
    "missing", ["whatsapp_phone_number_id", "whatsapp_access_token"], ids=["no-phone-id", "no-token"]
)
def test_unconfigured_channel_refuses_without_a_request(
    make_settings: Callable[..., Settings], standin: ProviderStandIn, notification: Notification, missing: str
) -> None:
    channel = MetaWhatsApp(make_settings(**{missing: None}))
    assert not channel.is_configured()
    with pytest.raises(ChannelNotConfigured, match="WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_ACCESS_TOKEN"):
        channel.send(notification)
    assert standin.requests == []


def test_the_token_never_reaches_logs_or_errors(
    channel: MetaWhatsApp,
    standin: ProviderStandIn,
    notification: Notification,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    standin.script("meta", [{"error": 190}, {"status": 500}, {"drop": True}, {"hang": 5}])
    messages = []
    for _ in range(4):
        with pytest.raises(SendError) as caught:
            channel.send(notification)
        messages.append(str(caught.value))
    channel.send(notification)
    assert standin.meta_token not in caplog.text
    assert not any(standin.meta_token in m for m in messages)
