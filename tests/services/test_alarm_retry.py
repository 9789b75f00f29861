"""An admin's retry of a FAILED alarm sends it again, whatever made it fail: every channel refused it,
or the provider took it and then reported it undeliverable (the retry must not treat the old
message as sent)."""

from __future__ import annotations

import pytest

from appliance.messaging.twilio_common import provider_status
from appliance.services import delivery
from appliance.services.alarms import get_alarm, retry_alarm
from appliance.services.kiosk import Kiosk
from appliance.services.parameters import set_channel
from appliance.services.scans import ScanSource, record_scan
from appliance.services.status_updates import apply_provider_status
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.models import AlarmStatus

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
# Only Twilio SMS has credentials: a message it reports undeliverable has no other channel to move to.
SMS_ONLY = {"WHATSAPP_ACCESS_TOKEN": "", "TWILIO_WHATSAPP_NUMBER": ""}


@pytest.fixture
def live(fake_clock, kiosk: Kiosk, kiosk_env: dict[str, str]) -> Kiosk:
    """The kiosk wired to the stand-in (`deliver` is called directly, as the worker would)."""
    return kiosk


def _alarm(kiosk: Kiosk) -> int:
    card = add_subject(kiosk, SubjectInput("Ana López", "+5212345678901", "María"))
    with kiosk.store.session() as session:
        set_channel(session, 3)
    result = record_scan(kiosk, card.uuid, ScanSource.FILE)
    assert result.alarm_id is not None
    return result.alarm_id


@pytest.mark.parametrize("settings", [SMS_ONLY], indirect=True)
def test_a_retry_after_the_provider_reported_undeliverable_sends_a_new_message(live, standin):
    alarm_id = _alarm(live)
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT
    first = get_alarm(live, alarm_id).message_sid
    apply_provider_status(live, provider_status(first, "undelivered", 30003))
    assert get_alarm(live, alarm_id).notification_status == "FAILED"

    assert retry_alarm(live, alarm_id).notification_status == "PENDING"
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT
    alarm = get_alarm(live, alarm_id)
    assert len(standin.accepted) == 2 and alarm.message_sid == standin.accepted[1].message_id != first
    assert standin.accepted[1].body["To"] == "+5212345678901"  # the seed's number, in Twilio's form
    assert [attempt.outcome for attempt in alarm.attempts] == ["undelivered", "sent"]
    apply_provider_status(live, provider_status(first, "undelivered", 30003))  # a late word on the old message
    assert get_alarm(live, alarm_id).notification_status == "SENT"


def test_a_retry_after_every_channel_refused_tries_the_plan_again(live, standin):
    standin.script("meta", [{"error": 132001}])
    standin.script("twilio", [{"error": 21211}, {"error": 21610}])
    card = add_subject(live, SubjectInput("Ana López", "55 1234 5678", "María"))
    alarm_id = record_scan(live, card.uuid, ScanSource.FILE).alarm_id
    assert alarm_id is not None
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.FAILED
    retry_alarm(live, alarm_id)
    assert delivery.deliver(live, alarm_id).status is AlarmStatus.SENT
    assert get_alarm(live, alarm_id).channel == 1 and len(standin.accepted) == 1
