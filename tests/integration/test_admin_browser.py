"""The admin page in a real browser (Debian's chromium driven by Playwright), against a real
`keryu web`, a real worker, Redis and the loopback provider stand-in: what a new admin does on
day one, then what an attacker tries. Screenshots of each page go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from appliance.services.parameters import get_channel
from appliance.services.setup_code import ensure_setup_code
from appliance.store.models import Alarm, Subject

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "kiosk admin password"
SCRIPT = "<script>alert(1)</script>"
LIVE_TIMEOUT_MS = 30_000


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def site(service_process, kiosk_env, worker) -> str:
    """`keryu web` as a subprocess on the test's database, Redis and stand-in (the worker runs too)."""
    service_process("web", ready_text="serving the admin page")
    return f"http://127.0.0.1:{kiosk_env['KERYU_WEB_PORT']}"


@pytest.fixture
def page(browser, site):
    """A phone-sized browser tab of a Mexican admin (Spanish), failing the test on any JavaScript error or dialog."""
    context = browser.new_context(
        base_url=site, viewport={"width": 412, "height": 915}, accept_downloads=True, locale="es-MX"
    )
    tab = context.new_page()
    tab.problems = []
    tab.on("pageerror", lambda error: tab.problems.append(f"script error: {error}"))
    tab.on("dialog", lambda dialog: _on_dialog(tab, dialog))
    yield tab
    context.close()
    assert tab.problems == []


def _on_dialog(tab, dialog) -> None:
    if dialog.type == "confirm":  # our own "are you sure?" questions
        dialog.accept()
    else:
        tab.problems.append(f"unexpected {dialog.type} dialog: {dialog.message}")
        dialog.dismiss()


def shot(tab, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _set_up_and_log_in(tab, kiosk) -> None:
    code = ensure_setup_code(kiosk)  # what `keryu init` made and `keryu setup-code` prints
    assert code is not None
    tab.goto("/")
    assert tab.url.endswith("/setup")
    shot(tab, "01-first-run-setup")
    tab.fill("input[name=setup_code]", code.lower().replace("-", " "))  # typed the way people type
    tab.fill("input[name=password]", PASSWORD)
    tab.fill("input[name=confirm]", PASSWORD)
    tab.click("text=Fijar contraseña")
    tab.wait_for_url("**/subjects")
    tab.click("text=Cerrar sesión")
    tab.wait_for_url("**/login")
    shot(tab, "02-login")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button:has-text('Iniciar sesión')")
    tab.wait_for_url(re.compile(r".*/$"))
    shot(tab, "03-dashboard")


def _add_subject(tab, name: str, phone: str) -> None:
    tab.goto("/subjects/new")
    tab.fill("input[name=name]", name)
    tab.fill("input[name=custodian_name]", "María")
    tab.fill("input[name=phone]", phone)
    tab.click("text=Agregar persona y emitir una tarjeta")
    tab.wait_for_url(re.compile(r".*/subjects/\d+$"))


def _open_live_alarms(context):
    alarms = context.new_page()
    alarms.on("pageerror", lambda error: pytest.fail(f"script error on the alarm list: {error}"))
    alarms.goto("/alarms")
    alarms.wait_for_selector("body.connected", timeout=10_000)  # the event stream is open
    alarms.evaluate("window.__notReloaded = true")
    return alarms


def test_a_new_admin_sets_up_adds_a_subject_prints_a_card_and_sees_the_alarm_delivered(page, kiosk, standin, tmp_path):
    _set_up_and_log_in(page, kiosk)

    # A Mexican number typed the way people type it.
    page.click("text=Agregar una persona")
    shot(page, "04-add-subject")
    _add_subject(page, "Ana López", "55 1234 5678")
    assert page.locator("input[name=phone]").input_value() == "+525512345678"
    shot(page, "05-subject")

    # A new card (with the confirmation), then its PNG downloaded and read back.
    page.click("text=Emitir una tarjeta nueva")
    page.wait_for_selector("text=Se emitió la tarjeta nueva")
    with kiosk.store.read() as session:
        subject = session.query(Subject).one()
        card = next(c for c in subject.cards if c.active)
    with page.expect_download() as download_info:
        page.locator("tr:not(.inactive) a:has-text('PNG')").click()
    png = tmp_path / "card.png"
    download_info.value.save_as(png)
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.read_bytes())))
    assert code.text == f"{kiosk.settings.public_url}/scan/{card.uuid}"

    # The alarm list open in another tab; the scan simulated from the card page.
    alarms = _open_live_alarms(page.context)
    shot(alarms, "06-alarms-before-scan")
    page.goto(f"/scan/{card.uuid}")
    shot(page, "07-card-page")
    page.click("text=Simular un escaneo")
    page.wait_for_url(re.compile(r".*/alarms/\d+$"))
    alarm_id = int(page.url.rsplit("/", 1)[1])

    row = alarms.locator(f'tr[data-alarm-id="{alarm_id}"]')
    row.locator("[data-field=notification_status]").filter(has_text="SENT").wait_for(timeout=LIVE_TIMEOUT_MS)
    assert row.locator("[data-field=subject_name]").inner_text() == "Ana López"
    assert alarms.evaluate("window.__notReloaded") is True  # it arrived live, without a reload
    live_time = row.locator("[data-field=created_at]").inner_text()
    assert alarms.locator("html").get_attribute("lang") == "es"
    shot(alarms, "08-alarm-sent-live")
    page.locator("[data-field=notification_status]").filter(has_text="SENT").wait_for(timeout=LIVE_TIMEOUT_MS)
    shot(page, "09-alarm-detail")
    # The browser writes a live row's time as the server writes it: Spanish, the kiosk's zone.
    alarms.reload()
    served_time = alarms.locator(f'tr[data-alarm-id="{alarm_id}"] [data-field=created_at]').inner_text()
    assert " ".join(live_time.split()) == " ".join(served_time.split())
    assert re.fullmatch(r"\d{1,2} [a-z]{3} \d{4}, \d{1,2}:\d{2}:\d{2} [ap]\.m\.", " ".join(served_time.split()))
    [sent] = [r for r in standin.accepted if r.provider == "meta"]
    assert sent.body["to"] == "525512345678"

    # The channel, then a test message through it.
    page.goto("/settings")
    page.check("input[name=channel][value='3']")
    page.click("text=Guardar canal")
    page.wait_for_selector("text=canal 3, Twilio SMS")
    with kiosk.store.read() as session:
        assert get_channel(session) == 3
    shot(page, "10-settings")
    page.fill("input[name=phone]", "55 1234 5678")
    page.click("text=Enviar mensaje de prueba")
    page.wait_for_url(re.compile(r".*/alarms/\d+$"))
    page.locator("[data-field=notification_status]").filter(has_text="SENT").wait_for(timeout=LIVE_TIMEOUT_MS)
    shot(page, "11-test-message-sent")
    twilio = [r for r in standin.accepted if r.provider == "twilio"]
    assert [r.body["To"] for r in twilio] == ["+5215512345678"]  # the contract's Mexican rule for SMS

    page.goto("/health")
    shot(page, "12-health")
    assert page.locator("td:has-text('base de datos') + td").inner_text() == "bien"  # database: ok, in Spanish


def test_an_attacker_meets_login_csrf_and_escaping(page, kiosk, site):
    import requests

    # Without a session every page leads to setup or login, and the API says 401.
    for path in ("/subjects", "/alarms", "/settings"):
        response = requests.get(site + path, allow_redirects=False, timeout=5)
        assert response.status_code == 303 and response.headers["Location"] in ("/setup", "/login")
    # A card's page is open to finders' phones, but a card the kiosk does not have is a plain 404.
    assert requests.get(site + "/scan/0b8c6f4e-1f2a-4c3d-9e8f-1a2b3c4d5e6f", timeout=5).status_code == 404
    assert requests.get(site + "/api/alarms", timeout=5).status_code == 401
    # A DNS-rebinding page reaches the kiosk under its own name: refused before anything else.
    assert requests.get(site + "/setup", headers={"Host": "rebind.attacker.example"}, timeout=5).status_code == 421

    _set_up_and_log_in(page, kiosk)
    # A forged form posted from the logged-in browser, without the page's CSRF token.
    page.evaluate(
        """() => fetch('/subjects', {method: 'POST', credentials: 'same-origin',
             headers: {'Content-Type': 'application/x-www-form-urlencoded'},
             body: 'name=Mallory&phone=5512345678'}).then(r => { window.__forged = r.status; })"""
    )
    page.wait_for_function("window.__forged !== undefined")
    assert page.evaluate("window.__forged") == 403

    # A subject named like a script is text everywhere, including rows added live by script.
    alarms = _open_live_alarms(page.context)
    _add_subject(page, SCRIPT, "+52 33 1234 5678")
    for path in ("/subjects", page.url):
        page.goto(path)
        assert page.locator(f"text={SCRIPT}").count() >= 1
    with kiosk.store.read() as session:
        assert [s.name for s in session.query(Subject)] == [SCRIPT]
        card = next(c for c in session.query(Subject).one().cards if c.active)
    page.goto(f"/scan/{card.uuid}")
    page.click("text=Simular un escaneo")
    page.wait_for_url(re.compile(r".*/alarms/\d+$"))
    alarm_id = int(page.url.rsplit("/", 1)[1])
    cell = alarms.locator(f'tr[data-alarm-id="{alarm_id}"] [data-field=subject_name]')
    cell.wait_for(timeout=LIVE_TIMEOUT_MS)
    assert cell.inner_text() == SCRIPT
    shot(alarms, "13-script-name-escaped")
    with kiosk.store.read() as session:
        assert session.get(Alarm, alarm_id).subject_name == SCRIPT
