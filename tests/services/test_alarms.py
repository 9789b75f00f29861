"""Alarms as services hand them out: frozen views with their attempts, the contract's record, filters."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from appliance.errors import NotFound, UserError
from appliance.services.alarms import STATUSES, alarm_counts, get_alarm, list_alarms, resolve_alarm
from appliance.services.views import RECORD_FIELDS, AttemptView
from appliance.store.models import Alarm, DeliveryAttempt

SCANNED = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


def _alarm(kiosk, status: str = "SENT", attempts: tuple[str, ...] = ()) -> int:
    with kiosk.store.session() as session:
        alarm = Alarm(
            subject_name="Ana López",
            recipient_phone="+525512345678",
            created_at=SCANNED,
            location="Front desk",
            notification_status=status,
            attempts=[DeliveryAttempt(channel=1, started_at=SCANNED, outcome=outcome) for outcome in attempts],
        )
        session.add(alarm)
        session.flush()
        return alarm.id


def test_an_alarm_comes_with_its_attempts_after_the_session_is_gone(kiosk):
    alarm = get_alarm(kiosk, _alarm(kiosk, attempts=("transient", "sent")))
    assert [attempt.outcome for attempt in alarm.attempts] == ["transient", "sent"]
    assert all(isinstance(attempt, AttemptView) for attempt in alarm.attempts)
    with pytest.raises(dataclasses.FrozenInstanceError):
        alarm.notification_status = "FAILED"  # type: ignore[misc]


def test_the_record_is_the_contract_with_times_in_the_kiosk_zone(kiosk):
    mexico = dataclasses.replace(kiosk, settings=kiosk.settings.model_copy(update={"timezone": "America/Mexico_City"}))
    record = get_alarm(mexico, _alarm(kiosk)).record()
    assert tuple(record) == RECORD_FIELDS
    assert record["created_at"] == "2026-11-25T12:00:00-06:00"
    assert record["notification_status"] == "SENT" and record["last_attempt"] is None


def test_the_detailed_record_adds_the_attempts(kiosk):
    detailed = get_alarm(kiosk, _alarm(kiosk, attempts=("permanent",))).record_with_attempts()
    assert detailed["attempts"] == [
        {
            "channel": 1,
            "started_at": "2026-11-25T18:00:00+00:00",
            "outcome": "permanent",
            "error_code": None,
            "error_message": None,
        }
    ]


def test_lists_filter_by_status_newest_first(kiosk):
    sent, failed, newer_failed = _alarm(kiosk), _alarm(kiosk, "FAILED"), _alarm(kiosk, "FAILED")
    assert [alarm.id for alarm in list_alarms(kiosk, status="FAILED")] == [newer_failed, failed]
    assert [alarm.id for alarm in list_alarms(kiosk, before_id=failed)] == [sent]


@pytest.mark.parametrize(("options", "words"), [({"status": "LOST"}, "Unknown status"), ({"limit": 0}, "limit")])
def test_bad_filters_are_user_errors(kiosk, options, words):
    with pytest.raises(UserError, match=words):
        list_alarms(kiosk, **options)


def test_counts_name_every_status(kiosk):
    _alarm(kiosk, "FAILED")
    counts = alarm_counts(kiosk)
    assert tuple(counts) == STATUSES and counts["FAILED"] == 1 and counts["SENT"] == 0


def test_resolving_keeps_the_notes_on_the_view(kiosk):
    alarm_id = _alarm(kiosk)
    resolve_alarm(kiosk, alarm_id, "  Picked up by her aunt  ")
    alarm = get_alarm(kiosk, alarm_id)
    assert alarm.resolution_notes == "Picked up by her aunt" and alarm.resolved_at is not None
    with pytest.raises(NotFound):
        resolve_alarm(kiosk, alarm_id + 1, "")
