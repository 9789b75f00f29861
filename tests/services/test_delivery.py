"""Delivery of one alarm: claim, channel plan, retries, fallback, and exactly-once sending.

These run in-process against the real provider stand-in on loopback, on SQLite and on a real
PostgreSQL server (the same models, unchanged).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import event

from appliance.messaging.meta_whatsapp import MetaWhatsApp
from appliance.services import delivery, outbox
from appliance.services.alarms import get_alarm
from appliance.services.kiosk import Kiosk
from appliance.services.parameters import set_channel
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.services.views import AlarmView
from appliance.store import alarm_state
from appliance.store.db import SQLITE_BUSY_TIMEOUT_MS
from appliance.store.models import AlarmStatus
from tests.conftest import wait_until

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def live(fake_clock, kiosk: Kiosk, kiosk_env: dict[str, str]) -> Kiosk:
    """The kiosk wired to the stand-in, on fake time (`deliver` is called directly, no worker)."""
    return kiosk


def _alarm(kiosk: Kiosk, channel: int = 1) -> int:
    card = add_subject(kiosk, SubjectInput("Ana López", "55 1234 5678", "María"))
    with kiosk.store.session() as session:
        set_channel(session, channel)
    result = record_scan(kiosk, card.uuid, ScanSource.FILE)
    assert result.alarm_id is not None
    return result.alarm_id


def _load(kiosk: Kiosk, alarm_id: int) -> AlarmView:
    return get_alarm(kiosk, alarm_id)


@pytest.mark.parametrize(
    ("channel", "id_field", "path_part"),
    [
        (1, "whatsapp_message_id", "/messages"),
        (2, "message_sid", "/Messages.json"),
        (3, "message_sid", "/Messages.json"),
    ],
)
def test_each_channel_sends_once_and_records_the_provider_id(live, standin, channel, id_field, path_part):
    alarm_id = _alarm(live, channel)
    result = delivery.deliver(live, alarm_id)
    alarm = _load(live, alarm_id)
    assert result.status is AlarmStatus.SENT
    assert alarm.notification_status == "SENT" and alarm.notification_sent and alarm.channel == channel
    assert getattr(alarm, id_field) == standin.accepted[0].message_id
    assert len(standin.accepted) == 1 and path_part in standin.accepted[0].path
    assert [a.outcome for a in alarm.attempts] == ["sent"]


def test_meta_request_is_the_template_with_name_and_local_time(live, standin):
    delivery.deliver(live, _alarm(live, 1))
    body = standin.accepted[0].body
    assert body["to"] == "525512345678"
    assert body["template"]["name"] == "qr_template_on_m"
    params = [p["text"] for p in body["template"]["components"][0]["parameters"]]
    assert params[0] == "Ana López"
    assert params[1] == "25 nov 2026, 12:00 p.m. CST"  # 18:00 UTC in America/Mexico_City, in Mexican Spanish
    assert body["template"]["language"] == {"code": "es_MX"}


def test_twilio_whatsapp_adds_the_mexican_1_and_prefix(live, standin):
    delivery.deliver(live, _alarm(live, 2))
    form = standin.accepted[0].body
    assert form["To"] == "whatsapp:+5215512345678"
    assert "Ana López" in form["Body"] and "Test gate" in form["Body"]


def test_two_server_errors_then_success_is_sent_with_three_attempts(live, standin):
    standin.script("meta", [{"status": 500}, {"status": 500}, "ok"])
    alarm_id = _alarm(live, 1)
    first = delivery.deliver(live, alarm_id)
    assert first.status is AlarmStatus.ERROR and first.retry_in is not None and first.retry_in <= 10
    assert delivery.deliver(live, alarm_id).status is None  # not due yet: nobody may claim it
    live.clock.advance(first.retry_in)
    second = delivery.deliver(live, alarm_id)
    assert second.status is AlarmStatus.ERROR
    live.clock.advance(second.retry_in)
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT
    alarm = _load(live, alarm_id)
    assert alarm.notification_attempts == 3 and len(standin.accepted) == 1
    assert first.retry_in + second.retry_in < 120  # all three tries within two minutes
    assert [a.outcome for a in alarm.attempts] == ["transient", "transient", "sent"]


def test_a_permanent_error_moves_to_the_next_channel_at_once(live, standin):
    standin.script("meta", [{"error": 190}])
    alarm_id = _alarm(live, 1)
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT
    alarm = _load(live, alarm_id)
    assert alarm.channel == 2 and alarm.message_sid
    assert [(a.channel, a.outcome, a.error_code) for a in alarm.attempts] == [
        (1, "permanent", "190"),
        (2, "sent", None),
    ]


def test_every_channel_failing_ends_failed_with_the_last_error(live, standin):
    standin.script("meta", [{"error": 132001}])
    standin.script("twilio", [{"error": 21211}, {"error": 21610}])
    alarm_id = _alarm(live, 1)
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.FAILED
    alarm = _load(live, alarm_id)
    assert alarm.notification_status == "FAILED" and not alarm.notification_sent
    assert "21610" in alarm.notification_error
    assert standin.accepted == []


def test_three_transient_errors_on_a_channel_fall_back_to_the_next(live, standin):
    standin.script("meta", [{"status": 503}, {"error": 130429, "retry_after": 2}, {"status": 500}])
    alarm_id = _alarm(live, 1)
    for _ in range(2):
        result = delivery.deliver(live, alarm_id)
        assert result.status is AlarmStatus.ERROR
        live.clock.advance(result.retry_in)
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT
    alarm = _load(live, alarm_id)
    assert alarm.channel == 2 and alarm.notification_attempts == 4


def test_a_channel_without_credentials_is_skipped_and_says_so(live, standin):
    live = live.with_settings(live.settings.model_copy(update={"whatsapp_access_token": None}))
    alarm_id = _alarm(live, 1)
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT
    alarm = _load(live, alarm_id)
    assert alarm.channel == 2
    assert "no credentials" in alarm.notification_error
    assert alarm.attempts[0].outcome == "skipped" and alarm.notification_attempts == 1


def test_delivering_the_same_alarm_twice_sends_once(live, standin):
    alarm_id = _alarm(live, 1)
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT
    assert delivery.deliver(live, alarm_id).status is None
    assert len(standin.requests) == 1


def test_a_first_send_is_two_transactions_and_reads_nothing_beside_the_claim(live, standin):
    # The claim's UPDATE returns what the delivery needs, and its transaction writes the in-flight try;
    # SENT and the provider's id share the other.
    alarm_id = _alarm(live, 1)
    statements: list[str] = []
    commits: list[object] = []

    def on_statement(_conn, _cursor, statement: str, *_rest) -> None:
        statements.append(statement.split()[0].upper())

    def on_commit(_conn) -> None:
        commits.append(_conn)

    engines = {live.store.engine, live.store._read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", on_statement)
        event.listen(engine, "commit", on_commit)
    try:
        assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", on_statement)
            event.remove(engine, "commit", on_commit)
    assert len(commits) == 2  # the claim with the in-flight attempt; SENT with the provider's id
    writes = [word for word in statements if word not in ("BEGIN", "COMMIT")]
    assert writes == ["UPDATE", "UPDATE", "UPDATE", "INSERT", "UPDATE", "UPDATE"]  # no SELECT at all
    assert len(standin.requests) == 1


def test_concurrent_deliveries_of_one_alarm_send_once(live, standin):
    standin.script("meta", [{"delay": 0.3}])
    alarm_id = _alarm(live, 1)
    results = []
    threads = [threading.Thread(target=lambda: results.append(delivery.deliver(live, alarm_id))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(str(r.status) for r in results) == ["None", "None", "None", "SENT"]
    assert len(standin.requests) == 1


def test_a_claim_left_by_a_dead_worker_is_taken_back_after_the_lease(live, standin):
    alarm_id = _alarm(live, 1)
    with live.store.session() as session:
        assert alarm_state.claim(session, alarm_id, live.clock.now(), "otherhost:1", delivery.claim_lease(live))
    assert delivery.deliver(live, alarm_id).status is None  # still held
    live.clock.advance(delivery.claim_lease(live).total_seconds() + 1)
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT
    assert len(standin.accepted) == 1


def _offline(kiosk: Kiosk) -> Kiosk:
    """The kiosk with every channel pointed at a closed port, as when its network is down."""
    return kiosk.with_settings(
        kiosk.settings.model_copy(
            update={"whatsapp_api_url": "http://127.0.0.1:9/v23.0", "twilio_api_url": "http://127.0.0.1:9"}
        )
    )


def _run_until_waiting(kiosk: Kiosk, alarm_id: int) -> delivery.DeliveryResult:
    """Deliver, following short retries, until the alarm waits a whole round (or ends)."""
    for _ in range(20):
        result = delivery.deliver(kiosk, alarm_id)
        if result.retry_in is None or result.retry_in >= delivery.OFFLINE_RETRY_DELAYS[0]:
            return result
        kiosk.clock.advance(result.retry_in)
    raise AssertionError("delivery never settled")


def test_a_network_outage_keeps_the_alarm_waiting_until_the_network_returns(live, standin):
    offline = _offline(live)
    alarm_id = _alarm(live, 1)
    result = _run_until_waiting(offline, alarm_id)
    alarm = _load(live, alarm_id)
    assert result.status is AlarmStatus.ERROR and alarm.notification_status == "ERROR"
    assert "network" in alarm.notification_error
    assert {a.error_code for a in alarm.attempts} == {"connection"}
    live.clock.advance(result.retry_in)
    second = _run_until_waiting(offline, alarm_id)
    assert second.status is AlarmStatus.ERROR and second.retry_in > result.retry_in  # backing off
    live.clock.advance(second.retry_in)
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT  # the network is back
    assert len(standin.accepted) == 1 and _load(live, alarm_id).channel == 1


def test_a_day_without_network_ends_failed(live, standin):
    offline = _offline(live)
    alarm_id = _alarm(live, 1)
    result = _run_until_waiting(offline, alarm_id)
    live.clock.advance(delivery.OFFLINE_GIVE_UP.total_seconds())
    assert _run_until_waiting(offline, alarm_id).status is AlarmStatus.FAILED
    assert result.status is AlarmStatus.ERROR


def test_tries_that_reached_a_provider_before_the_network_went_do_not_fail_the_alarm(live, standin):
    """Meta answered 500 three times, then the network went (a power cut, the Wi-Fi slow to come
    back) before the fallbacks' tries: the kiosk waits for the network, it does not give up."""
    standin.script("meta", [{"status": 500}, {"status": 500}, {"status": 500}])
    network_going = live.with_settings(live.settings.model_copy(update={"twilio_api_url": "http://127.0.0.1:9"}))
    alarm_id = _alarm(live, 1)
    waiting = _run_until_waiting(network_going, alarm_id)
    codes = [attempt.error_code for attempt in _load(live, alarm_id).attempts]
    assert codes[:3] == ["131000"] * 3 and set(codes[3:]) == {"connection"}
    assert waiting.status is AlarmStatus.ERROR and waiting.retry_in == delivery.OFFLINE_RETRY_DELAYS[0]
    live.clock.advance(waiting.retry_in)
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT  # the network is back
    assert len(standin.accepted) == 1


def test_a_provider_that_answers_with_a_refusal_still_fails_the_alarm(live, standin):
    standin.script("meta", [{"error": 190}])
    standin.script("twilio", [{"error": 20003}, {"error": 20003}])
    alarm_id = _alarm(live, 1)
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.FAILED


# --- exactly once when the database refuses the writes after a send ---------------------------


class RefusedWrites:
    """The database refuses the next `times` matching writes, as SQLite does once another
    process held its write lock for the whole busy timeout ("database is locked")."""

    def __init__(self, kiosk: Kiosk, statement_start: str):
        self.engine = kiosk.store.engine
        self.statement_start = statement_start
        self.left = 0
        self.refused = 0
        event.listen(self.engine, "before_cursor_execute", self._before)

    def refuse(self, times: int) -> None:
        self.left = times

    def _before(self, conn, cursor, statement: str, parameters, context, executemany) -> None:
        if self.left and statement.lstrip().startswith(self.statement_start):
            self.left -= 1
            self.refused += 1
            raise self.engine.dialect.loaded_dbapi.OperationalError("database is locked")

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)


@pytest.fixture
def refused(live: Kiosk, request: pytest.FixtureRequest) -> Iterator[RefusedWrites]:
    """Refuses writes whose SQL starts with the parameter (refusals armed by the test)."""
    writes = RefusedWrites(live, request.param)
    yield writes
    writes.close()


@pytest.mark.parametrize(
    "refused",
    ["UPDATE delivery_attempts", "UPDATE alarms"],  # the provider's id, then the SENT transition
    indirect=True,
    ids=["id-write", "sent-write"],
)
def test_a_send_whose_record_hits_a_locked_database_is_recorded_not_sent_again(live, standin, refused):
    standin.on_accept = lambda _: refused.refuse(3)  # the lock arrives while the provider answers
    alarm_id = _alarm(live, 1)
    result = delivery.deliver(live, alarm_id)
    alarm = _load(live, alarm_id)
    assert refused.refused == 3
    assert result.status is AlarmStatus.SENT and alarm.notification_status == "SENT"
    assert alarm.whatsapp_message_id == standin.accepted[0].message_id
    assert [(a.outcome, a.provider_message_id) for a in alarm.attempts] == [("sent", alarm.whatsapp_message_id)]
    assert alarm.notification_attempts == 1
    live.clock.advance(delivery.claim_lease(live).total_seconds() + 1)
    assert delivery.deliver(live, alarm_id).status is None
    assert len(standin.requests) == 1


@pytest.mark.parametrize("refused", ["UPDATE alarms"], indirect=True)
def test_a_sent_alarm_whose_sent_commit_fails_past_every_retry_is_finished_by_the_next_claim(
    live, standin, refused, monkeypatch
):
    monkeypatch.setattr(delivery, "COMMIT_RETRY_DELAYS", (0.01,) * len(delivery.COMMIT_RETRY_DELAYS))
    standin.on_accept = lambda _: refused.refuse(len(delivery.COMMIT_RETRY_DELAYS) + 1)
    alarm_id = _alarm(live, 1)
    gave_up = delivery.deliver(live, alarm_id)
    assert gave_up.status is AlarmStatus.PROCESSING and gave_up.retry_in is not None
    assert _load(live, alarm_id).attempts[0].provider_message_id == standin.accepted[0].message_id
    assert delivery.deliver(live, alarm_id).status is None  # its lease still holds
    live.clock.advance(gave_up.retry_in)
    assert outbox.due_alarm_ids(live) == [alarm_id]  # the sweeper would queue it
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT
    alarm = _load(live, alarm_id)
    assert alarm.notification_status == "SENT" and alarm.notification_sent
    assert alarm.whatsapp_message_id == standin.accepted[0].message_id
    assert [a.outcome for a in alarm.attempts] == ["sent"] and alarm.notification_attempts == 1
    assert len(standin.requests) == 1


def test_the_lease_outlasts_the_slowest_send_and_every_retry_of_its_writes(live):
    slow = replace(live, channels={**live.channels, 1: MetaWhatsApp(live.settings, timeout=(5.0, 60.0))})
    tries = len(delivery.COMMIT_RETRY_DELAYS) + 1  # each may wait SQLite's whole busy timeout
    writes = tries * SQLITE_BUSY_TIMEOUT_MS / 1000 + sum(delivery.COMMIT_RETRY_DELAYS)
    for kiosk, slowest_send in ((live, max(sum(channel.timeout) for channel in live.channels.values())), (slow, 65)):
        assert delivery.claim_lease(kiosk).total_seconds() >= slowest_send + writes + delivery.LEASE_MARGIN


def test_a_second_worker_cannot_claim_an_alarm_while_its_send_is_in_flight(live, standin):
    standin.script("meta", [{"delay": 1.0}])  # a slow provider
    alarm_id = _alarm(live, 1)
    first: list[delivery.DeliveryResult] = []
    sender = threading.Thread(target=lambda: first.append(delivery.deliver(live, alarm_id, owner="one:1")))
    sender.start()
    wait_until(lambda: standin.requests, what="the first send to reach the provider")
    live.clock.advance(delivery.longest_send(live) + delivery.commit_retry_budget())  # as late as it may finish
    assert delivery.deliver(live, alarm_id, owner="two:2").status is None
    sender.join()
    assert first[0].status is AlarmStatus.SENT
    assert len(standin.requests) == 1


def _die_mid_send(kiosk: Kiosk, alarm_id: int, channel: int = 1) -> None:
    """What a worker killed while its provider call was open leaves behind: an `in_flight` try."""
    lease, now = delivery.claim_lease(kiosk), kiosk.clock.now()
    with kiosk.store.session() as session:
        assert alarm_state.claim(session, alarm_id, now, "dead:1", lease)
        alarm_state.close_interrupted(session, alarm_id, "dead:1", now)
        alarm_state.fix_plan(session, alarm_id, "dead:1", [1, 2, 3])
        assert alarm_state.begin_send(session, alarm_id, "dead:1", channel, now, lease) is not None
    kiosk.clock.advance(lease.total_seconds() + 1)


def test_a_send_cut_off_before_the_provider_answered_is_sent_again(live, standin):
    alarm_id = _alarm(live, 1)
    _die_mid_send(live, alarm_id)
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT
    alarm = _load(live, alarm_id)
    assert [a.outcome for a in alarm.attempts] == ["interrupted", "sent"] and alarm.notification_attempts == 2
    assert alarm.channel == 1 and len(standin.accepted) == 1


def test_a_worker_dying_in_every_send_moves_the_alarm_to_the_next_channel(live, standin):
    alarm_id = _alarm(live, 1)
    for _ in range(delivery.ATTEMPTS_PER_CHANNEL):
        _die_mid_send(live, alarm_id)
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT
    alarm = _load(live, alarm_id)
    assert alarm.channel == 2 and [a.outcome for a in alarm.attempts] == ["interrupted"] * 3 + ["sent"]
