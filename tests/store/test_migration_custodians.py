"""Migration 0004 keeps every existing subject's phone as its first custodian, and every alarm as it was."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from appliance.store.db import Store
from appliance.store.migrate import MIGRATIONS_DIR, upgrade
from appliance.store.models import Alarm, Custodian, Subject

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def _insert(conn, sql: str, **values) -> int:
    return conn.execute(text(sql + " RETURNING id"), values).scalar_one()


def test_each_subjects_phone_becomes_its_first_custodian(database_url):
    store = Store(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = store.engine
    try:
        command.upgrade(config, "0003")
        with store.engine.begin() as conn:
            custodian = "INSERT INTO custodians (name, phone, created_at) VALUES (:name, :phone, CURRENT_TIMESTAMP)"
            subject = (
                "INSERT INTO subjects (name, custodian_id, notes, active, created_at)"
                " VALUES (:name, :custodian, '', true, CURRENT_TIMESTAMP)"
            )
            maria = _insert(conn, custodian, name="María", phone="+525512345678")
            shared = _insert(conn, custodian, name="Front desk", phone="+525587654321")
            ana = _insert(conn, subject, name="Ana", custodian=maria)
            luis = _insert(conn, subject, name="Luis", custodian=shared)
            eva = _insert(conn, subject, name="Eva", custodian=shared)  # one custodian row for two subjects
            conn.execute(
                text(
                    "INSERT INTO alarms (subject_id, subject_name, recipient_phone, created_at, location, is_test,"
                    " notification_status, notification_sent, notification_attempts, plan_position,"
                    " channel_attempts, updated_at, whatsapp_message_id, channel) VALUES (:ana, 'Ana',"
                    " '+525512345678', CURRENT_TIMESTAMP, 'Gate', false, 'DELIVERED', true, 1, 0, 0,"
                    " CURRENT_TIMESTAMP, 'wamid.1', 1)"
                ),
                {"ana": ana},
            )
        upgrade(store)
        with store.read() as session:
            custodians = {
                subject.name: [(c.name, c.phone, c.position, c.active, c.language) for c in subject.custodians]
                for subject in session.scalars(select(Subject))
            }
            assert custodians == {
                "Ana": [("María", "+525512345678", 0, True, "es")],
                "Luis": [("Front desk", "+525587654321", 0, True, "es")],
                "Eva": [("Front desk", "+525587654321", 0, True, "es")],
            }
            for subject_id in (ana, luis, eva):  # the seed's pointer names each subject's own first custodian
                subject = session.get(Subject, subject_id)
                assert session.get(Custodian, subject.custodian_id).subject_id == subject_id
            alarm = session.scalars(select(Alarm)).one()
            assert (alarm.custodian_id, alarm.recipient_name, alarm.parent_id, alarm.role) == (
                maria,
                "María",
                None,
                "custodian",
            )
            assert (alarm.notification_status, alarm.whatsapp_message_id, alarm.channel) == ("DELIVERED", "wamid.1", 1)
    finally:
        store.dispose()
