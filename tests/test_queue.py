"""The delivery message and the workers' presence, written to Redis without Celery."""

from __future__ import annotations

import base64
import json
import logging

import pytest
import redis

from appliance.config import load_settings
from appliance.queue import (
    ALARMS_QUEUE,
    SEND_TASK,
    WORKER_PRESENCE_PREFIX,
    WORKER_PRESENCE_SECONDS,
    DeliveryQueue,
    announce_worker,
    enqueue_delivery,
    present_workers,
    withdraw_worker,
)
from tests.conftest import DEAD_REDIS

# Fresh for every message (task id, delivery tag), or naming the sender (pid@host, reply queue).
PER_MESSAGE = {"id", "root_id", "correlation_id", "delivery_tag", "origin", "reply_to"}


@pytest.fixture
def queue(redis_server: str):
    queue = DeliveryQueue(redis_server)
    yield queue
    queue.close()


def _stored(redis_server: str) -> list[dict]:
    return [json.loads(raw) for raw in reversed(redis.Redis.from_url(redis_server).lrange(ALARMS_QUEUE, 0, -1))]


def _without_per_message_values(message: dict) -> dict:
    def strip(mapping: dict) -> dict:
        return {key: ("<fresh>" if key in PER_MESSAGE else value) for key, value in mapping.items()}

    return {**message, "headers": strip(message["headers"]), "properties": strip(message["properties"])}


def test_the_message_is_the_one_celery_itself_writes_for_the_send_task(queue, redis_server, tmp_path):
    from appliance.worker.app import make_celery

    celery = make_celery(load_settings(REDIS_URL=redis_server, KERYU_DATA_DIR=str(tmp_path)))
    celery.send_task(SEND_TASK, args=(42,), queue=ALARMS_QUEUE, retry=False, ignore_result=True)
    enqueue_delivery(queue, 42)

    by_celery, by_keryu = _stored(redis_server)
    assert _without_per_message_values(by_keryu) == _without_per_message_values(by_celery)
    for section in ("headers", "properties"):  # same keys, the fresh ones filled in
        assert all(by_keryu[section][key] for key in PER_MESSAGE & by_keryu[section].keys())
    assert json.loads(base64.b64decode(by_keryu["body"]))[0] == [42]


def test_each_message_has_its_own_task_id(queue, redis_server):
    enqueue_delivery(queue, 7)
    enqueue_delivery(queue, 7)
    first, second = _stored(redis_server)
    assert first["headers"]["id"] != second["headers"]["id"]
    assert first["properties"]["delivery_tag"] != second["properties"]["delivery_tag"]


def test_a_dead_redis_refuses_the_alarm_and_says_the_sweeper_will_retry(caplog):
    queue = DeliveryQueue(DEAD_REDIS)
    with caplog.at_level(logging.WARNING, logger="appliance.queue"):
        assert enqueue_delivery(queue, 7) is False
    assert "Alarm 7 not queued" in caplog.text and "the outbox sweeper will retry" in caplog.text


def test_an_announced_worker_is_present_until_it_withdraws(queue):
    assert present_workers(queue) == []
    announce_worker(queue, "keryu@gate-a")
    announce_worker(queue, "keryu@gate-b")  # a fleet: every worker on this Redis
    assert present_workers(queue) == ["keryu@gate-a", "keryu@gate-b"]

    withdraw_worker(queue, "keryu@gate-a")
    assert present_workers(queue) == ["keryu@gate-b"]


def test_a_presence_runs_out_unless_renewed(queue, redis_server):
    announce_worker(queue, "keryu@gate-a")
    ttl = redis.Redis.from_url(redis_server).ttl(WORKER_PRESENCE_PREFIX + "keryu@gate-a")
    assert 0 < ttl <= WORKER_PRESENCE_SECONDS


def test_presence_needs_redis(queue, redis_control):
    redis_control.stop()
    with pytest.raises(redis.RedisError):
        present_workers(queue)
