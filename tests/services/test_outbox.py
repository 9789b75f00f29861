"""The outbox sweeper finds what must be on the queue: never-queued, stale, due retries, dead claims."""

from __future__ import annotations

from datetime import timedelta

from appliance.services.delivery import claim_lease
from appliance.services.outbox import (
    DUE_GRACE,
    STALE_ENQUEUE,
    due_alarm_ids,
    mark_not_enqueued,
    release_dead_claims,
    sweep,
)
from appliance.services.scans import ScanSource, dispatch, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store import alarm_state
from appliance.store.alarm_state import AttemptRecord
from appliance.store.models import Alarm


def _alarm(kiosk) -> int:
    card = add_subject(kiosk, SubjectInput("Ana", "+525512345678"))
    return record_scan(kiosk, card.uuid, ScanSource.FILE).alarm_id


def test_an_alarm_the_broker_refused_is_due_at_the_next_sweep(fake_clock, kiosk):
    alarm_id = _alarm(kiosk)
    assert due_alarm_ids(kiosk) == []  # just queued (optimistically): leave it to the worker
    result = record_scan(kiosk, _card_of(kiosk, alarm_id), ScanSource.FILE)
    assert dispatch(kiosk, result) is False  # Redis is down in this test
    assert due_alarm_ids(kiosk) == [result.alarm_id]


def _card_of(kiosk, alarm_id: int) -> str:
    with kiosk.store.read() as session:
        return session.get(Alarm, alarm_id).card_uuid


def test_a_pending_alarm_queued_long_ago_is_queued_again(fake_clock, kiosk):
    alarm_id = _alarm(kiosk)
    kiosk.clock.advance(STALE_ENQUEUE.total_seconds() + 1)
    assert due_alarm_ids(kiosk) == [alarm_id]


def test_a_retry_is_due_after_its_time_and_a_dead_claim_after_its_lease(fake_clock, kiosk):
    retry_id, held_id = _alarm(kiosk), _alarm(kiosk)
    now = kiosk.clock.now()
    failed = AttemptRecord(channel=1, started_at=now, outcome="transient", error_message="HTTP 503")
    with kiosk.store.session() as session:
        assert alarm_state.claim(session, retry_id, now, "elsewhere:1", claim_lease(kiosk))
        assert alarm_state.mark_retry(session, retry_id, "elsewhere:1", failed, now + timedelta(seconds=5), now)
        assert alarm_state.claim(session, held_id, now, "elsewhere:1", claim_lease(kiosk))
    assert due_alarm_ids(kiosk) == []
    kiosk.clock.advance(5 + DUE_GRACE.total_seconds() - 1)
    assert due_alarm_ids(kiosk) == []  # the worker's own wake-up message goes first
    kiosk.clock.advance(1)
    assert due_alarm_ids(kiosk) == [retry_id]
    kiosk.clock.advance(claim_lease(kiosk).total_seconds())
    assert due_alarm_ids(kiosk) == [retry_id, held_id]


def test_a_restarted_worker_takes_back_claims_of_its_dead_predecessor(kiosk):
    alarm_id = _alarm(kiosk)
    host = alarm_state.worker_identity().split(":")[0]
    with kiosk.store.session() as session:
        assert alarm_state.claim(session, alarm_id, kiosk.clock.now(), f"{host}:999999999", claim_lease(kiosk))
    assert due_alarm_ids(kiosk) == []
    assert release_dead_claims(kiosk) == 1
    assert due_alarm_ids(kiosk) == [alarm_id]


def test_a_live_workers_claim_is_left_alone(kiosk):
    alarm_id = _alarm(kiosk)
    with kiosk.store.session() as session:
        assert alarm_state.claim(
            session, alarm_id, kiosk.clock.now(), alarm_state.worker_identity(), claim_lease(kiosk)
        )
    assert release_dead_claims(kiosk) == 0


def test_sweep_without_redis_queues_nothing_and_loses_nothing(kiosk):
    alarm_id = _alarm(kiosk)
    mark_not_enqueued(kiosk, alarm_id)
    assert sweep(kiosk) == 0
    assert due_alarm_ids(kiosk) == [alarm_id]


def test_sweep_with_redis_queues_each_due_alarm_once(kiosk, kiosk_env, redis_server):
    import redis

    first, second = _alarm(kiosk), _alarm(kiosk)
    for alarm_id in (first, second):
        mark_not_enqueued(kiosk, alarm_id)
    assert sweep(kiosk) == 2
    assert sweep(kiosk) == 0  # just queued: not again until stale
    assert redis.Redis.from_url(redis_server).llen("alarms") == 2
