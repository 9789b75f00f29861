"""The outbound webhook against a loopback receiver that checks each signature with the documented snippet."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from appliance.services.publish.events import backlog
from appliance.services.publish.signing import signature_header
from appliance.services.publish.webhook import WebhookSink
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store import alarm_state
from tests.conftest import wait_until
from tests.services.publish.conftest import SECRET, verify


@pytest.fixture
def settings(request, data_dir, database_url, receiver):
    from appliance.config import load_settings

    return load_settings(
        KERYU_DATA_DIR=str(data_dir),
        KERYU_DATABASE_URL=database_url,
        KERYU_LOCATION="Test gate",
        KERYU_CAMERA="none",
        KERYU_WEBHOOK_URL=receiver.url,
        KERYU_WEBHOOK_SECRET=SECRET,
        **getattr(request, "param", {}),
    )


@pytest.fixture
def sink(kiosk) -> WebhookSink:
    found = WebhookSink(kiosk)
    found.start()
    return found


def _alarm(kiosk) -> int:
    card = add_subject(kiosk, SubjectInput("Luis Pérez", "+52 55 8765 4321", "Rosa"))
    alarm_id = record_scan(kiosk, card.uuid, ScanSource.FILE).alarm_id
    assert alarm_id is not None
    return alarm_id


def _claim(kiosk, alarm_id: int) -> None:
    with kiosk.store.session() as session:
        assert alarm_state.claim(session, alarm_id, kiosk.clock.now(), "host:1", timedelta(seconds=90))


def _drain(sink: WebhookSink, until, timeout: float = 20) -> None:
    wait_until(lambda: sink.step() is not None and until(), timeout, interval=0.1, what="the webhook to catch up")


def test_each_alarm_event_arrives_signed_in_order_without_phone_numbers(kiosk, sink, receiver):
    alarm_id = _alarm(kiosk)
    _claim(kiosk, alarm_id)
    _drain(sink, lambda: len(receiver.taken) == 2)
    assert [body["event"]["status"] for body in receiver.taken] == ["PENDING", "PROCESSING"]
    assert all(body["id"] == alarm_id and body["subject_name"] == "Luis Pérez" for body in receiver.taken)
    assert "+52" not in json.dumps(receiver.taken)
    assert all(valid for _status, valid in receiver.seen)


def test_server_errors_and_timeouts_are_tried_again_and_the_order_holds(kiosk, sink, receiver):
    receiver.answers = [503, 429]
    first = _alarm(kiosk)
    second = _alarm(kiosk)
    _drain(sink, lambda: len(receiver.taken) == 2)
    assert [status for status, _valid in receiver.seen] == [503, 429, 204, 204]
    assert [body["id"] for body in receiver.taken] == [first, second]


def test_a_refused_event_is_skipped_after_three_tries_and_the_rest_go_on(kiosk, sink, receiver, caplog):
    receiver.answers = [400, 400, 400]
    refused = _alarm(kiosk)
    accepted = _alarm(kiosk)
    _drain(sink, lambda: len(receiver.taken) == 1)
    assert [status for status, _valid in receiver.seen] == [400, 400, 400, 204]
    assert receiver.taken[0]["id"] == accepted != refused
    assert "refused event" in caplog.text
    assert "token=abc" not in caplog.text  # the URL's secret part never reaches a log


def test_a_receiver_that_is_down_keeps_the_events_for_later(kiosk, receiver):
    receiver.server.shutdown()
    receiver.server.server_close()
    sink = WebhookSink(kiosk)
    sink.start()
    _alarm(kiosk)
    assert sink.step() is False
    waiting = backlog(kiosk, "webhook")
    assert waiting.count == 2  # the alarm's event and its scan's, kept
    assert waiting.last_error == f"http://127.0.0.1:{receiver.port}: ConnectionError"


def test_the_documented_snippet_rejects_forged_and_old_signatures():
    body = b'{"id": 7}'
    now = int(time.time())
    assert verify(SECRET, body, signature_header(SECRET, body, now))
    assert not verify(SECRET, b'{"id": 8}', signature_header(SECRET, body, now))  # another body
    assert not verify(SECRET, body, signature_header("a guessed secret", body, now))  # forged
    assert not verify(SECRET, body, signature_header(SECRET, body, now - 600))  # replayed ten minutes later
    stale = signature_header(SECRET, body, now - 600)
    assert not verify(SECRET, body, stale.replace(f"t={now - 600}", f"t={now}"))  # a fresh time on an old signature
    assert not verify(SECRET, body, "")
    assert not verify(SECRET, body, "v1=abc")
