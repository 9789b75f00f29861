"""The store: schema rules enforced by the database itself, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError

from appliance.store.migrate import current_revision, head_revision, upgrade
from appliance.store.models import Alarm, Card, Custodian, Subject, SystemParameter

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def _subject(session) -> Subject:
    custodian = Custodian(name="María", phone="+525512345678")
    subject = Subject(name="Ana", custodian=custodian)
    session.add_all([custodian, subject])
    session.flush()
    return subject


def test_init_is_idempotent(store):
    assert current_revision(store) == head_revision()
    assert upgrade(store) == (head_revision(), head_revision())


def test_a_subject_has_at_most_one_active_card_enforced_by_the_database(store):
    with store.session() as session:
        subject = _subject(session)
        session.add(Card(uuid="00000000-0000-4000-8000-000000000001", subject_id=subject.id, active=True))
        session.add(Card(uuid="00000000-0000-4000-8000-000000000002", subject_id=subject.id, active=False))
        subject_id = subject.id
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(Card(uuid="00000000-0000-4000-8000-000000000003", subject_id=subject_id, active=True))


def test_card_uuids_are_unique(store):
    with store.session() as session:
        subject = _subject(session)
        session.add(Card(uuid="00000000-0000-4000-8000-000000000001", subject_id=subject.id, active=True))
        other = _subject(session)
        other_id = other.id
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(Card(uuid="00000000-0000-4000-8000-000000000001", subject_id=other_id, active=True))


def test_foreign_keys_are_enforced(store):
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(Card(uuid="00000000-0000-4000-8000-000000000009", subject_id=999, active=True))


def test_times_come_back_as_aware_utc(store):
    moment = datetime(2026, 11, 25, 12, 30, tzinfo=timezone(timedelta(hours=-6)))
    with store.session() as session:
        alarm = Alarm(subject_name="Ana", recipient_phone="+525512345678", created_at=moment)
        session.add(alarm)
        session.flush()
        alarm_id = alarm.id
    with store.read() as session:
        loaded = session.get(Alarm, alarm_id)
        assert loaded.created_at == moment and loaded.created_at.tzinfo == UTC


def test_naive_datetimes_are_refused(store):
    with pytest.raises(Exception, match="naive datetime"), store.session() as session:
        session.add(Alarm(subject_name="Ana", recipient_phone="+52", created_at=datetime(2026, 1, 1)))


def test_an_alarm_defaults_to_pending_and_unsent(store):
    with store.session() as session:
        alarm = Alarm(subject_name="Ana", recipient_phone="+525512345678")
        session.add(alarm)
        session.flush()
        assert (alarm.notification_status, alarm.notification_sent, alarm.notification_attempts) == (
            "PENDING",
            False,
            0,
        )


def test_a_failed_transaction_leaves_nothing(store):
    with pytest.raises(RuntimeError), store.session() as session:
        session.add(SystemParameter(key="channel", value="2"))
        session.flush()
        raise RuntimeError("power cut in the middle")
    with store.read() as session:
        assert session.get(SystemParameter, "channel") is None
