"""The owner's log download: the last day only, and no secret left in it."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta

import pytest

from appliance.services.logs import HIDDEN, Redactor, export_logs, journal_line, mask_phone
from appliance.services.setup_code import ensure_setup_code

TOKEN = "EAAGm0PX4ZCpsBAKZAtokenvalue1234567890"


@pytest.fixture
def kiosk_env(data_dir):
    return {
        "KERYU_DATA_DIR": str(data_dir),
        "WHATSAPP_ACCESS_TOKEN": TOKEN,
        "TWILIO_AUTH_TOKEN": "twilio-auth-0123456789abcdef",
        "KERYU_WIFI_PASSWORD": "my wifi pass",
        "REDIS_URL": "redis://:redispw123@localhost:6379/0",
    }


@pytest.mark.parametrize(
    ("line", "gone", "kept"),
    [
        ("Authorization: Bearer abcdefghijklmnop1234", "abcdefghijklmnop1234", HIDDEN),
        ("sending with bearer abcdefghijklmnop1234", "abcdefghijklmnop1234", "bearer " + HIDDEN),
        ("connecting to redis://:s3cret-pw@localhost:6379/0", "s3cret-pw", "redis://:" + HIDDEN + "@localhost"),
        ("POST /login password=hunter22&next=/", "hunter22", "password=" + HIDDEN),
        ('{"access_token": "xyz987654321"}', "xyz987654321", HIDDEN),
        ("hash $argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "$argon2id$", HIDDEN),
        ("Sent to +525512345678 via meta", "5512345678", "+52******5678"),
        ("Sent to whatsapp:+5215512345678", "15512345678", "+52*******5678"),
        ("Meta to 525512345678 accepted", "525512345678", "52******5678"),
    ],
)
def test_patterns_hide_secrets_and_mask_phones(line, gone, kept):
    redacted = Redactor([])(line)
    assert gone not in redacted and kept in redacted


@pytest.mark.parametrize(
    "line",
    [
        "2026-11-28 21:05:09 INFO Alarm 12345678901 for card 0b8c6f4e-1f2a-4c3d-9e8f-1a2b3c4d5e6f SENT",
        "2026-11-28 21:29:50,855 INFO appliance.services.auth: Admin password set up",
    ],
)
def test_alarm_ids_times_uuids_and_logger_names_are_left_alone(line):
    assert Redactor([])(line) == line


def test_mask_phone_keeps_country_and_last_four():
    assert mask_phone("+525512345678") == "+52******5678"
    assert mask_phone("+1 415 555 0100") == "+14*****0100"


def test_the_download_holds_the_last_day_of_the_log_files_with_every_configured_secret_hidden(
    kiosk_env, kiosk, data_dir
):
    code = ensure_setup_code(kiosk)
    logs = data_dir / "logs"
    logs.mkdir()
    old = (datetime.now() - timedelta(hours=30)).strftime("%Y-%m-%d %H:%M:%S")
    new = (datetime.now() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    (logs / "web.log").write_text(
        f"{old} INFO appliance.web: yesterday's line\n"
        f"{new} INFO appliance.web: token {TOKEN} used\n"
        f"{new} WARNING appliance.web: setup code {code} typed\n"
        "Traceback (most recent call last):\n"
        f"{new} INFO wifi my wifi pass joined; redis pw redispw123; twilio twilio-auth-0123456789abcdef\n"
    )
    stale = logs / "old.log"
    stale.write_text(f"{old} INFO from a file untouched for days\n")
    two_days_ago = time.time() - 48 * 3600
    os.utime(stale, (two_days_ago, two_days_ago))

    export = export_logs(kiosk, use_journal=False)

    assert "log files" in export.source
    text = export.text
    assert "yesterday's line" not in text and "untouched for days" not in text
    assert "Traceback (most recent call last):" in text  # a line without a time stays with its neighbours
    for secret in (TOKEN, code, code.replace("-", ""), "my wifi pass", "redispw123", "twilio-auth-0123456789abcdef"):
        assert secret not in text
    assert text.count(HIDDEN) >= 5


def test_a_journal_entry_reads_as_time_unit_and_message():
    entry = (
        '{"__REALTIME_TIMESTAMP": "1795900000000000", "_SYSTEMD_UNIT": "keryu-web.service",'
        ' "MESSAGE": "INFO appliance.web: serving"}'
    )
    line = journal_line(entry)
    assert line.endswith(" keryu-web.service: INFO appliance.web: serving\n")
    assert datetime.fromisoformat(line.split(" ", 1)[0]).timestamp() == 1795900000
    raw = '{"__REALTIME_TIMESTAMP": "1795900000000000", "SYSLOG_IDENTIFIER": "redis", "MESSAGE": [104, 105, 255]}'
    assert journal_line(raw).endswith(" redis: hi\ufffd\n")
    assert journal_line("not json") == ""
