"""Several custodians end to end: a real Redis, a real `keryu worker` (with its beat) and the loopback stand-in."""

from __future__ import annotations

import pytest

from appliance.messaging.base import ProviderStatus
from appliance.services.alarms import get_alarm
from appliance.services.custodians import add_custodian
from appliance.services.kiosk import Kiosk
from appliance.services.parameters import set_channel
from appliance.services.scans import ScanSource, handle_scan
from appliance.services.status_updates import apply_provider_status
from appliance.services.subjects import SubjectInput, add_subject
from tests.conftest import wait_until
from tests.services.test_custodians import recipient

pytestmark = pytest.mark.integration

ROSA = "+525587654321"
PEDRO = "+525512345678"
DUTY = "+525511223344"


@pytest.fixture
def kiosk_env(kiosk_env: dict[str, str]) -> dict[str, str]:
    """The kiosk of these tests has an on-duty contact, told after three seconds (0.05 minutes)."""
    return {**kiosk_env, "KERYU_DUTY_PHONE": DUTY, "KERYU_ESCALATE_AFTER": "0.05", "TWILIO_WHATSAPP_NUMBER": ""}


def _scan_luis(kiosk: Kiosk, channel: int) -> int:
    """Luis, whose custodians are Rosa and Pedro, shows his card."""
    card = add_subject(kiosk, SubjectInput("Luis Pérez", ROSA, "Rosa"))
    add_custodian(kiosk, card.subject_id, "Pedro", PEDRO)
    with kiosk.store.session() as session:
        set_channel(session, channel)
    result = handle_scan(kiosk, f"http://keryu.local/scan/{card.uuid}", ScanSource.FILE)
    assert result.alarm_id is not None
    return result.alarm_id


def _statuses(kiosk: Kiosk, alarm_id: int) -> list[str]:
    return [note.status for note in get_alarm(kiosk, alarm_id).notifications]


def test_both_custodians_are_told_exactly_once(kiosk, chatty_worker, standin):
    alarm_id = _scan_luis(kiosk, channel=1)
    wait_until(lambda: _statuses(kiosk, alarm_id) == ["SENT", "SENT"], 20, what="both notifications SENT")
    sends = standin.wait_for(2)
    assert sorted(recipient(request) for request in sends) == sorted([ROSA, PEDRO])
    wait_until(lambda: chatty_worker.log().count("alarms.tasks.sweep_outbox") >= 2, 40, what="a sweep after the sends")
    assert len(standin.requests) == 2  # neither the sweeper nor a redelivery sent anything again


def test_pedros_undeliverable_whatsapp_goes_out_again_by_sms(kiosk, worker, standin):
    alarm_id = _scan_luis(kiosk, channel=1)
    wait_until(lambda: _statuses(kiosk, alarm_id) == ["SENT", "SENT"], 20, what="both notifications SENT")
    pedro = get_alarm(kiosk, alarm_id).notifications[1]
    apply_provider_status(kiosk, ProviderStatus(pedro.whatsapp_message_id, "failed", "131026", "undeliverable"))
    wait_until(lambda: len(standin.accepted) == 3, 20, what="the SMS to Pedro")
    sms = standin.accepted[2]
    assert sms.provider == "twilio" and sms.body["To"] == "+5215512345678" and "Luis Pérez" in sms.body["Body"]
    wait_until(lambda: _statuses(kiosk, alarm_id) == ["SENT", "SENT"], 20, what="Pedro's SMS SENT")
    assert [note.channel for note in get_alarm(kiosk, alarm_id).notifications] == [1, 3]


def test_nobody_reached_in_time_tells_the_duty_phone_exactly_once(kiosk, chatty_worker, standin):
    alarm_id = _scan_luis(kiosk, channel=3)  # SMS, whose delivery the beat's poll would learn of
    wait_until(lambda: any(recipient(r) == DUTY for r in standin.accepted), 60, what="the duty phone told")
    checks = chatty_worker.log().count("alarms.tasks.escalate_alarms")
    wait_until(lambda: chatty_worker.log().count("alarms.tasks.escalate_alarms") > checks, 45, what="another check")
    duty = [request for request in standin.accepted if recipient(request) == DUTY]
    assert len(duty) == 1 and "No se ha podido avisar a ningún responsable" in duty[0].body["Body"]
    assert get_alarm(kiosk, alarm_id).escalation.status in ("SENT", "DELIVERED")
