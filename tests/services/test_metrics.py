"""Prometheus figures read from the database: alarms by status, scans by outcome, delivery latency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from appliance.services.metrics import LATENCY_BUCKETS, latency_histogram, make_registry
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.models import Alarm, AlarmStatus

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def _samples(kiosk) -> dict[tuple[str, tuple], float]:
    text = generate_latest(make_registry(kiosk)).decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _alarm(kiosk, status: str, latency: float | None, is_test: bool = False) -> None:
    created = kiosk.clock.now() - timedelta(hours=1)
    with kiosk.store.session() as session:
        session.add(
            Alarm(
                subject_name="Ana",
                recipient_phone="+525512345678",
                created_at=created,
                notification_status=status,
                is_test=is_test,
                sent_at=created + timedelta(seconds=latency) if latency is not None else None,
            )
        )


def test_alarms_by_status_include_zeros(kiosk):
    _alarm(kiosk, AlarmStatus.SENT, 0.02)
    _alarm(kiosk, AlarmStatus.SENT, 0.03)
    _alarm(kiosk, AlarmStatus.FAILED, None)
    samples = _samples(kiosk)
    assert samples[("keryu_alarms", (("status", "SENT"),))] == 2
    assert samples[("keryu_alarms", (("status", "FAILED"),))] == 1
    assert samples[("keryu_alarms", (("status", "PENDING"),))] == 0


def test_scans_by_outcome(kiosk):
    card = add_subject(kiosk, SubjectInput("Ana", "55 1234 5678"))
    record_scan(kiosk, card.uuid, ScanSource.FILE)
    record_scan(kiosk, "https://example.com", ScanSource.CAMERA)
    record_scan(kiosk, "https://example.org", ScanSource.CAMERA)
    samples = _samples(kiosk)
    assert samples[("keryu_scans_total", (("outcome", "accepted"),))] == 1
    assert samples[("keryu_scans_total", (("outcome", "foreign"),))] == 2


def test_latency_histogram_counts_real_alarms_by_bucket(kiosk):
    for seconds in (0.004, 0.02, 0.2, 3.0, 400.0):
        _alarm(kiosk, AlarmStatus.SENT, seconds)
    _alarm(kiosk, AlarmStatus.SENT, 0.001, is_test=True)  # tests are not alarms
    _alarm(kiosk, AlarmStatus.PENDING, None)  # not sent yet
    cumulative, count, total = latency_histogram(kiosk)
    by_bound = dict(zip([*LATENCY_BUCKETS, float("inf")], cumulative, strict=True))
    assert (by_bound[0.01], by_bound[0.025], by_bound[0.25], by_bound[5.0], by_bound[300.0]) == (1, 2, 3, 4, 4)
    assert by_bound[float("inf")] == count == 5
    assert total == pytest.approx(403.224, abs=0.01)
    samples = _samples(kiosk)
    assert samples[("keryu_delivery_latency_seconds_count", ())] == 5
    assert samples[("keryu_delivery_latency_seconds_bucket", (("le", "0.1"),))] == 2
