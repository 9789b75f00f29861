"""A restored backup is not news: none of its alarms is published again, and publishing goes on after it."""

from __future__ import annotations

from appliance.services.backup import backup_to
from appliance.services.publish.events import Reader
from appliance.services.restore import restore_from
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject


def _scan(kiosk) -> int:
    card = add_subject(kiosk, SubjectInput("Luis Pérez", "+52 55 8765 4321", "Rosa"))
    alarm_id = record_scan(kiosk, card.uuid, ScanSource.CAMERA).alarm_id
    assert alarm_id is not None
    return alarm_id


def test_a_restore_publishes_none_of_the_restored_alarms_again(kiosk, tmp_path):
    reader = Reader(kiosk, "mqtt")
    reader.start()
    _scan(kiosk)
    backup_to(kiosk, tmp_path / "monday.db")
    restore_from(kiosk, tmp_path / "monday.db")
    _last, batch = reader.next_batch()  # the restore took the cursor too: it starts again at the newest
    assert batch == []
    alarm_id = _scan(kiosk)
    _last, batch = reader.next_batch()
    assert [(event.kind, event.alarm_id) for event in batch] == [("alarm", alarm_id), ("scan", alarm_id)]
