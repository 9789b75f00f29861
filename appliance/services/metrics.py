"""Prometheus metrics read from the database at scrape time, so every process's work is counted once.

The database is the truth (DESIGN.md): counting there instead of in-process counters means the
figures survive restarts and include what the scanner and worker processes did.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from appliance.services.alarms import alarm_counts
from appliance.services.kiosk import Kiosk
from appliance.services.scan_log import scan_counts
from appliance.store.models import Alarm

logger = logging.getLogger(__name__)

# Seconds from scan to the provider accepting the message; the floor is about 5-10 ms (FACTS.md).
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def _latency_seconds(session: Session) -> ColumnElement[float]:
    """`sent_at - created_at` in seconds, spelled for the backend in use."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(Alarm.sent_at) - func.julianday(Alarm.created_at)) * literal(86400.0)
    return func.extract("epoch", Alarm.sent_at - Alarm.created_at)


def latency_histogram(kiosk: Kiosk) -> tuple[list[int], int, float]:
    """Cumulative counts per bucket (then +Inf), and the sum, of delivery latency, in one query."""
    with kiosk.store.read() as session:
        latency = _latency_seconds(session)
        columns = [func.sum(case((latency <= bound, 1), else_=0)) for bound in LATENCY_BUCKETS]
        query = select(*columns, func.count(), func.coalesce(func.sum(latency), 0.0)).where(
            Alarm.sent_at.is_not(None),
            Alarm.is_test.is_(False),
            Alarm.role != "duty",  # escalations wait on purpose
        )
        row = session.execute(query).one()
    buckets = [int(value or 0) for value in row[: len(LATENCY_BUCKETS)]]
    count, total = int(row[-2] or 0), float(row[-1] or 0.0)
    return [*buckets, count], count, total


class KioskCollector(Collector):
    """Collects alarms by status, scans by outcome and delivery latency on every scrape."""

    def __init__(self, kiosk: Kiosk):
        self.kiosk = kiosk

    def collect(self) -> Iterator:
        alarms = alarm_counts(self.kiosk)
        cumulative, _count, total = latency_histogram(self.kiosk)
        scans = scan_counts(self.kiosk)  # every outcome, zeros included
        gauge = GaugeMetricFamily("keryu_alarms", "Alarms in the database by notification status.", labels=["status"])
        for status, value in sorted(alarms.items()):
            gauge.add_metric([status], value)
        yield gauge
        counter = CounterMetricFamily(
            "keryu_scans", "Decoded codes the kiosk acted on, by outcome.", labels=["outcome"]
        )
        for outcome, value in sorted(scans.items()):
            counter.add_metric([outcome], value)
        yield counter
        histogram = HistogramMetricFamily(
            "keryu_delivery_latency_seconds", "Seconds from a scan to the provider accepting its message."
        )
        bounds = [*(str(bound) for bound in LATENCY_BUCKETS), "+Inf"]
        histogram.add_metric([], list(zip(bounds, cumulative, strict=True)), total)
        yield histogram


def make_registry(kiosk: Kiosk) -> CollectorRegistry:
    """A registry holding only the kiosk's collector (no process metrics of the web server)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(KioskCollector(kiosk))
    return registry
