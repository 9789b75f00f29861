"""A stranger finds a person and scans their card with a phone: a real browser on a phone-sized
screen, a real `keryu web`, worker, Redis and the provider stand-in. Then the admin's console:
`keryu alarm retry` of a FAILED alarm, and `keryu notify-test --wait`."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from appliance.services.auth import set_up_admin
from appliance.services.parameters import set_channel
from appliance.services.scans import ScanSource, handle_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.models import Alarm
from tests.conftest import _CONFIG_PREFIXES, KERYU, wait_until
from tests.integration import test_admin_browser as admin_browser

pytestmark = pytest.mark.integration

browser = admin_browser.browser  # Debian's chromium through Playwright
site = admin_browser.site  # `keryu web` as a subprocess, with the worker
page = admin_browser.page  # a phone-sized tab that fails the test on any script error
NOTE = "She is sitting at the bus stop on Reforma, calm"


def _choose(kiosk, number: int) -> None:
    with kiosk.store.session() as session:
        set_channel(session, number)


def _alarms(kiosk) -> list[Alarm]:
    with kiosk.store.read() as session:
        return list(session.query(Alarm).order_by(Alarm.id))


def keryu(kiosk_env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`keryu ARGS` as the admin runs it on the kiosk, with the kiosk's configuration."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_CONFIG_PREFIXES)}
    return subprocess.run([KERYU, *args], env={**env, **kiosk_env}, capture_output=True, text=True, timeout=120)


def test_a_finders_phone_alerts_the_custodian_once_without_any_login(kiosk, browser, site, standin):
    set_up_admin(kiosk, admin_browser.PASSWORD)
    card = add_subject(kiosk, SubjectInput("Ana López", "+5212345678901", "María"))
    _choose(kiosk, 3)  # SMS: the free-form text carries what the finder wrote
    phone = browser.new_context(base_url=site, viewport={"width": 390, "height": 844}, is_mobile=True)
    tab = phone.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(str(error)))

    tab.goto(f"/scan/{card.uuid}")  # what the camera app opens from the QR code
    assert tab.locator("h1").inner_text() == "This card belongs to a person who may need help"
    assert "Ana" not in tab.content() and phone.cookies() == []
    tab.fill("textarea[name=note]", NOTE)
    tab.fill("input[name=phone]", "33 1234 5678")
    admin_browser.shot(tab, "finder-01-card-page")
    tab.click("text=Alert their custodians")
    tab.wait_for_selector("[data-finder=alerted]")
    admin_browser.shot(tab, "finder-02-alerted")

    tab.go_back()  # a second press a moment later, as a worried finder would
    tab.click("text=Alert their custodians")
    tab.wait_for_selector("[data-finder=already_alerted]")
    assert "Already alerted" in tab.locator("h1").inner_text()
    phone.close()
    assert problems == []

    [sms] = standin.wait_for(1)
    [alarm] = _alarms(kiosk)
    assert sms.body["To"] == "+5212345678901"  # the seed's number, stored as +522345678901, in Twilio's form
    assert NOTE in sms.body["Body"] and "+523312345678" in sms.body["Body"]
    assert (alarm.source, alarm.recipient_phone) == ("phone", "+522345678901")
    wait_until(lambda: _alarms(kiosk)[0].notification_status == "SENT", what="the SMS to be recorded")
    assert len(standin.accepted) == 1


def test_the_subject_form_shows_the_number_as_understood_before_saving(page, kiosk):
    from playwright.sync_api import expect

    admin_browser._set_up_and_log_in(page, kiosk)
    page.goto("/subjects/new")
    preview = page.locator("output[data-phone-preview]")
    page.fill("input[name=phone]", "+5212345678901")  # the seed's own example
    expect(preview).to_have_text("Se guardará como +52 234 567 8901 (México)")  # a Spanish browser
    page.fill("input[name=phone]", "55 12")
    expect(preview).to_contain_text("no es un número telefónico válido")  # the service's error, in Spanish
    page.fill("input[name=phone]", "044 55 1234 5678")
    expect(preview).to_have_text("Se guardará como +52 55 1234 5678 (México)")
    admin_browser.shot(page, "finder-03-phone-preview")
    page.fill("input[name=name]", "Ana López")
    page.click("text=Agregar persona y emitir una tarjeta")
    page.wait_for_url(re.compile(r".*/subjects/\d+$"))
    assert "+525512345678" in page.content()


def test_keryu_alarm_retry_delivers_an_alarm_every_channel_had_refused(kiosk, kiosk_env, worker, standin):
    standin.script("meta", [{"error": 132001}])
    standin.script("twilio", [{"error": 21211}, {"error": 21610}])
    card = add_subject(kiosk, SubjectInput("Luis Pérez", "55 8765 4321", "Rosa"))
    _choose(kiosk, 1)
    alarm_id = handle_scan(kiosk, card.scan_url, ScanSource.FILE).alarm_id
    wait_until(lambda: _alarms(kiosk)[0].notification_status == "FAILED", what="the alarm to fail")

    retried = keryu(kiosk_env, "alarm", "retry", str(alarm_id))
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.startswith(f"Alarm #{alarm_id} is queued again from its first channel")
    wait_until(lambda: _alarms(kiosk)[0].notification_status == "SENT", what="the retried alarm to be sent")
    assert [request.provider for request in standin.accepted] == ["meta"]


def test_notify_test_waits_and_prints_the_final_status_and_the_channel(kiosk, kiosk_env, worker, standin):
    _choose(kiosk, 1)
    sent = keryu(kiosk_env, "notify-test", "--phone", "+52 55 1111 2222", "--wait", "30")
    assert sent.returncode == 0, sent.stderr
    assert re.fullmatch(
        r"Test alarm #\d+ to \+525511112222: SENT \(delivery not confirmed \(no webhook\)\) "
        r"via Meta WhatsApp \(channel 1\)",
        sent.stdout.strip(),
    ), sent.stdout

    standin.script("meta", [{"error": 132001}])
    standin.script("twilio", [{"error": 21211}, {"error": 21211}])
    failed = keryu(kiosk_env, "notify-test", "--phone", "+52 55 1111 2222", "--wait", "30")
    assert failed.returncode == 1
    assert re.match(r"Test alarm #\d+ to \+525511112222: FAILED: Channel 3: ", failed.stdout), failed.stdout
