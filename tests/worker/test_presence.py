"""Health sees a worker by the presence it renews from its consumer loop, not by a Celery ping."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from appliance.queue import WORKER_PRESENCE_SECONDS, DeliveryQueue, present_workers
from appliance.services.health import check_worker
from appliance.worker.presence import PRESENCE_EVERY, Presence
from tests.conftest import wait_until


def test_presence_is_announced_at_once_and_renewed_on_the_consumer_loop(redis_server):
    queue = DeliveryQueue(redis_server)
    renewals = []
    consumer = SimpleNamespace(hub=SimpleNamespace(call_repeatedly=lambda every, call: renewals.append((every, call))))
    presence = Presence(queue, "keryu@gate")

    presence.start(consumer)
    assert present_workers(queue) == ["keryu@gate"]
    assert renewals == [(PRESENCE_EVERY, presence.announce)]
    assert PRESENCE_EVERY * 2 < WORKER_PRESENCE_SECONDS  # one late renewal does not make it "down"

    presence.withdraw()
    assert present_workers(queue) == []


@pytest.mark.integration
def test_health_sees_a_running_worker_and_its_stop_at_once(kiosk, worker):
    found = check_worker(kiosk)
    assert found["status"] == "ok" and found["workers"][0].startswith("keryu@")

    worker.stop()  # a clean stop withdraws the presence
    assert check_worker(kiosk) == {"status": "down", "error": "no worker has reported in the last 15 s"}


@pytest.mark.integration
def test_health_sees_a_killed_worker_gone_once_its_presence_runs_out(kiosk, worker):
    worker.kill()
    assert check_worker(kiosk)["status"] == "ok"  # nobody withdrew it: it still counts, for a while
    wait_until(lambda: check_worker(kiosk)["status"] == "down", timeout=WORKER_PRESENCE_SECONDS + 5, what="expiry")


def test_health_says_why_without_redis(kiosk):
    found = check_worker(kiosk)  # the kiosk fixture's Redis is a closed port
    assert found["status"] == "down" and "Connection refused" in found["error"]


@pytest.mark.integration
def test_after_redis_restarts_empty_the_worker_is_present_again(kiosk, worker, redis_control):
    redis_control.stop()
    redis_control.start()  # empty: the presence is gone with everything else
    assert check_worker(kiosk)["status"] == "down"
    # the consumer reconnects; the renewal on its loop survives the reconnection
    wait_until(lambda: check_worker(kiosk)["status"] == "ok", timeout=30, what="the worker's presence again")
