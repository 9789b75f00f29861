"""The `keryu` command line as a user meets it: real subprocesses, one clear sentence on mistakes."""

from __future__ import annotations

import json
import re
import stat
import subprocess

import pytest

pytestmark = pytest.mark.cli_language("en")  # these stories are told to an English kiosk


def _user_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keryu: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_init_creates_then_reports_up_to_date(run):
    assert "migrated from empty" in run("init").stdout
    again = run("init")
    assert again.returncode == 0 and "up to date" in again.stdout


def test_commands_before_init_say_to_run_init(run):
    _user_error(run("alarms"), "keryu init")


def test_subject_add_prints_the_contract_json_and_list_shows_it(run):
    run("init")
    added = run("subject", "add", "--name", "Ana López", "--phone", "55 1234 5678", "--custodian", "María")
    assert added.returncode == 0, added.stderr
    card = json.loads(added.stdout)
    assert set(card) == {"subject_id", "card_uuid", "scan_url"}
    assert card["scan_url"] == f"http://keryu.local/scan/{card['card_uuid']}"
    listed = json.loads(run("subject", "list", "--json").stdout)
    assert listed[0]["phone"] == "+525512345678" and listed[0]["card_uuid"] == card["card_uuid"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("subject", "add", "--name", "X", "--phone", "12345"), ("12345", "not a valid phone number")),
        (("subject", "add", "--name", "X", "--phone", "call me"), ("not a phone number",)),
        (("subject", "add", "--name", "  ", "--phone", "+525512345678"), ("name must not be empty",)),
        (("card", "new", "999"), ("no subject with id 999",)),
        (("card", "image", "not-a-uuid", "--out", "x.png"), ("not a card UUID",)),
        (("card", "image", "00000000-0000-4000-8000-000000000000", "--out", "x.png"), ("no card",)),
        (("channel", "set", "4"), ("1 (Meta WhatsApp)",)),
        (("notify-test", "--phone", "+1 555"), ("not a valid phone number",)),
        (("alarms", "--limit", "0"), ("limit",)),
        (("alarms", "--status", "LOST"), ("Unknown status",)),
    ],
)
def test_user_mistakes_are_one_sentence_and_exit_2(run, args, words):
    run("init")
    _user_error(run(*args), *words)


def test_a_wrong_configuration_value_is_one_sentence_naming_the_variable(run):
    _user_error(run("alarms", KERYU_WEB_PORT="eighty"), "KERYU_WEB_PORT")
    _user_error(run("alarms", KERYU_CAMERA="webcam"), "KERYU_CAMERA")
    _user_error(run("alarms", KERYU_LED_RED_PIN="40"), "KERYU_LED_RED_PIN")


def test_card_new_replaces_the_card_and_image_renders_a_readable_qr(run, tmp_path):
    run("init")
    first = json.loads(run("subject", "add", "--name", "Ana", "--phone", "+525512345678").stdout)
    second = json.loads(run("card", "new", str(first["subject_id"])).stdout)
    assert second["card_uuid"] != first["card_uuid"]
    out = tmp_path / "card.png"
    assert run("card", "image", second["card_uuid"], "--out", str(out)).returncode == 0
    import cv2
    import zxingcpp

    decoded = [r.text for r in zxingcpp.read_barcodes(cv2.imread(str(out)))]
    assert decoded == [second["scan_url"]]
    listed = json.loads(run("subject", "list", "--json").stdout)
    assert listed[0]["card_uuid"] == second["card_uuid"]


def test_channel_set_and_get(run):
    run("init")
    assert run("channel", "get").stdout.startswith("1 (Meta WhatsApp)")
    assert run("channel", "set", "3").returncode == 0
    assert run("channel", "get").stdout.startswith("3 (Twilio SMS)")


def test_notify_test_with_redis_down_records_a_pending_test_alarm(run):
    run("init")
    sent = run("notify-test", "--phone", "+52 55 1234 5678", "--wait", "0")  # queued, not waited for
    assert sent.returncode == 0, sent.stderr
    assert "PENDING" in sent.stdout
    alarms = json.loads(run("alarms", "--json").stdout)
    assert alarms[0]["is_test"] is True and alarms[0]["notification_status"] == "PENDING"
    assert set(alarms[0]) >= {
        "id", "subject_id", "subject_name", "card_uuid", "created_at", "location", "is_test", "channel",
        "notification_status", "notification_sent", "notification_attempts", "last_attempt",
        "notification_error", "whatsapp_message_id", "message_sid",
    }  # fmt: skip
    assert alarms[0]["location"] == "Front desk"


def test_status_reports_components_and_exits_1_when_redis_is_down(run):
    run("init")
    result = run("status", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["status"] == "degraded"
    assert report["components"]["database"]["status"] == "ok"
    assert report["components"]["redis"]["status"] == "down"
    assert {"worker", "beat", "scanner", "web", "disk"} <= set(report["components"])


SETUP_CODE_RE = r"[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}(-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}){3}"


def test_setup_code_prints_the_code_alone_until_a_password_is_set(run):
    run("init")
    first = run("setup-code")
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(SETUP_CODE_RE + "\n", first.stdout) and first.stderr == ""
    run("init")  # init again keeps the code
    assert run("setup-code").stdout == first.stdout

    hashed = run("hash-password", input="correct horse battery\n")
    assert hashed.returncode == 0, hashed.stderr
    from argon2 import PasswordHasher

    assert PasswordHasher().verify(hashed.stdout.strip(), "correct horse battery")
    done = run("setup-code", KERYU_ADMIN_PASSWORD_HASH=hashed.stdout.strip())
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "The admin password is set; the setup code is no longer needed.\n"


def test_setup_code_is_refused_once_first_run_setup_is_done(run, data_dir):
    run("init")
    code = run("setup-code").stdout.strip()
    from appliance.config import load_settings
    from appliance.services.auth import set_up_admin
    from appliance.services.kiosk import Kiosk

    kiosk = Kiosk.from_settings(load_settings(KERYU_DATA_DIR=str(data_dir), KERYU_CAMERA="none"))
    try:
        set_up_admin(kiosk, "correct horse battery")
    finally:
        kiosk.close()
    done = run("setup-code")
    assert done.returncode == 1 and code not in done.stdout + done.stderr
    assert "no longer needed" in done.stderr
    run("init")
    assert run("setup-code").returncode == 1  # init does not make a new one


def test_hash_password_refuses_a_short_password(run):
    _user_error(run("hash-password", input="short\n"), "at least 8 characters")


def test_init_in_a_checkout_leaves_the_data_folder_to_its_owner(run, tmp_path):
    fresh = tmp_path / "checkout" / "data"
    result = run("init", KERYU_DATA_DIR=str(fresh), umask=0)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    assert stat.S_IMODE((fresh / "keryu.db").stat().st_mode) == 0o600
