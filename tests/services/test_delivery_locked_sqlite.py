"""A real SQLite write lock, held by another connection while the provider accepts a send."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from appliance.config import Settings
from appliance.services import delivery
from appliance.services.alarms import get_alarm
from appliance.services.kiosk import Kiosk
from appliance.services.parameters import set_channel
from appliance.services.scans import ScanSource, record_scan
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store import db
from appliance.store.models import AlarmStatus
from tests.store.write_lock import hold_write_lock

BUSY_TIMEOUT_MS = 100  # the kiosk's 10 s, shortened so that a lock of a second refuses several writes


@pytest.fixture
def impatient(
    monkeypatch: pytest.MonkeyPatch, fake_clock, kiosk: Kiosk, settings: Settings, kiosk_env
) -> Iterator[Kiosk]:
    """A second kiosk on the same file whose writes give up after 0.1 s of waiting for the lock."""
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS)
    impatient = Kiosk.from_settings(settings, clock=fake_clock)
    yield impatient
    impatient.close()


def test_a_locked_database_after_the_provider_accepted_does_not_send_twice(impatient, standin, caplog):
    card = add_subject(impatient, SubjectInput("Ana López", "55 1234 5678", "María"))
    with impatient.store.session() as session:
        set_channel(session, 1)
    alarm_id = record_scan(impatient, card.uuid, ScanSource.FILE).alarm_id
    path = make_url(impatient.store.url).database
    holders = []
    standin.on_accept = lambda _: holders.append(hold_write_lock(path, 0.6))  # the scanner's long write
    with caplog.at_level(logging.WARNING, logger=delivery.__name__):
        result = delivery.deliver(impatient, alarm_id)
    holders[0].join()
    alarm = get_alarm(impatient, alarm_id)
    assert "database is locked" in caplog.text  # the lock really refused writes
    assert result.status is AlarmStatus.SENT and alarm.notification_status == "SENT"
    assert alarm.whatsapp_message_id == standin.accepted[0].message_id
    impatient.clock.advance(delivery.claim_lease(impatient).total_seconds() + 1)
    assert delivery.deliver(impatient, alarm_id).status is None
    assert len(standin.requests) == 1
