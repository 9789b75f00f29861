"""`keryu alarms`, `keryu alarm retry|resolve` and `keryu notify-test --wait` as an admin at the kiosk's
console meets them (real subprocesses; Redis is down here, the worker's side is in tests/integration)."""

from __future__ import annotations

import json
import re

import pytest

from tests.cli.test_core_cli import _user_error

pytestmark = pytest.mark.cli_language("en")  # these stories are told to an English kiosk

SMS = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t" * 32, "TWILIO_PHONE_NUMBER": "+14155550100"}


def _queued_test_alarm(run) -> int:
    run("init")
    sent = run("notify-test", "--phone", "+52 55 1234 5678", "--wait", "0", "--json")
    assert sent.returncode == 0, sent.stderr
    return json.loads(sent.stdout)["id"]


def test_alarms_lists_local_times_and_the_channel(run):
    _queued_test_alarm(run)
    listed = run("alarms", KERYU_TIMEZONE="America/Mexico_City")
    assert listed.returncode == 0, listed.stderr
    line = listed.stdout.splitlines()[0]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CST ", line), line  # the kiosk's zone, not UTC
    assert "PENDING" in line and "Keryu test [test] @ Front desk" in line
    record = json.loads(run("alarms", "--json", KERYU_TIMEZONE="America/Mexico_City").stdout)[0]
    assert record["created_at"].endswith("-06:00")


def test_resolve_from_the_console_keeps_the_note(run):
    alarm_id = _queued_test_alarm(run)
    done = run("alarm", "resolve", str(alarm_id), "--note", "Picked up by her aunt")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Alarm #{alarm_id} marked as resolved: Picked up by her aunt."


def test_retry_refuses_an_alarm_that_has_not_failed(run):
    alarm_id = _queued_test_alarm(run)
    _user_error(run("alarm", "retry", str(alarm_id), **SMS), "PENDING", "only a FAILED alarm can be retried")


def test_retry_and_resolve_of_a_missing_alarm_say_so(run):
    run("init")
    _user_error(run("alarm", "retry", "999"), "no alarm with id 999")
    _user_error(run("alarm", "resolve", "999"), "no alarm with id 999")


def test_notify_test_that_cannot_be_sent_in_time_says_so_and_exits_1(run):
    run("init")
    result = run("notify-test", "--phone", "+52 55 1234 5678", "--wait", "1")
    assert result.returncode == 1
    assert re.match(r"Test alarm #\d+ to \+525512345678: PENDING$", result.stdout.strip()), result.stdout
    assert "not sent within 1 s" in result.stderr
