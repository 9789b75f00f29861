"""The provider stand-in answers like Meta's Graph API and Twilio's REST API, and can be scripted."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.standins.providers import META_ERRORS, TWILIO_ERRORS, ProviderStandIn

STANDIN_FILE = Path(__file__).resolve().parents[1] / "standins" / "providers.py"


def meta_body(to: str = "5215512345678", name: str = "qr_template_on_m", params: int = 2) -> dict:
    parameters = [{"type": "text", "text": f"p{i}"} for i in range(params)]
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": parameters}],
        },
    }


def post_meta(standin: ProviderStandIn, body: dict, token: str | None = None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or standin.meta_token}"}
    url = f"{standin.meta_api_url}/{standin.meta_phone_number_id}/messages"
    return requests.post(url, json=body, headers=headers, timeout=kwargs.pop("timeout", 5), **kwargs)


def post_twilio(standin: ProviderStandIn, form: dict, auth: tuple[str, str] | None = None) -> requests.Response:
    url = f"{standin.twilio_api_url}/2010-04-01/Accounts/{standin.twilio_sid}/Messages.json"
    return requests.post(url, data=form, auth=auth or (standin.twilio_sid, standin.twilio_token), timeout=5)


def sms_form(standin: ProviderStandIn, to: str = "+5215512345678") -> dict:
    return {"To": to, "From": standin.twilio_phone_number, "Body": "hello"}


def test_meta_success_has_graph_api_shape_and_is_recorded(standin: ProviderStandIn) -> None:
    answer = post_meta(standin, meta_body())
    assert answer.status_code == 200
    data = answer.json()
    assert data["messaging_product"] == "whatsapp"
    assert data["contacts"] == [{"input": "5215512345678", "wa_id": "5215512345678"}]
    assert data["messages"][0]["id"].startswith("wamid.")
    (record,) = standin.accepted
    assert record.provider == "meta"
    assert record.message_id == data["messages"][0]["id"]
    assert record.body == meta_body()
    assert record.headers["Authorization"] == f"Bearer {standin.meta_token}"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"token": "wrong"}, 401, 190),
        ({"body": {**meta_body(), "messaging_product": "sms"}}, 400, 100),
        ({"body": meta_body(to="not-a-number")}, 400, 100),
        ({"body": meta_body(name="missing_template")}, 404, 132001),
        ({"body": meta_body(params=1)}, 400, 132000),
    ],
    ids=["bad-token", "bad-product", "bad-recipient", "unknown-template", "parameter-count"],
)
def test_meta_rejects_what_the_graph_api_rejects(
    standin: ProviderStandIn, change: dict, status: int, code: int
) -> None:
    answer = post_meta(standin, change.get("body", meta_body()), token=change.get("token"))
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["type"] == "OAuthException"
    assert error["fbtrace_id"]
    assert standin.accepted == []


def test_meta_unknown_phone_number_id_is_error_100_subcode_33(standin: ProviderStandIn) -> None:
    url = f"{standin.meta_api_url}/999/messages"
    answer = requests.post(url, json=meta_body(), headers={"Authorization": f"Bearer {standin.meta_token}"}, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error"]["error_subcode"] == 33


@pytest.mark.parametrize("code", sorted(META_ERRORS))
def test_meta_scripted_error_codes_come_with_their_http_status(standin: ProviderStandIn, code: int) -> None:
    standin.script("meta", [{"error": code}])
    answer = post_meta(standin, meta_body())
    assert answer.status_code == META_ERRORS[code][0]
    assert answer.json()["error"]["code"] == code


@pytest.mark.parametrize("code", sorted(TWILIO_ERRORS))
def test_twilio_scripted_error_codes_have_twilio_body(standin: ProviderStandIn, code: int) -> None:
    standin.script("twilio", [{"error": code}])
    answer = post_twilio(standin, sms_form(standin))
    assert answer.status_code == TWILIO_ERRORS[code][0]
    assert answer.json() == {
        "code": code,
        "message": TWILIO_ERRORS[code][1],
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": TWILIO_ERRORS[code][0],
    }


def test_script_is_played_in_order_then_default_success(standin: ProviderStandIn) -> None:
    standin.script("meta", [{"status": 500}, {"status": 500}, "ok"])
    statuses = [post_meta(standin, meta_body()).status_code for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    assert len(standin.requests) == 4
    assert len(standin.accepted) == 2


def test_default_answer_can_be_changed(standin: ProviderStandIn) -> None:
    standin.set_default("twilio", {"error": 21610})
    assert [post_twilio(standin, sms_form(standin)).status_code for _ in range(3)] == [400, 400, 400]
    assert standin.accepted == []


def test_retry_after_header_is_sent(standin: ProviderStandIn) -> None:
    standin.script("twilio", [{"status": 429, "retry_after": 7}])
    answer = post_twilio(standin, sms_form(standin))
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.json()["code"] == 20429


def test_drop_closes_the_connection_without_an_answer(standin: ProviderStandIn) -> None:
    standin.script("meta", [{"drop": True}])
    with pytest.raises(requests.ConnectionError):
        post_meta(standin, meta_body())
    assert standin.requests[0].status == 0
    assert standin.accepted == []


def test_hang_outlasts_the_client_timeout_and_is_not_accepted(standin: ProviderStandIn) -> None:
    standin.script("meta", [{"hang": 5}])
    with pytest.raises(requests.ReadTimeout):
        post_meta(standin, meta_body(), timeout=(1, 0.3))
    assert standin.accepted == []


def test_delay_then_success_is_accepted_even_if_the_client_gave_up(standin: ProviderStandIn) -> None:
    standin.script("meta", [{"delay": 0.6}])
    with pytest.raises(requests.ReadTimeout):
        post_meta(standin, meta_body(), timeout=(1, 0.2))
    assert len(standin.wait_for(1, timeout=5)) == 1


def test_stop_releases_a_hanging_answer_at_once() -> None:
    standin = ProviderStandIn().start()
    standin.script("meta", [{"hang": 60}])
    try:
        with pytest.raises(requests.ReadTimeout):
            post_meta(standin, meta_body(), timeout=(1, 0.2))
    finally:
        started = time.monotonic()
        standin.stop()
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("form_change", "code"),
    [
        ({"To": ""}, 21604),
        ({"Body": ""}, 21602),
        ({"To": "+52-55"}, 21211),
        ({"From": "+15550000000"}, 21606),
        ({"To": "whatsapp:+5215512345678"}, 63007),
    ],
    ids=["no-to", "no-body", "bad-to", "bad-from", "whatsapp-from-sms-number"],
)
def test_twilio_rejects_what_twilio_rejects(standin: ProviderStandIn, form_change: dict, code: int) -> None:
    answer = post_twilio(standin, {**sms_form(standin), **form_change})
    assert answer.json()["code"] == code
    assert answer.status_code == TWILIO_ERRORS[code][0]


def test_twilio_checks_basic_auth(standin: ProviderStandIn) -> None:
    answer = post_twilio(standin, sms_form(standin), auth=(standin.twilio_sid, "wrong"))
    assert answer.status_code == 401
    assert answer.json()["code"] == 20003


def test_twilio_create_then_fetch_follows_set_status(standin: ProviderStandIn) -> None:
    created = post_twilio(standin, sms_form(standin))
    assert created.status_code == 201
    resource = created.json()
    assert resource["sid"].startswith("SM") and len(resource["sid"]) == 34
    assert resource["status"] == "queued"
    assert resource["to"] == "+5215512345678"
    assert resource["account_sid"] == standin.twilio_sid
    url = f"{standin.url}{resource['uri']}"
    auth = (standin.twilio_sid, standin.twilio_token)
    assert requests.get(url, auth=auth, timeout=5).json()["status"] == "queued"
    standin.set_status(resource["sid"], "undelivered", error_code=21610)
    fetched = requests.get(url, auth=auth, timeout=5).json()
    assert (fetched["status"], fetched["error_code"]) == ("undelivered", 21610)
    missing = requests.get(url.replace(resource["sid"], "SM" + "0" * 32), auth=auth, timeout=5)
    assert (missing.status_code, missing.json()["code"]) == (404, 20404)


def test_set_status_refuses_unknown_status(standin: ProviderStandIn) -> None:
    sid = post_twilio(standin, sms_form(standin)).json()["sid"]
    with pytest.raises(ValueError):
        standin.set_status(sid, "teleported")


def test_wait_for_times_out_with_a_count(standin: ProviderStandIn) -> None:
    with pytest.raises(TimeoutError, match="0 of 1"):
        standin.wait_for(1, timeout=0.2)


def test_env_names_every_variable_a_kiosk_needs(standin: ProviderStandIn) -> None:
    env = standin.env()
    assert env["WHATSAPP_API_URL"] == standin.url + "/v23.0"
    assert env["TWILIO_API_URL"] == standin.url
    assert env["WHATSAPP_ACCESS_TOKEN"] == standin.meta_token
    assert env["TWILIO_AUTH_TOKEN"] == standin.twilio_token
    assert set(env) >= {
        "WHATSAPP_PHONE_NUMBER_ID",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_PHONE_NUMBER",
        "TWILIO_WHATSAPP_NUMBER",
    }


def test_standalone_server_is_driven_over_http(tmp_path: Path) -> None:
    """`python providers.py --port N` prints env lines and takes scripts over HTTP."""
    with socket_port() as port:
        pass
    process = subprocess.Popen(
        [sys.executable, str(STANDIN_FILE), "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PATH": os.environ.get("PATH", "")},
    )
    try:
        assert process.stdout is not None
        env = dict(process.stdout.readline().strip().split("=", 1) for _ in range(8))
        base = f"http://127.0.0.1:{port}"
        assert env["TWILIO_API_URL"] == base
        control = requests.post(
            f"{base}/_standin/script", json={"provider": "twilio", "responses": [{"error": 21211}]}, timeout=5
        )
        assert control.json() == {"ok": True}
        url = f"{base}/2010-04-01/Accounts/{env['TWILIO_ACCOUNT_SID']}/Messages.json"
        form = {"To": "+5215512345678", "From": env["TWILIO_PHONE_NUMBER"], "Body": "x"}
        auth = (env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"])
        assert requests.post(url, data=form, auth=auth, timeout=5).json()["code"] == 21211
        assert requests.post(url, data=form, auth=auth, timeout=5).status_code == 201
        recorded = requests.get(f"{base}/_standin/requests", timeout=5).json()
        assert [(r["provider"], r["status"], r["accepted"]) for r in recorded] == [
            ("twilio", 400, False),
            ("twilio", 201, True),
        ]
        assert recorded[1]["body"] == form
        sid = recorded[1]["message_id"]
        requests.post(f"{base}/_standin/status", json={"message_id": sid, "status": "delivered"}, timeout=5)
        assert (
            requests.get(
                f"{base}/2010-04-01/Accounts/{env['TWILIO_ACCOUNT_SID']}/Messages/{sid}.json", auth=auth, timeout=5
            ).json()["status"]
            == "delivered"
        )
        bad = requests.post(f"{base}/_standin/script", data=b"{", timeout=5)
        assert bad.status_code == 400
    finally:
        process.terminate()
        assert process.wait(10) == 0


class socket_port:
    """A port that was free a moment ago (the standalone server binds it itself)."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        return self._sock.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


def test_basic_auth_header_is_recorded_for_inspection(standin: ProviderStandIn) -> None:
    post_twilio(standin, sms_form(standin))
    (record,) = standin.accepted
    token = base64.b64encode(f"{standin.twilio_sid}:{standin.twilio_token}".encode()).decode()
    assert record.headers["Authorization"] == f"Basic {token}"
    assert json.loads(json.dumps(record.body)) == sms_form(standin)
