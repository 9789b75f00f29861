"""The scheduler as a thread of `keryu worker`: a kiosk runs no beat process, and health still sees the beat."""

from __future__ import annotations

import pytest

from appliance.cli import build_parser
from appliance.services.health import check_beat
from appliance.services.scans import ScanSource, handle_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.models import Alarm
from tests.conftest import wait_until


def _status(kiosk, alarm_id: int) -> str:
    with kiosk.store.read() as session:
        return session.get(Alarm, alarm_id).notification_status


@pytest.mark.integration
def test_the_worker_alone_sweeps_an_alarm_never_queued_and_health_sees_its_beat(kiosk, worker, redis_control, standin):
    card = add_subject(kiosk, SubjectInput("Luis Pérez", "+52 55 8765 4321", "Rosa"))
    redis_control.stop()
    result = handle_scan(kiosk, card.uuid, ScanSource.FILE)  # recorded, but not queued
    redis_control.start()  # back empty, after the worker's start-up sweep: only a beat can find it

    wait_until(lambda: _status(kiosk, result.alarm_id) == "SENT", timeout=60, what="the beat's sweep to send it")

    assert len(standin.accepted) == 1
    assert check_beat(kiosk)["status"] == "ok"  # no `keryu beat` runs: the worker's thread wrote it
    # journald writes each line to the SD card: the scheduled runs leave none, the alarm its own
    log = worker.log()
    assert "Sending due task" not in log and " received" not in log and " succeeded in " not in log
    assert f"Alarm {result.alarm_id} sent" in log


def test_a_fleet_worker_can_leave_the_scheduler_to_one_keryu_beat():
    parser = build_parser()
    assert parser.parse_args(["worker"]).beat is True
    assert parser.parse_args(["worker", "--no-beat"]).beat is False
