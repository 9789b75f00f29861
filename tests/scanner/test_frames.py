"""The decode-and-act path of one frame, on a real SQLite file and fake time: no threads, no sleeps."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from sqlalchemy import func, select

from appliance.feedback import Signal
from appliance.scanner import pixels
from appliance.scanner.camera import Frame
from appliance.scanner.frames import FrameHandler
from appliance.services.subjects import set_subject_active
from appliance.store.models import Alarm, ScanEvent
from tests.fakes import FakeClock
from tests.scanner.conftest import UNKNOWN_UUID, FeedbackLog, add_card, card_frame, scene


def alarms(kiosk) -> list[Alarm]:
    with kiosk.store.read() as session:
        return list(session.scalars(select(Alarm).order_by(Alarm.id)))


def events(kiosk) -> list[tuple[str, str | None]]:
    with kiosk.store.read() as session:
        return [(e.outcome, e.card_uuid) for e in session.scalars(select(ScanEvent).order_by(ScanEvent.id))]


def show(handler: FrameHandler, clock: FakeClock, image: np.ndarray, *, seconds: float, fps: float = 15) -> list:
    """Hand the same image over `seconds` at `fps`, the fake clock moving between frames."""
    results = []
    for i in range(round(seconds * fps)):
        results += handler.handle(Frame(image, f"f{i}", clock.monotonic()))
        clock.advance(1 / fps)
    return results


def test_a_card_held_still_for_ten_seconds_makes_one_alarm(timed_kiosk, handler, clock, feedback_log, submitted):
    uuid = add_card(timed_kiosk)
    shown_at = clock.now()
    results = show(handler, clock, card_frame(f"http://keryu.local/scan/{uuid}"), seconds=10)
    assert [str(r.outcome) for r in results] == ["accepted"]
    [alarm] = alarms(timed_kiosk)
    assert (alarm.card_uuid, alarm.subject_name, alarm.location) == (uuid, "Ana", "Test gate")
    assert alarm.notification_status == "PENDING"  # committed before it is handed on for queueing
    assert alarm.created_at.replace(tzinfo=None) == shown_at.replace(tzinfo=None)  # the kiosk's clock, fake here
    assert [r.alarm_id for r in submitted] == [alarm.id]
    assert feedback_log.signals == [Signal.ACCEPTED]
    assert handler.decoded < handler.frames == 150  # unchanged frames were not decoded again


def test_the_same_card_again_within_the_cooldown_is_a_duplicate_without_alarm(
    timed_kiosk, handler, clock, feedback_log
):
    uuid = add_card(timed_kiosk)
    card, empty = card_frame(uuid), scene()
    show(handler, clock, card, seconds=1)
    show(handler, clock, empty, seconds=3)
    show(handler, clock, card, seconds=1)
    show(handler, clock, empty, seconds=30)
    show(handler, clock, card, seconds=1)
    assert [o for o, _ in events(timed_kiosk)] == ["accepted", "duplicate", "accepted"]
    assert len(alarms(timed_kiosk)) == 2
    assert feedback_log.signals == [Signal.ACCEPTED, Signal.REPEAT, Signal.ACCEPTED]  # a repeat does not beep


def test_two_cards_in_one_frame_make_two_alarms(timed_kiosk, handler, clock, submitted):
    first, second = add_card(timed_kiosk, "Ana"), add_card(timed_kiosk, "Luis")
    show(handler, clock, card_frame(first, f"http://kiosk-2.local/scan/{second}", module_px=5), seconds=2)
    assert sorted(a.subject_name for a in alarms(timed_kiosk)) == ["Ana", "Luis"]
    assert len(submitted) == 2


@pytest.mark.parametrize(
    ("payload", "outcome"),
    [
        (UNKNOWN_UUID, "unknown"),
        ("WIFI:S:Home;T:WPA;P:secret;;", "foreign"),
        ("http://keryu.local/admin", "foreign"),
    ],
)
def test_a_code_that_is_not_an_active_card_is_rejected_with_red(
    timed_kiosk, handler, clock, feedback_log, submitted, payload, outcome
):
    show(handler, clock, card_frame(payload), seconds=3)
    assert alarms(timed_kiosk) == [] and submitted == []
    assert [o for o, _ in events(timed_kiosk)] == [outcome]  # one event per presentation, not per frame
    assert feedback_log.signals == [Signal.REJECTED]


def test_a_deactivated_subjects_card_is_inactive(timed_kiosk, handler, clock):
    uuid = add_card(timed_kiosk)
    set_subject_active(timed_kiosk, 1, False)
    show(handler, clock, card_frame(uuid), seconds=1)
    assert events(timed_kiosk) == [("inactive", uuid)] and alarms(timed_kiosk) == []


def test_a_long_hostile_payload_is_stored_cut_short(timed_kiosk, handler, clock):
    handler.act(["http://keryu.local/scan/" + "a" * 1500])
    with timed_kiosk.store.read() as session:
        assert session.scalar(select(func.max(func.length(ScanEvent.payload)))) <= 200


def test_a_restarted_scanner_keeps_the_cooldown_of_a_card_still_in_view(timed_kiosk, clock, submitted):
    uuid = add_card(timed_kiosk)
    card = card_frame(uuid)
    first = FrameHandler(timed_kiosk, FeedbackLog(), decoder="auto", submit=submitted.append)
    first.warm_up()
    show(first, clock, card, seconds=1)
    clock.advance(5)  # systemd restarts the scanner; the child still holds the card up
    second = FrameHandler(timed_kiosk, FeedbackLog(), decoder="auto", submit=submitted.append)
    second.warm_up()
    show(second, clock, card, seconds=3)
    clock.advance(30)
    show(second, clock, card, seconds=1)
    assert [o for o, _ in events(timed_kiosk)] == ["accepted", "duplicate", "accepted"]
    assert len(alarms(timed_kiosk)) == 2


def test_a_database_failure_is_red_and_the_card_is_recorded_once_it_answers(timed_kiosk, handler, clock, feedback_log):
    uuid = add_card(timed_kiosk)
    database = timed_kiosk.settings.database.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:  # the scan path's table vanishes: every write fails
        db.execute("ALTER TABLE scan_events RENAME TO scan_events_away")
    card = card_frame(uuid)
    assert show(handler, clock, card, seconds=2) == []  # tried once a second, never crashing
    assert alarms(timed_kiosk) == []  # the alarm was rolled back with its scan event
    assert feedback_log.signals == [Signal.REJECTED, Signal.REJECTED]  # at 0 s and after the 1 s hold
    with sqlite3.connect(database) as db:
        db.execute("ALTER TABLE scan_events_away RENAME TO scan_events")
    results = show(handler, clock, card, seconds=2)
    assert [str(r.outcome) for r in results] == ["accepted"]
    assert len(alarms(timed_kiosk)) == 1


def test_a_torn_jpeg_frame_is_counted_and_skipped_and_the_card_after_it_still_alarms(
    timed_kiosk, handler, clock, submitted, caplog
):
    uuid = add_card(timed_kiosk)
    jpeg = pixels.encode_jpeg(card_frame(uuid), quality=80)
    for index in range(3):
        assert handler.handle(Frame(None, f"torn{index}", clock.monotonic(), jpeg=jpeg[: len(jpeg) // 2])) == []
        clock.advance(1 / 15)
    assert handler.unreadable == 3 and handler.decoded == 0
    [logged] = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]  # the first only
    assert logged.startswith("frame torn0 is not a readable JPEG (image file is truncated")
    assert logged.endswith("; unreadable frames so far: 1")
    results = handler.handle(Frame(None, "whole", clock.monotonic(), jpeg=jpeg))
    assert [r.accepted for r in results] == [True] and len(submitted) == 1
