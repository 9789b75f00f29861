"""A send's trace in the state machine: nothing goes out without the claim, and an accepted send is found again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from appliance.store import alarm_state
from appliance.store.models import Alarm, AlarmStatus, DeliveryAttempt

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
LEASE = timedelta(seconds=120)


def _alarm(store) -> int:
    with store.session() as session:
        alarm = Alarm(subject_name="Ana", recipient_phone="+525512345678", created_at=NOW)
        session.add(alarm)
        session.flush()
        return alarm.id


def test_a_worker_whose_lease_another_took_over_may_not_start_a_send(store):
    alarm_id = _alarm(store)
    with store.session() as session:
        assert alarm_state.claim(session, alarm_id, NOW, "one:1", LEASE)
    later = NOW + LEASE + timedelta(seconds=1)
    with store.session() as session:
        assert alarm_state.claim(session, alarm_id, later, "two:2", LEASE)
        assert alarm_state.begin_send(session, alarm_id, "one:1", 1, later, LEASE) is None
        assert session.query(DeliveryAttempt).count() == 0


def test_starting_a_send_extends_the_lease_and_leaves_an_in_flight_try(store):
    alarm_id = _alarm(store)
    started = NOW + timedelta(seconds=100)
    with store.session() as session:
        assert alarm_state.claim(session, alarm_id, NOW, "one:1", LEASE)
        attempt_id = alarm_state.begin_send(session, alarm_id, "one:1", 1, started, LEASE)
    with store.session() as session:
        alarm = session.get(Alarm, alarm_id)
        assert alarm.claimed_until == started + LEASE and alarm.notification_attempts == 1
        assert session.get(DeliveryAttempt, attempt_id).outcome == "in_flight"
        assert not alarm_state.claim(session, alarm_id, NOW + LEASE + timedelta(seconds=1), "two:2", LEASE)


def test_an_accepted_send_is_found_by_the_next_claim_and_finished_with_its_id(store):
    alarm_id = _alarm(store)
    with store.session() as session:
        alarm_state.claim(session, alarm_id, NOW, "one:1", LEASE)
        attempt_id = alarm_state.begin_send(session, alarm_id, "one:1", 1, NOW, LEASE)
    with store.session() as session:
        alarm_state.record_accepted(session, attempt_id, "wamid.X", 120.0)
    later = NOW + LEASE + timedelta(seconds=1)
    with store.session() as session:
        assert alarm_state.claim(session, alarm_id, later, "two:2", LEASE)
        accepted = alarm_state.accepted_attempt(session, alarm_id)
        assert (accepted.channel, accepted.provider_message_id) == (1, "wamid.X")
        assert alarm_state.close_interrupted(session, alarm_id, "two:2", later) == 0
        assert alarm_state.mark_sent(session, alarm_id, "two:2", 1, "wamid.X", "whatsapp_message_id", later)
    with store.session() as session:
        alarm = session.get(Alarm, alarm_id)
        assert (alarm.notification_status, alarm.whatsapp_message_id) == (AlarmStatus.SENT, "wamid.X")


def test_a_claim_reads_the_same_alarm_where_the_database_has_no_update_returning(store, monkeypatch):
    alarm_id = _alarm(store)
    with store.session() as session:
        returned = alarm_state.claim(session, alarm_id, NOW, "one:1", LEASE)
    assert returned is not None and returned.subject_name == "Ana" and returned.channel_plan is None
    monkeypatch.setattr(store.engine.dialect, "update_returning", False)  # SQLite before 3.35
    later = NOW + LEASE + timedelta(seconds=1)
    with store.session() as session:
        assert alarm_state.claim(session, alarm_id, later, "two:2", LEASE) == returned
        assert alarm_state.claim(session, alarm_id, later, "three:3", LEASE) is None
