"""What the publishers read from the outbox: messages without phone numbers, in order, gaps handled."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import delete, select

from appliance.services.custodians import add_custodian
from appliance.services.publish import events
from appliance.services.publish.events import Reader, render
from appliance.services.retention import cleanup
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.models import Alarm, OutboxEvent

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def _scan(kiosk) -> int:
    card = add_subject(kiosk, SubjectInput("Luis Pérez", "+52 55 8765 4321", "Rosa"))
    add_custodian(kiosk, card.subject_id, "Jorge", "+52 55 1234 5678")
    alarm_id = record_scan(kiosk, card.uuid, ScanSource.CAMERA).alarm_id
    assert alarm_id is not None
    return alarm_id


def test_the_messages_of_a_scan_carry_the_record_and_no_phone_number(kiosk):
    reader = Reader(kiosk, "mqtt")
    reader.start()
    alarm_id = _scan(kiosk)
    _last, batch = reader.next_batch()
    alarm, scan = render(kiosk, batch)
    assert (alarm.kind, scan.kind) == ("alarm", "scan")
    assert alarm.payload["id"] == alarm_id and alarm.payload["event"]["status"] == "PENDING"
    assert alarm.payload["event"]["custodian"] == "Rosa" and alarm.payload["event"]["role"] == "custodian"
    assert [entry["custodian"] for entry in alarm.payload["notifications"]] == ["Rosa", "Jorge"]
    assert scan.payload["card_id"] and scan.payload["location"] == "Test gate" and scan.payload["source"] == "camera"
    text = json.dumps([alarm.payload, scan.payload])
    assert "phone" not in text and "8765" not in text and "1234 5678" not in text and "5512345678" not in text


def test_an_event_whose_alarm_is_gone_is_passed_with_nothing_to_say(kiosk):
    reader = Reader(kiosk, "webhook")
    reader.start()
    alarm_id = _scan(kiosk)
    with kiosk.store.session() as session:
        session.execute(delete(Alarm).where((Alarm.id == alarm_id) | (Alarm.parent_id == alarm_id)))
    _last, batch = reader.next_batch()
    assert [message.payload for message in render(kiosk, batch)] == [None, None]


def test_a_gap_in_the_ids_is_waited_for_only_where_a_slower_transaction_can_fill_it(kiosk, monkeypatch):
    monkeypatch.setattr(events, "GAP_WAIT", 0.3)
    reader = Reader(kiosk, "mqtt")
    start = reader.start()
    _scan(kiosk)
    _scan(kiosk)
    with kiosk.store.session() as session:
        ids = session.scalars(select(OutboxEvent.id).where(OutboxEvent.id > start).order_by(OutboxEvent.id)).all()
        session.execute(delete(OutboxEvent).where(OutboxEvent.id == ids[1]))  # as if still uncommitted
    _last, batch = reader.next_batch()
    if kiosk.store.engine.dialect.name == "postgresql":
        assert [event.id for event in batch] == ids[:1]  # the rest waits for the gap
        time.sleep(0.35)
        _last, batch = reader.next_batch()
    assert [event.id for event in batch] == [ids[0], *ids[2:]]


def test_without_a_publisher_the_retention_cleanup_empties_the_outbox(kiosk):
    _scan(kiosk)
    assert cleanup(kiosk)["outbox_events"] == 2
    with kiosk.store.read() as session:
        assert session.scalars(select(OutboxEvent)).all() == []
