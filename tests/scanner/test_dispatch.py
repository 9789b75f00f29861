"""The dispatcher queues accepted alarms off the frame loop; what it cannot queue is left for the sweeper."""

from __future__ import annotations

from sqlalchemy import select

from appliance.scanner.dispatch import Dispatcher
from appliance.services.scans import ScanSource, record_scan
from appliance.store.models import Alarm
from tests.scanner.conftest import add_card


def test_an_alarm_redis_refuses_stays_pending_and_due_for_the_sweeper(kiosk):
    result = record_scan(kiosk, add_card(kiosk), ScanSource.CAMERA)
    dispatcher = Dispatcher(kiosk)
    dispatcher.submit(result)
    dispatcher.close()  # this kiosk's Redis is a closed port
    with kiosk.store.read() as session:
        alarm = session.scalars(select(Alarm)).one()
    assert (alarm.notification_status, alarm.enqueued_at) == ("PENDING", None)
