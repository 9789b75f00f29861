"""The publishers' outbox: written in the change's own transaction, read per sink, pruned when passed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from appliance.services.custodians import add_custodian
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store import alarm_state, outbox_events
from appliance.store.models import Alarm, OutboxEvent

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)

OWNER = "host:1"
LEASE = timedelta(seconds=90)


def _events(kiosk) -> list[tuple[str, int | None, int | None, str | None]]:
    with kiosk.store.read() as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        return [(row.kind, row.alarm_id, row.row_id, row.status) for row in rows]


def _scan(kiosk) -> int:
    card = add_subject(kiosk, SubjectInput("Luis Pérez", "+52 55 8765 4321", "Rosa"))
    result = record_scan(kiosk, card.uuid, ScanSource.FILE)
    assert result.alarm_id is not None
    return result.alarm_id


def test_a_scan_and_each_status_change_are_in_the_outbox_in_order(kiosk):
    alarm_id = _scan(kiosk)
    now = kiosk.clock.now()
    with kiosk.store.session() as session:
        assert alarm_state.claim(session, alarm_id, now, OWNER, LEASE)
    with kiosk.store.session() as session:
        assert alarm_state.mark_sent(session, alarm_id, OWNER, 1, "wamid.1", "whatsapp_message_id", now)
    with kiosk.store.session() as session:  # a change that is no status change adds nothing
        session.execute(update(Alarm).where(Alarm.id == alarm_id).values(resolution_notes="seen"))
    assert _events(kiosk) == [
        ("alarm", alarm_id, alarm_id, "PENDING"),
        ("scan", alarm_id, alarm_id, None),
        ("alarm", alarm_id, alarm_id, "PROCESSING"),
        ("alarm", alarm_id, alarm_id, "SENT"),
    ]


def test_a_second_custodians_status_changes_come_under_the_alarm(kiosk):
    card = add_subject(kiosk, SubjectInput("Ana", "+52 55 8765 4321", "Rosa"))
    add_custodian(kiosk, card.subject_id, "Jorge", "+52 55 1234 5678")
    alarm_id = record_scan(kiosk, card.uuid, ScanSource.FILE).alarm_id
    with kiosk.store.read() as session:
        child_id = session.scalar(select(Alarm.id).where(Alarm.parent_id == alarm_id))
    with kiosk.store.session() as session:
        assert alarm_state.claim(session, child_id, kiosk.clock.now(), OWNER, LEASE)
    assert _events(kiosk)[-1] == ("alarm", alarm_id, child_id, "PROCESSING")
    assert [event for event in _events(kiosk) if event[2] == child_id] == [("alarm", alarm_id, child_id, "PROCESSING")]


def test_a_rolled_back_change_leaves_no_event(kiosk):
    alarm_id = _scan(kiosk)
    before = _events(kiosk)
    with pytest.raises(RuntimeError), kiosk.store.session() as session:
        assert alarm_state.claim(session, alarm_id, kiosk.clock.now(), OWNER, LEASE)
        raise RuntimeError("the transaction fails after the change")
    assert _events(kiosk) == before


def test_each_sink_has_its_own_cursor_and_pruning_waits_for_the_slowest(kiosk):
    with kiosk.store.session() as session:
        outbox_events.cursor(session, "mqtt")
        outbox_events.cursor(session, "webhook")
    _scan(kiosk)
    _scan(kiosk)
    with kiosk.store.session() as session:
        ids = [row.id for row in outbox_events.after(session, 0, 100)]
        assert len(ids) == 4
        outbox_events.advance(session, "mqtt", ids[-1], kiosk.clock.now())
        outbox_events.advance(session, "webhook", ids[1], kiosk.clock.now())
        assert outbox_events.backlog(session, "mqtt")[0] == 0
        assert outbox_events.backlog(session, "webhook")[0] == 2
        removed = outbox_events.prune(session, ["mqtt", "webhook"], kiosk.clock.now(), 20_000, timedelta(hours=1))
        assert removed == 2
        assert [row.id for row in outbox_events.after(session, 0, 100)] == ids[2:]
        # The webhook turned off: its cursor no longer holds anything back.
        assert outbox_events.prune(session, ["mqtt"], kiosk.clock.now(), 20_000, timedelta(hours=1)) == 2


def test_a_sink_gone_for_long_keeps_the_capped_backlog_but_at_least_the_last_hour(kiosk):
    with kiosk.store.session() as session:
        outbox_events.cursor(session, "mqtt")
    for _ in range(3):
        _scan(kiosk)  # six events, none passed
    now = kiosk.clock.now()
    with kiosk.store.session() as session:
        ids = [row.id for row in outbox_events.after(session, 0, 100)]
        # Within the hour nothing goes, however small the cap.
        assert outbox_events.prune(session, ["mqtt"], now, 2, timedelta(hours=1)) == 0
        # Two hours later the cap keeps the newest two.
        assert outbox_events.prune(session, ["mqtt"], now + timedelta(hours=2), 2, timedelta(hours=1)) == 4
        assert [row.id for row in outbox_events.after(session, 0, 100)] == ids[-2:]


def test_an_event_id_is_never_reused_after_everything_was_pruned(kiosk):
    _scan(kiosk)
    with kiosk.store.session() as session:
        first = outbox_events.newest_id(session)
        outbox_events.prune(session, [], kiosk.clock.now(), 20_000, timedelta(hours=1))
        assert outbox_events.newest_id(session) == 0
    _scan(kiosk)
    with kiosk.store.read() as session:
        assert min(row.id for row in outbox_events.after(session, 0, 100)) > first
