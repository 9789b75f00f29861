"""End to end through a real Redis and a real `keryu worker` subprocess to the loopback stand-in."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from appliance.queue import enqueue_delivery
from appliance.services.kiosk import Kiosk
from appliance.services.notify import send_test
from appliance.services.parameters import set_channel
from appliance.services.scans import ScanSource, handle_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.db import SQLITE_BUSY_TIMEOUT_MS
from appliance.store.models import Alarm
from tests.conftest import ServiceProcess, wait_until
from tests.store.write_lock import hold_write_lock

pytestmark = pytest.mark.integration


def _card(kiosk: Kiosk, channel: int = 1) -> str:
    card = add_subject(kiosk, SubjectInput("Luis Pérez", "+52 55 8765 4321", "Rosa"))
    with kiosk.store.session() as session:
        set_channel(session, channel)
    return card.uuid


def _status(kiosk: Kiosk, alarm_id: int) -> Alarm:
    with kiosk.store.read() as session:
        alarm = session.get(Alarm, alarm_id)
        assert alarm is not None
        return alarm


def _wait_status(kiosk: Kiosk, alarm_id: int, status: str, timeout: float = 20) -> Alarm:
    wait_until(lambda: _status(kiosk, alarm_id).notification_status == status, timeout, what=f"alarm {status}")
    return _status(kiosk, alarm_id)


@pytest.mark.parametrize("channel", [1, 2, 3])
def test_a_scan_reaches_the_provider_on_each_channel(kiosk, worker, standin, channel):
    result = handle_scan(kiosk, f"http://keryu.local/scan/{_card(kiosk, channel)}", ScanSource.FILE)
    alarm = _wait_status(kiosk, result.alarm_id, "SENT")
    assert alarm.channel == channel
    assert len(standin.wait_for(1)) == 1


def test_two_server_errors_then_success_gives_sent_after_three_attempts(kiosk, worker, standin):
    standin.script("meta", [{"status": 500}, {"status": 500}, "ok"])
    result = handle_scan(kiosk, _card(kiosk), ScanSource.FILE)
    alarm = _wait_status(kiosk, result.alarm_id, "SENT", timeout=60)
    assert alarm.notification_attempts == 3
    assert len(standin.accepted) == 1


def test_the_same_task_delivered_twice_sends_once(kiosk, chatty_worker, standin):
    result = handle_scan(kiosk, _card(kiosk), ScanSource.FILE)
    for _ in range(3):
        assert enqueue_delivery(kiosk.queue, result.alarm_id)
    _wait_status(kiosk, result.alarm_id, "SENT")
    wait_until(lambda: "alarms.tasks.send_whatsapp_notification" in chatty_worker.log(), what="tasks to run")
    assert len(standin.requests) == 1


def test_a_worker_killed_mid_send_loses_nothing(kiosk, worker, standin):
    standin.script("meta", [{"hang": 30}])
    result = handle_scan(kiosk, _card(kiosk), ScanSource.FILE)
    wait_until(lambda: len(standin.requests) == 1, what="the send to start")
    assert _status(kiosk, result.alarm_id).notification_status == "PROCESSING"
    worker.kill()
    worker.start()  # the new worker takes back the dead worker's claim at once and sends again
    alarm = _wait_status(kiosk, result.alarm_id, "SENT")
    assert len(standin.accepted) == 1 and alarm.notification_sent


def test_a_database_locked_longer_than_its_busy_timeout_after_the_send_does_not_send_twice(kiosk, worker, standin):
    path = make_url(kiosk.store.url).database
    held = SQLITE_BUSY_TIMEOUT_MS / 1000 + 2  # the worker's first write after the send gives up, then retries
    holders = []
    standin.on_accept = lambda _: holders.append(hold_write_lock(path, held))
    result = handle_scan(kiosk, _card(kiosk), ScanSource.FILE)
    alarm = _wait_status(kiosk, result.alarm_id, "SENT", timeout=held + 20)
    assert "database is locked" in worker.log()  # the lock really refused the worker's write
    assert alarm.whatsapp_message_id == standin.accepted[0].message_id
    assert len(standin.requests) == 1


def test_an_alarm_recorded_while_redis_is_down_is_sent_when_it_returns(
    kiosk, kiosk_env, redis_control, standin, tmp_path
):
    redis_control.stop()
    result = handle_scan(kiosk, _card(kiosk), ScanSource.FILE)
    assert result.accepted and _status(kiosk, result.alarm_id).notification_status == "PENDING"
    redis_control.start()  # comes back empty: the message was never queued
    worker = ServiceProcess("worker", kiosk_env, tmp_path, ready_text=" ready.").start()
    try:
        _wait_status(kiosk, result.alarm_id, "SENT")
    finally:
        worker.stop()
    assert len(standin.accepted) == 1


def test_beat_sweeps_an_alarm_whose_queue_message_was_lost(kiosk, worker, beat, redis_control, standin):
    standin.script("meta", [{"status": 500}, "ok"])
    result = handle_scan(kiosk, _card(kiosk), ScanSource.FILE)
    _wait_status(kiosk, result.alarm_id, "ERROR")
    redis_control.flush()  # Redis restarted empty: the retry timer is gone
    _wait_status(kiosk, result.alarm_id, "SENT", timeout=45)
    assert len(standin.accepted) == 1


def test_notify_test_goes_the_same_way_and_says_it_is_a_test(kiosk, worker, standin):
    with kiosk.store.session() as session:
        set_channel(session, 3)
    alarm = send_test(kiosk, "+52 55 1111 2222")
    _wait_status(kiosk, alarm.id, "SENT")
    body = standin.accepted[0].body["Body"]
    assert body.startswith("MENSAJE DE PRUEBA")
