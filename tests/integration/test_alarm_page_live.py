"""The alarm page in a real browser while the worker sends: each custodian's row, and the
on-duty contact's line, change as the messages go out, without a reload (as the alarm's own
status does), through the same event stream.
"""

from __future__ import annotations

import pytest

from appliance.services import delivery
from appliance.services.custodians import add_custodian
from appliance.services.escalation import escalate
from appliance.services.scans import ScanSource, dispatch, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from tests.integration.test_admin_browser import (  # noqa: F401 (fixtures)
    LIVE_TIMEOUT_MS,
    _set_up_and_log_in,
    browser,
    page,
    shot,
    site,
)

pytestmark = pytest.mark.integration

DUTY_PHONE = "+525511112222"


def test_each_custodians_status_and_the_escalation_change_live_on_the_alarm_page(page, kiosk, standin):  # noqa: F811
    _set_up_and_log_in(page, kiosk)
    card = add_subject(kiosk, SubjectInput("Ana López", "55 1234 5678", "María"))
    add_custodian(kiosk, card.subject_id, "Jorge", "55 8765 4321")
    scan = record_scan(kiosk, card.uuid, ScanSource.FILE)  # recorded, not yet handed to the worker
    assert scan.alarm_id is not None

    page.goto(f"/alarms/{scan.alarm_id}")
    page.wait_for_selector("body.connected", timeout=10_000)  # the event stream is open
    page.evaluate("window.__notReloaded = true")
    rows = page.locator("tr[data-notification]")
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(2)] == ["María", "Jorge"]
    jorge = page.locator('tr[data-notification="1"] [data-note-field=status]')
    assert jorge.inner_text() == "PENDING"
    duty = page.locator("[data-section=escalation]")
    assert duty.is_hidden()

    dispatch(kiosk, scan)  # the worker sends both messages now
    jorge.filter(has_text="SENT").wait_for(timeout=LIVE_TIMEOUT_MS)
    page.locator('tr[data-notification="0"] [data-note-field=status]').filter(has_text="SENT").wait_for(
        timeout=LIVE_TIMEOUT_MS
    )
    assert page.locator('tr[data-notification="1"] [data-note-field=attempts]').inner_text() == "1"
    assert page.locator('tr[data-notification="1"] [data-note-field=message_id]').inner_text().startswith("wamid.")
    assert page.evaluate("window.__notReloaded") is True
    shot(page, "20-alarm-custodians-live")

    escalate(kiosk, scan.alarm_id, DUTY_PHONE, "ningún mensaje a los responsables se entregó en 10 minutos.")
    duty.locator("[data-note-field=status]").filter(has_text="SENT").wait_for(timeout=LIVE_TIMEOUT_MS)
    assert duty.is_visible()
    assert duty.locator("[data-note-field=phone]").inner_text() == DUTY_PHONE
    assert "ningún mensaje" in duty.locator("[data-note-field=reason]").inner_text()
    assert page.evaluate("window.__notReloaded") is True  # all of it arrived live
    shot(page, "21-alarm-escalation-live")
    assert sorted(r.body["to"] for r in standin.accepted if r.provider == "meta") == [
        "525511112222",
        "525512345678",
        "525587654321",
    ]


def test_a_skipped_channels_error_arrives_live_in_the_pages_spanish(page, kiosk, standin):  # noqa: F811
    """The error is stored in English (the contract's text); the event stream carries it to this
    Spanish page in Spanish, as the page's first drawing would."""
    _set_up_and_log_in(page, kiosk)
    card = add_subject(kiosk, SubjectInput("Ana López", "55 1234 5678", "María"))
    scan = record_scan(kiosk, card.uuid, ScanSource.FILE)
    assert scan.alarm_id is not None
    page.goto(f"/alarms/{scan.alarm_id}")
    page.wait_for_selector("body.connected", timeout=10_000)
    page.evaluate("window.__notReloaded = true")

    without_meta = kiosk.with_settings(kiosk.settings.model_copy(update={"whatsapp_access_token": None}))
    delivery.deliver(without_meta, scan.alarm_id)  # Meta skipped, then sent by SMS
    spanish = "Canal 1: Meta WhatsApp no tiene credenciales configuradas; se omitió"
    error = page.locator("[data-field=notification_error]")
    error.filter(has_text=spanish).wait_for(timeout=LIVE_TIMEOUT_MS)
    note = page.locator('tr[data-notification="0"] [data-note-field=error]')
    assert note.inner_text() == spanish
    assert "no credentials" not in error.inner_text()
    assert page.evaluate("window.__notReloaded") is True
