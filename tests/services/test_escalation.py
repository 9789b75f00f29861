"""The on-duty contact is told once per alarm when no custodian was reached in time, or every one failed.

On fake time, against the real provider stand-in on loopback, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from appliance.messaging.base import ProviderStatus
from appliance.services import delivery, escalation
from appliance.services.alarms import get_alarm
from appliance.services.custodians import add_custodian, delivery_ids
from appliance.services.parameters import set_channel
from appliance.services.scans import ScanSource, record_scan
from appliance.services.status_updates import apply_provider_status
from appliance.services.subjects import SubjectInput, add_subject
from tests.services.test_custodians import recipient

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)

DUTY = "+525511223344"
ON_DUTY = {"KERYU_DUTY_PHONE": DUTY, "KERYU_ESCALATE_AFTER": "10"}
META_ONLY = {**ON_DUTY, "TWILIO_ACCOUNT_SID": ""}  # no Twilio: a Meta failure spends the plan


def _sent_alarm(kiosk, channel: int) -> int:
    """Ana's card scanned; her two custodians' messages accepted by the provider."""
    card = add_subject(kiosk, SubjectInput("Ana López", "+525512345678", "María"))
    add_custodian(kiosk, card.subject_id, "Jorge", "+525587654321")
    with kiosk.store.session() as session:
        set_channel(session, channel)
    alarm_id = record_scan(kiosk, card.uuid, ScanSource.FILE).alarm_id
    assert alarm_id is not None
    for notification_id in delivery_ids(kiosk, alarm_id):
        delivery.deliver(kiosk, notification_id)
    return alarm_id


def _duty_messages(standin) -> list:
    return [request for request in standin.accepted if recipient(request) == DUTY]


@pytest.mark.parametrize("settings", [ON_DUTY], indirect=True)
def test_nobody_reached_in_ten_minutes_tells_the_duty_phone_exactly_once(fake_clock, kiosk, kiosk_env, standin):
    alarm_id = _sent_alarm(kiosk, channel=3)  # SMS: Twilio's statuses are polled, so delivery can be known
    fake_clock.advance(9 * 60)
    assert escalation.escalate_due(kiosk) == 0
    fake_clock.advance(60)
    assert escalation.escalate_due(kiosk) == 1
    assert escalation.escalate_due(kiosk) == 0  # the next beat, and every one after it
    fake_clock.advance(3600)
    assert escalation.escalate_due(kiosk) == 0
    duty = get_alarm(kiosk, alarm_id).escalation
    assert duty is not None and duty.phone == DUTY and duty.status == "PENDING"
    delivery.deliver(kiosk, duty.alarm_id)
    delivery.deliver(kiosk, duty.alarm_id)  # a duplicate wake-up sends nothing
    [message] = _duty_messages(standin)
    text = message.body["Body"]
    assert "Ana López" in text and "25 nov 2026, 12:00 p.m. CST" in text  # the kiosk's Spanish
    assert "ningún mensaje a los responsables se entregó en 10 minutos" in text
    assert get_alarm(kiosk, alarm_id).escalation.status == "SENT"
    assert len(get_alarm(kiosk, alarm_id).record()["notifications"]) == 2  # the duty contact is not a custodian


@pytest.mark.parametrize("settings", [ON_DUTY], indirect=True)
def test_one_custodian_delivered_is_enough(fake_clock, kiosk, kiosk_env, standin):
    alarm_id = _sent_alarm(kiosk, channel=3)
    jorge = get_alarm(kiosk, alarm_id).notifications[1]
    standin.set_status(jorge.message_sid, "delivered")
    apply_provider_status(kiosk, ProviderStatus(jorge.message_sid, "delivered"))
    fake_clock.advance(3600)
    assert escalation.escalate_due(kiosk) == 0
    assert get_alarm(kiosk, alarm_id).escalation is None


@pytest.mark.parametrize("settings", [META_ONLY], indirect=True)
def test_every_custodian_failed_escalates_at_once(fake_clock, kiosk, kiosk_env, standin):
    alarm_id = _sent_alarm(kiosk, channel=1)
    for note in get_alarm(kiosk, alarm_id).notifications:
        apply_provider_status(kiosk, ProviderStatus(note.whatsapp_message_id, "failed", "131026", "undeliverable"))
    assert [note.status for note in get_alarm(kiosk, alarm_id).notifications] == ["FAILED", "FAILED"]
    assert escalation.escalate_due(kiosk) == 1
    duty = get_alarm(kiosk, alarm_id).escalation
    assert duty.reason == "falló el mensaje a cada responsable."
    delivery.deliver(kiosk, duty.alarm_id)
    [message] = _duty_messages(standin)
    params = [p["text"] for p in message.body["template"]["components"][0]["parameters"]]
    assert params[0] == "Ana López - falló el mensaje a cada responsable."


@pytest.mark.parametrize("settings", [META_ONLY], indirect=True)
def test_without_a_webhook_a_whatsapp_message_is_never_late(fake_clock, kiosk, kiosk_env, standin):
    alarm_id = _sent_alarm(kiosk, channel=1)  # SENT on Meta, which cannot report delivery here
    fake_clock.advance(3600)
    assert escalation.escalate_due(kiosk) == 0
    note = escalation.receipts_note(kiosk)
    assert "Meta WhatsApp" in note and "espera solo a los mensajes fallidos" in note
    note = get_alarm(kiosk, alarm_id).notifications[0]
    apply_provider_status(kiosk, ProviderStatus(note.whatsapp_message_id, "failed", "131026", "undeliverable"))
    assert escalation.escalate_due(kiosk) == 0  # Jorge's message may still have arrived


@pytest.mark.parametrize(
    "settings",
    [{**META_ONLY, "WHATSAPP_APP_SECRET": "s3cret", "KERYU_PUBLIC_URL": "https://kiosk.example.org"}],
    indirect=True,
)
def test_with_a_reachable_webhook_whatsapp_messages_can_be_late(fake_clock, kiosk, kiosk_env, standin):
    _sent_alarm(kiosk, channel=1)
    assert escalation.receipts_note(kiosk) is None
    fake_clock.advance(10 * 60)
    assert escalation.escalate_due(kiosk) == 1


def test_without_a_duty_phone_nobody_is_escalated_to(fake_clock, kiosk, kiosk_env, standin):
    alarm_id = _sent_alarm(kiosk, channel=3)
    fake_clock.advance(3600)
    assert escalation.escalate_due(kiosk) == 0
    assert get_alarm(kiosk, alarm_id).escalation is None
