"""A subject's custodians: each is told of every alarm exactly once, through the channel plan of their own.

In-process against the real provider stand-in on loopback, on SQLite and PostgreSQL; the
worker's part (`deliver`) is called directly, as the worker would for each queued id.
"""

from __future__ import annotations

import pytest

from appliance.errors import NotFound, UserError
from appliance.messaging.base import ProviderStatus
from appliance.services import delivery
from appliance.services.alarms import get_alarm, list_alarms
from appliance.services.custodians import add_custodian, delivery_ids, list_custodians, remove_custodian
from appliance.services.parameters import set_channel
from appliance.services.scans import ScanSource, record_scan
from appliance.services.status_updates import apply_provider_status
from appliance.services.subjects import SubjectInput, add_subject, get_subject

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)

MARIA = "+525512345678"
JORGE = "+525587654321"


def recipient(request) -> str:
    """Who a provider request was addressed to, as E.164 without the channels' decorations."""
    digits = "".join(ch for ch in request.body.get("to") or request.body.get("To") if ch.isdigit())
    return "+" + ("52" + digits[3:] if digits.startswith("521") and len(digits) == 13 else digits)


def _family(kiosk, channel: int = 1) -> tuple[int, str]:
    """Ana, whose mother María is her first custodian and whose uncle Jorge is the second."""
    card = add_subject(kiosk, SubjectInput("Ana López", MARIA, "María"))
    add_custodian(kiosk, card.subject_id, "Jorge", "55 8765 4321", "en")
    with kiosk.store.session() as session:
        set_channel(session, channel)
    return card.subject_id, card.uuid


def _scan(kiosk, card_uuid: str) -> int:
    result = record_scan(kiosk, card_uuid, ScanSource.FILE)
    assert result.alarm_id is not None
    return result.alarm_id


def test_a_scan_tells_both_custodians_exactly_once(kiosk, kiosk_env, standin):
    _, card_uuid = _family(kiosk)
    alarm_id = _scan(kiosk, card_uuid)
    ids = delivery_ids(kiosk, alarm_id)
    assert len(ids) == 2 and ids[0] == alarm_id
    for _ in range(2):  # a redelivered queue message finds nothing left to send
        for notification_id in ids:
            delivery.deliver(kiosk, notification_id)
    assert sorted(recipient(request) for request in standin.accepted) == sorted([MARIA, JORGE])
    record = get_alarm(kiosk, alarm_id).record()
    assert record["notification_status"] == "SENT" and record["whatsapp_message_id"]
    notes = record["notifications"]
    assert [(note["custodian"], note["phone"], note["status"], note["channel"]) for note in notes] == [
        ("María", MARIA, "SENT", 1),
        ("Jorge", JORGE, "SENT", 1),
    ]
    assert notes[0]["whatsapp_message_id"] == record["whatsapp_message_id"]  # the seed fields are María's
    assert {note["whatsapp_message_id"] for note in notes} == {request.message_id for request in standin.accepted}
    assert [alarm.id for alarm in list_alarms(kiosk)] == [alarm_id]  # one alarm, two notifications


def test_each_custodian_is_written_to_in_their_own_language(kiosk, kiosk_env, standin):
    _, card_uuid = _family(kiosk)  # a Spanish kiosk; María reads Spanish, Jorge English
    for notification_id in delivery_ids(kiosk, _scan(kiosk, card_uuid)):
        delivery.deliver(kiosk, notification_id)
    languages = {recipient(request): request.body["template"]["language"]["code"] for request in standin.accepted}
    assert languages == {MARIA: "es_MX", JORGE: "en_US"}


@pytest.mark.parametrize("settings", [{"TWILIO_WHATSAPP_NUMBER": ""}], indirect=True)
def test_an_sms_to_an_english_custodian_is_in_english(kiosk, kiosk_env, standin):
    _, card_uuid = _family(kiosk, channel=3)
    for notification_id in delivery_ids(kiosk, _scan(kiosk, card_uuid)):
        delivery.deliver(kiosk, notification_id)
    texts = {recipient(request): request.body["Body"] for request in standin.accepted}
    assert texts[JORGE].startswith("Keryu alert: the card of Ana López was scanned")
    assert texts[MARIA].startswith("Alerta de Keryu: la tarjeta de Ana López se escaneó")


def test_a_status_report_finds_the_custodian_it_is_about(kiosk, kiosk_env, standin):
    _, card_uuid = _family(kiosk)
    alarm_id = _scan(kiosk, card_uuid)
    for notification_id in delivery_ids(kiosk, alarm_id):
        delivery.deliver(kiosk, notification_id)
    jorge = get_alarm(kiosk, alarm_id).notifications[1]
    assert apply_provider_status(kiosk, ProviderStatus(jorge.whatsapp_message_id, "delivered"))
    notes = get_alarm(kiosk, alarm_id).record()["notifications"]
    assert [note["status"] for note in notes] == ["SENT", "DELIVERED"]


@pytest.mark.parametrize("settings", [{"TWILIO_WHATSAPP_NUMBER": ""}], indirect=True)  # Meta, then SMS
def test_an_undeliverable_whatsapp_moves_on_to_sms_for_that_custodian_only(kiosk, kiosk_env, standin):
    _, card_uuid = _family(kiosk, channel=1)
    alarm_id = _scan(kiosk, card_uuid)
    for notification_id in delivery_ids(kiosk, alarm_id):
        delivery.deliver(kiosk, notification_id)
    jorge = get_alarm(kiosk, alarm_id).notifications[1]
    failed = ProviderStatus(jorge.whatsapp_message_id, "failed", "131026", "Message undeliverable")
    assert apply_provider_status(kiosk, failed)
    assert [note.status for note in get_alarm(kiosk, alarm_id).notifications] == ["SENT", "ERROR"]
    delivery.deliver(kiosk, jorge.alarm_id)  # the wake-up the report queued
    delivery.deliver(kiosk, jorge.alarm_id)  # and a duplicate of it: nothing more is sent
    sends = standin.accepted
    assert [(request.provider, recipient(request)) for request in sends] == [
        ("meta", MARIA),
        ("meta", JORGE),
        ("twilio", JORGE),
    ]
    assert sends[2].path.endswith("/Messages.json") and not sends[2].body["To"].startswith("whatsapp:")
    notes = get_alarm(kiosk, alarm_id).notifications
    assert [(note.status, note.channel) for note in notes] == [("SENT", 1), ("SENT", 3)]
    assert notes[1].message_sid == sends[2].message_id and notes[1].whatsapp_message_id is None
    assert apply_provider_status(kiosk, failed) is False  # a late report on the first message finds nothing


def test_undeliverable_twice_is_failed_once_the_move_is_spent(kiosk, kiosk_env, standin):
    _, card_uuid = _family(kiosk, channel=2)
    alarm_id = _scan(kiosk, card_uuid)
    delivery.deliver(kiosk, alarm_id)
    first = get_alarm(kiosk, alarm_id)
    apply_provider_status(kiosk, ProviderStatus(first.message_sid, "failed", "63016", "no"))
    delivery.deliver(kiosk, alarm_id)
    moved = get_alarm(kiosk, alarm_id)
    assert moved.notification_status == "SENT" and moved.channel == 1
    apply_provider_status(kiosk, ProviderStatus(moved.whatsapp_message_id, "failed", "131026", "undeliverable"))
    after = get_alarm(kiosk, alarm_id)
    assert after.notification_status == "FAILED" and "131026" in after.notification_error
    assert len([r for r in standin.accepted if recipient(r) == MARIA]) == 2


def test_custodians_are_listed_in_order_and_the_first_is_the_alarms_own(kiosk):
    card = add_subject(kiosk, SubjectInput("Ana López", MARIA, "María"))
    jorge = add_custodian(kiosk, card.subject_id, "Jorge", JORGE)
    assert [(c.name, c.position) for c in list_custodians(kiosk, card.subject_id)] == [("María", 0), ("Jorge", 1)]
    maria = list_custodians(kiosk, card.subject_id)[0]
    remove_custodian(kiosk, maria.id)
    subject = get_subject(kiosk, card.subject_id)
    assert (subject.custodian_name, subject.custodian_phone) == ("Jorge", JORGE)  # the seed's custodian moved on
    assert [c["name"] for c in subject.as_json()["custodians"]] == ["Jorge"]
    with pytest.raises(UserError, match="only custodian"):
        remove_custodian(kiosk, jorge.id)
    with pytest.raises(NotFound):
        remove_custodian(kiosk, maria.id)


@pytest.mark.parametrize(
    ("name", "phone", "language", "message"),
    [
        ("", MARIA, "es", "must not be empty"),
        ("Jorge", "12", "es", "not a valid phone number"),
        ("Jorge", JORGE, "fr", "es or en"),
    ],
)
def test_a_custodian_typed_wrong_is_refused_in_one_sentence(kiosk, name, phone, language, message):
    card = add_subject(kiosk, SubjectInput("Ana López", MARIA, "María"))
    with pytest.raises(UserError, match=message):
        add_custodian(kiosk, card.subject_id, name, phone, language)
    assert len(list_custodians(kiosk, card.subject_id)) == 1


def test_a_removed_custodian_is_not_told_of_the_next_alarm(kiosk, kiosk_env, standin):
    subject_id, card_uuid = _family(kiosk)
    jorge = list_custodians(kiosk, subject_id)[1]
    remove_custodian(kiosk, jorge.id)
    alarm_id = _scan(kiosk, card_uuid)
    assert delivery_ids(kiosk, alarm_id) == [alarm_id]
    assert [note.custodian for note in get_alarm(kiosk, alarm_id).notifications] == ["María"]
