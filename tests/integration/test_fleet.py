"""A fleet: two kiosks on one PostgreSQL database and one Redis, delivered by two workers.

The provider answers each send after 100 ms, as Meta does from far away, so a worker's rate is
set by how many sends it has in flight, not by this machine's busy cores. A burst of 2,000
alarms from the two kiosks is sent exactly once, and a worker stopped in the middle of the burst
loses nothing (its messages in hand are finished, the ones it held but had not started go back
to the queue). The rates with one and with two workers are printed (`-s`): on a quiet machine
two send faster; on a shared, saturated one the CPU bounds both (bench/README.md, Fleet).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from appliance.config import load_settings
from appliance.services.kiosk import Kiosk
from appliance.services.scans import ScanSource, dispatch, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.models import Alarm, AlarmStatus, DeliveryAttempt
from tests.conftest import ServiceProcess, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database_url", ["postgres"], indirect=True)]

PROVIDER_SECONDS = 0.1
BURST = 1000  # per kiosk


def sent(kiosk: Kiosk) -> int:
    with kiosk.store.read() as session:
        return session.scalar(select(func.count()).select_from(Alarm).where(Alarm.notification_status == "SENT"))


def start_worker(env: dict[str, str], workdir: Path) -> ServiceProcess:
    workdir.mkdir()
    return ServiceProcess("worker", env, workdir, ready_text=" ready.").start(timeout=60)


def burst(kiosk: Kiosk, card_uuid: str, count: int) -> list:
    return [record_scan(kiosk, card_uuid, ScanSource.CAMERA) for _ in range(count)]


def rate_until(kiosk: Kiosk, target: int, timeout: float) -> float:
    """Messages per second from now until `target` alarms are SENT."""
    started, before = time.monotonic(), sent(kiosk)
    wait_until(lambda: sent(kiosk) >= target, timeout=timeout, interval=0.2, what=f"{target} alarms SENT")
    return (sent(kiosk) - before) / (time.monotonic() - started)


def test_two_kiosks_burst_sent_exactly_once_by_two_workers_one_stopped_midway(kiosk_env, kiosk, standin, tmp_path):
    standin.set_default("meta", {"delay": PROVIDER_SECONDS})
    gate_a = Kiosk.from_settings(load_settings(**{**kiosk_env, "KERYU_LOCATION": "Gate A"}))
    gate_b = Kiosk.from_settings(load_settings(**{**kiosk_env, "KERYU_LOCATION": "Gate B"}))
    ana = add_subject(gate_a, SubjectInput("Ana Flota", "+52 55 1111 2222")).uuid
    beto = add_subject(gate_b, SubjectInput("Beto Flota", "+52 55 3333 4444")).uuid
    first = start_worker(kiosk_env, tmp_path / "w1")
    second = None
    try:
        # One worker alone, for the rate to compare with.
        warm_up = burst(gate_a, ana, 200)
        for result in warm_up:
            dispatch(gate_a, result)
        one_worker = rate_until(kiosk, 200, timeout=120)

        # Both kiosks' bursts, queued together; two workers.
        second = start_worker(kiosk_env, tmp_path / "w2")
        results = burst(gate_a, ana, BURST) + burst(gate_b, beto, BURST)
        for a, b in zip(results[:BURST], results[BURST:], strict=True):  # as two kiosks would, interleaved
            dispatch(gate_a, a)
            dispatch(gate_b, b)
        two_workers = rate_until(kiosk, 200 + 800, timeout=300)
        second.stop()  # SIGTERM in mid-burst: Celery's warm shutdown
        wait_until(lambda: sent(kiosk) == 200 + 2 * BURST, timeout=600, interval=0.5, what="the whole burst SENT")
        time.sleep(2)  # a duplicate on its way would arrive now
    finally:
        first.stop()
        if second is not None:
            second.stop()
        gate_a.close()
        gate_b.close()

    assert len(standin.accepted) == 200 + 2 * BURST  # each message reached the provider once
    with kiosk.store.read() as session:
        per_alarm = session.execute(
            select(DeliveryAttempt.alarm_id, func.count())
            .where(DeliveryAttempt.outcome == "sent")
            .group_by(DeliveryAttempt.alarm_id)
        ).all()
        by_location = dict(session.execute(select(Alarm.location, func.count()).group_by(Alarm.location)).all())
        statuses = set(session.scalars(select(Alarm.notification_status).distinct()))
    assert len(per_alarm) == 200 + 2 * BURST and {n for _, n in per_alarm} == {1}
    assert by_location == {"Gate A": 200 + BURST, "Gate B": BURST}
    assert statuses == {AlarmStatus.SENT}
    print(f"one worker {one_worker:.1f} msg/s, two workers {two_workers:.1f} msg/s")
