"""The dashboard's counts by status equal counting the alarms, whatever changes them, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import delete, func, select, text

from appliance.services.alarms import alarm_counts
from appliance.services.backup import backup_to
from appliance.services.restore import restore_from
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store import alarm_state
from appliance.store.db import Store
from appliance.store.migrate import MIGRATIONS_DIR, upgrade
from appliance.store.models import Alarm, AlarmStatus

PORTABLE = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def counted(kiosk) -> dict[str, int]:
    """The slow way: count the rows."""
    with kiosk.store.read() as session:
        rows = session.execute(select(Alarm.notification_status, func.count()).group_by(Alarm.notification_status))
        return {status: n for status, n in rows}


@PORTABLE
def test_counts_follow_scans_claims_sends_failures_and_deletions(kiosk):
    card = add_subject(kiosk, SubjectInput("Ana", "+525512345678"))
    ids = [record_scan(kiosk, card.uuid, ScanSource.CAMERA).alarm_id for _ in range(5)]
    assert alarm_counts(kiosk)["PENDING"] == 5
    now = kiosk.clock.now()
    with kiosk.store.session() as session:
        for alarm_id in ids[:3]:
            assert alarm_state.claim(session, alarm_id, now, "w:1", timedelta(minutes=1))
        alarm_state.mark_sent(session, ids[0], "w:1", 1, "wamid.1", "whatsapp_message_id", now)
        alarm_state.mark_failed(session, ids[1], "w:1", "no channel", now)
        alarm_state.claim(session, ids[0], now, "w:1", timedelta(minutes=1))  # done already: no change
    with kiosk.store.session() as session:
        session.execute(delete(Alarm).where(Alarm.id == ids[4]))
    counts = alarm_counts(kiosk)
    assert counts == {**dict.fromkeys(AlarmStatus, 0), "PENDING": 1, "PROCESSING": 1, "SENT": 1, "FAILED": 1}
    assert {status: n for status, n in counts.items() if n} == counted(kiosk)


@PORTABLE
def test_an_upgraded_database_starts_with_the_counts_of_its_alarms(database_url):
    store = Store(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = store.engine
    try:
        command.upgrade(config, "0003")
        with store.engine.begin() as conn:
            for status in ("SENT", "SENT", "FAILED"):
                conn.execute(
                    text(
                        "INSERT INTO alarms (subject_name, recipient_phone, created_at, location, is_test,"
                        " notification_status, notification_sent, notification_attempts, plan_position,"
                        " channel_attempts, updated_at) VALUES ('Ana', '+525512345678', CURRENT_TIMESTAMP, '',"
                        " false, :status, true, 1, 0, 0, CURRENT_TIMESTAMP)"
                    ),
                    {"status": status},
                )
        upgrade(store)
        with store.engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT status, count FROM alarm_status_counts")).all())
        assert rows == {**dict.fromkeys(AlarmStatus, 0), "SENT": 2, "FAILED": 1}
        command.downgrade(config, "0003")
        with store.engine.begin() as conn:  # the triggers are gone with the table
            conn.execute(text("UPDATE alarms SET notification_status = 'DELIVERED'"))
    finally:
        store.dispose()


def test_a_restored_backup_counts_its_own_alarms(kiosk, tmp_path):
    card = add_subject(kiosk, SubjectInput("Ana", "+525512345678"))
    for _ in range(3):
        record_scan(kiosk, card.uuid, ScanSource.CAMERA)
    backup = tmp_path / "three.db"
    backup_to(kiosk, backup)
    record_scan(kiosk, card.uuid, ScanSource.CAMERA)  # a fourth, after the backup
    restore_from(kiosk, backup)
    assert alarm_counts(kiosk)["PENDING"] == 3
    assert {status: n for status, n in alarm_counts(kiosk).items() if n} == counted(kiosk)
