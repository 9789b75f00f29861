"""Scan events read back: counts by outcome (metrics) and the cards still cooling (the scanner)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appliance.services.scan_log import recent_camera_alarms, scan_counts, warm_up
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject


@pytest.fixture
def card(fake_clock, kiosk) -> str:
    return add_subject(kiosk, SubjectInput(name="Ana <b>", phone="+5215512345678")).uuid


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
    assert set(scan_counts(kiosk).values()) == {0}


def test_recent_camera_alarms_are_the_cards_still_cooling(kiosk, card):
    record_scan(kiosk, card, ScanSource.CAMERA)
    kiosk.clock.advance(12)
    record_scan(kiosk, "4f2a9b1c-8d3e-4f5a-b6c7-d8e9f0a1b2c3", ScanSource.CAMERA)  # unknown: no alarm
    assert recent_camera_alarms(kiosk, 30) == {card: 12.0}
    assert recent_camera_alarms(kiosk, 10) == {}


def test_alarms_from_the_web_or_files_do_not_start_a_camera_cooldown(kiosk, card):
    record_scan(kiosk, card, ScanSource.WEB)
    record_scan(kiosk, card, ScanSource.FILE)
    assert recent_camera_alarms(kiosk, 30) == {}
