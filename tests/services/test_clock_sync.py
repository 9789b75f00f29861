"""After a power cut the Pi's clock is a stale guess until the network time arrives.

The owner sees which alarms were recorded before the clock was set, their times are corrected
once it is, a parent is never told a wrong time, and a clock jump never ends a delivery early.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from appliance.services import clock_sync, delivery
from appliance.services.alarms import get_alarm
from appliance.services.kiosk import Kiosk
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.models import Alarm, AlarmStatus
from tests.fakes import FakeClock

STALE = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # what timesyncd saved before the power went
REAL = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # what the network says when it comes back


@pytest.fixture
def fake_clock() -> FakeClock:
    """A kiosk that just booted after a power cut: no network time yet."""
    clock = FakeClock(STALE)
    clock.reboot("boot-after-power-cut", STALE)
    return clock


def _scan(kiosk: Kiosk, name: str = "Ana López") -> int:
    card = add_subject(kiosk, SubjectInput(name, "55 1234 5678", "María"))
    result = record_scan(kiosk, card.uuid, ScanSource.FILE)
    assert result.alarm_id is not None
    return result.alarm_id


def test_an_alarm_before_the_clock_is_set_says_so_in_its_record(kiosk: Kiosk, fake_clock: FakeClock) -> None:
    alarm_id = _scan(kiosk)

    record = get_alarm(kiosk, alarm_id).record()

    assert record["clock_synced"] is False
    assert get_alarm(kiosk, alarm_id).time_known is False


def test_an_alarm_after_the_clock_is_set_is_synced(kiosk: Kiosk, fake_clock: FakeClock) -> None:
    fake_clock.sync(REAL)

    alarm = get_alarm(kiosk, _scan(kiosk))

    assert alarm.record()["clock_synced"] is True and alarm.time_known
    assert alarm.created_at == REAL


def test_once_the_clock_is_set_the_alarm_gets_its_real_time(kiosk: Kiosk, fake_clock: FakeClock) -> None:
    alarm_id = _scan(kiosk)
    fake_clock.advance(90)  # the network time arrives a minute and a half after the scan
    fake_clock.sync(REAL)

    shown = get_alarm(kiosk, alarm_id)  # shown corrected at once, before anything is written
    assert shown.created_at == REAL - timedelta(seconds=90) and shown.time_known
    assert clock_sync.correct_alarm_times(kiosk) == 1
    assert clock_sync.correct_alarm_times(kiosk) == 0  # once
    with kiosk.store.read() as session:
        row = session.get(Alarm, alarm_id)
        assert row is not None and row.created_at == REAL - timedelta(seconds=90)
        assert row.time_corrected_at == REAL
    corrected = get_alarm(kiosk, alarm_id)
    assert corrected.created_at == REAL - timedelta(seconds=90)
    assert corrected.record()["clock_synced"] is False  # the mark stays: it was recorded unsynced


def test_an_alarm_whose_boot_ended_before_the_sync_keeps_an_unknown_time(kiosk: Kiosk, fake_clock: FakeClock) -> None:
    alarm_id = _scan(kiosk)
    fake_clock.reboot("the-next-boot", STALE)  # the power went again before the network came
    fake_clock.sync(REAL)

    assert clock_sync.correct_alarm_times(kiosk) == 0
    alarm = get_alarm(kiosk, alarm_id)
    assert not alarm.time_known and alarm.created_at == STALE


@pytest.fixture
def live(fake_clock: FakeClock, kiosk: Kiosk, kiosk_env: dict[str, str]) -> Kiosk:
    """The kiosk wired to the provider stand-in, on the fake clock."""
    return kiosk


def _sent_bodies(standin) -> list[str]:
    return [json.dumps(request.body) for request in standin.accepted]


def test_a_message_sent_before_the_clock_is_set_says_time_unknown(live: Kiosk, standin) -> None:
    alarm_id = _scan(live)

    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT

    (body,) = _sent_bodies(standin)
    assert "hora desconocida" in body and "2026" not in body  # the kiosk's Spanish


def test_a_message_sent_after_the_sync_carries_the_corrected_time(live: Kiosk, standin) -> None:
    alarm_id = _scan(live)
    live.clock.advance(60)
    live.clock.sync(REAL)

    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT

    (body,) = _sent_bodies(standin)
    assert "hora desconocida" not in body and "25 nov 2026, 11:59" in body  # 17:59 UTC in Mexico City


def _offline(kiosk: Kiosk) -> Kiosk:
    return kiosk.with_settings(
        kiosk.settings.model_copy(
            update={"whatsapp_api_url": "http://127.0.0.1:9/v23.0", "twilio_api_url": "http://127.0.0.1:9"}
        )
    )


def _until_waiting(kiosk: Kiosk, alarm_id: int) -> delivery.DeliveryResult:
    for _ in range(20):
        result = delivery.deliver(kiosk, alarm_id)
        if result.retry_in is None or result.retry_in >= delivery.OFFLINE_RETRY_DELAYS[0]:
            return result
        kiosk.clock.advance(result.retry_in)
    raise AssertionError("delivery never settled")


def test_a_clock_jump_of_days_does_not_end_an_offline_delivery(live: Kiosk, standin) -> None:
    offline = _offline(live)
    alarm_id = _scan(live)
    first = _until_waiting(offline, alarm_id)
    assert first.status is AlarmStatus.ERROR
    live.clock.sync(STALE + timedelta(days=3))  # the wall clock leaps; hardly any time passed
    live.clock.advance(first.retry_in)

    assert _until_waiting(offline, alarm_id).status is AlarmStatus.ERROR  # still waiting for the network


def test_a_day_of_offline_rounds_ends_failed_even_across_reboots(live: Kiosk, standin) -> None:
    offline = _offline(live)
    alarm_id = _scan(live)
    result = _until_waiting(offline, alarm_id)
    rounds = 1
    while result.status is AlarmStatus.ERROR:
        live.clock.reboot(f"boot-{rounds}")  # monotonic time starts again each time
        live.clock.advance(result.retry_in)
        result = _until_waiting(offline, alarm_id)
        rounds += 1
        assert rounds < 200
    assert result.status is AlarmStatus.FAILED
    waited = sum(delivery.OFFLINE_RETRY_DELAYS[min(n, 4) - 1] for n in range(1, rounds))
    assert waited >= delivery.OFFLINE_GIVE_UP.total_seconds()
    assert waited - delivery.OFFLINE_RETRY_DELAYS[-1] < delivery.OFFLINE_GIVE_UP.total_seconds()
