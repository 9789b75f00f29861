"""Recent scan events and counts by outcome, as the admin page and metrics read them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appliance.services.scan_log import recent_scans, scan_counts, warm_up
from appliance.services.scans import ScanSource, record_duplicate, record_scan
from appliance.services.subjects import SubjectInput, add_subject


@pytest.fixture
def card(fake_clock, kiosk) -> str:
    with kiosk.store.session() as session:
        _subject, card = add_subject(session, SubjectInput(name="Ana <b>", phone="+5215512345678"))
        return card.uuid


def test_recent_scans_are_newest_first_with_subject_names(kiosk, card):
    record_scan(kiosk, card, ScanSource.CAMERA)
    kiosk.clock.advance(5)
    record_duplicate(kiosk, card, ScanSource.CAMERA)
    kiosk.clock.advance(5)
    record_scan(kiosk, "<script>alert(1)</script>", ScanSource.API)
    rows = recent_scans(kiosk)
    assert [(r["outcome"], r["source"]) for r in rows] == [
        ("foreign", "api"),
        ("duplicate", "camera"),
        ("accepted", "camera"),
    ]
    assert rows[2]["subject_name"] == "Ana <b>" and rows[2]["alarm_id"] == 1 and rows[2]["card_uuid"] == card
    assert rows[0]["payload"] == "<script>alert(1)</script>"  # kept as text; escaping is the page's job
    assert rows[0]["created_at"].endswith("+00:00")


def test_recent_scans_filter_by_outcome_and_page(kiosk, card):
    for _ in range(5):
        record_scan(kiosk, "not a card", ScanSource.CAMERA)
    record_scan(kiosk, card, ScanSource.CAMERA)
    assert [r["outcome"] for r in recent_scans(kiosk, outcome="accepted")] == ["accepted"]
    first = recent_scans(kiosk, limit=2)
    rest = recent_scans(kiosk, limit=10, before_id=first[-1]["id"])
    assert len(first) == 2 and len(rest) == 4 and rest[0]["id"] < first[-1]["id"]


@pytest.mark.parametrize("outcome", ["bogus", "ACCEPTED;--"])
def test_recent_scans_refuse_an_unknown_outcome(kiosk, outcome):
    with pytest.raises(ValueError):
        recent_scans(kiosk, outcome=outcome)


def test_scan_counts_name_every_outcome(kiosk, card):
    record_scan(kiosk, card, ScanSource.CAMERA)
    record_scan(kiosk, "4f2a9b1c-8d3e-4f5a-b6c7-d8e9f0a1b2c3", ScanSource.FILE)
    record_scan(kiosk, "WIFI:S:x;;", ScanSource.CAMERA)
    record_scan(kiosk, "WIFI:S:y;;", ScanSource.CAMERA)
    assert scan_counts(kiosk) == {"accepted": 1, "duplicate": 0, "unknown": 1, "inactive": 0, "foreign": 2}


def test_scan_counts_since_a_moment(kiosk, card):
    record_scan(kiosk, "junk", ScanSource.CAMERA)
    kiosk.clock.advance(3600)
    record_scan(kiosk, card, ScanSource.CAMERA)
    since = kiosk.clock.now() - timedelta(minutes=1)
    assert scan_counts(kiosk, since=since) == {"accepted": 1, "duplicate": 0, "unknown": 0, "inactive": 0, "foreign": 0}


def test_warm_up_reads_without_recording_anything(kiosk):
    warm_up(kiosk)
    assert recent_scans(kiosk) == []


def test_recent_camera_alarms_are_the_cards_still_cooling(kiosk, card):
    from appliance.services.scan_log import recent_camera_alarms

    record_scan(kiosk, card, ScanSource.CAMERA)
    kiosk.clock.advance(12)
    record_scan(kiosk, "4f2a9b1c-8d3e-4f5a-b6c7-d8e9f0a1b2c3", ScanSource.CAMERA)  # unknown: no alarm
    assert recent_camera_alarms(kiosk, 30) == {card: 12.0}
    assert recent_camera_alarms(kiosk, 10) == {}


def test_alarms_from_the_web_or_files_do_not_start_a_camera_cooldown(kiosk, card):
    from appliance.services.scan_log import recent_camera_alarms

    record_scan(kiosk, card, ScanSource.WEB)
    record_scan(kiosk, card, ScanSource.FILE)
    assert recent_camera_alarms(kiosk, 30) == {}
