"""Health shows each publisher's backlog and last error; an old backlog degrades the kiosk, never downs it."""

from __future__ import annotations

import pytest

from appliance.services.health import check_health
from appliance.services.publish.events import Reader
from appliance.services.publish.status import publishing_health
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject

MQTT = {"KERYU_MQTT_URL": "mqtt://kiosk:s3cret@broker.lan:1883"}


def _scan(kiosk) -> None:
    card = add_subject(kiosk, SubjectInput("Luis Pérez", "+52 55 8765 4321", "Rosa"))
    record_scan(kiosk, card.uuid, ScanSource.FILE)


def test_without_a_publisher_health_has_no_such_component(kiosk):
    assert publishing_health(kiosk) == {}


@pytest.mark.parametrize("settings", [MQTT], indirect=True)
def test_a_backlog_older_than_five_minutes_degrades_with_its_last_error(kiosk, fake_clock):
    reader = Reader(kiosk, "mqtt")
    reader.start()
    _scan(kiosk)
    fresh = publishing_health(kiosk)["mqtt"]
    assert fresh["status"] == "ok" and fresh["backlog"] == 2 and fresh["to"] == "mqtt://broker.lan:1883"
    reader.failed("mqtt://broker.lan:1883 did not acknowledge 3 messages within 10 s")
    fake_clock.advance(6 * 60)
    stale = publishing_health(kiosk)["mqtt"]
    assert stale["status"] == "degraded"
    assert stale["reason"].startswith("2 events have waited 6 min")
    assert "did not acknowledge" in stale["last_error"]
    assert "s3cret" not in str(stale)
    report = check_health(kiosk, include_web=False, schema=False)
    assert report["components"]["mqtt"]["status"] == "degraded" and report["status"] != "down"
    _last, events = reader.next_batch()
    reader.done(events[-1].id)
    after = publishing_health(kiosk)["mqtt"]
    assert after["status"] == "ok" and after["backlog"] == 0 and after["last_error"] is None
