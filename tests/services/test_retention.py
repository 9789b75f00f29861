"""Old finished alarms and old scan events are removed; an alarm still being delivered is kept."""

from __future__ import annotations

from sqlalchemy import func, select, update

from appliance.services.retention import cleanup
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.models import Alarm, ScanEvent


def test_cleanup_keeps_a_year_and_never_drops_an_undelivered_alarm(fake_clock, kiosk):
    card = add_subject(kiosk, SubjectInput("Ana", "+525512345678"))
    old_sent, old_pending = (record_scan(kiosk, card.uuid, ScanSource.FILE).alarm_id for _ in range(2))
    record_scan(kiosk, "not a card", ScanSource.FILE)
    with kiosk.store.session() as session:
        session.execute(update(Alarm).where(Alarm.id == old_sent).values(notification_status="SENT"))
    kiosk.clock.advance(364 * 86400)
    assert cleanup(kiosk)["alarms"] == 0
    kiosk.clock.advance(2 * 86400)
    recent = record_scan(kiosk, card.uuid, ScanSource.FILE).alarm_id
    removed = cleanup(kiosk)
    assert removed["alarms"] == 1 and removed["scan_events"] == 3
    with kiosk.store.read() as session:
        assert sorted(session.scalars(select(Alarm.id))) == [old_pending, recent]
        assert session.scalar(select(func.count()).select_from(ScanEvent)) == 1
