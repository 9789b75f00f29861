"""Provider statuses move an alarm along the one state machine; repeats and unknown ids change nothing."""

from __future__ import annotations

import pytest

from appliance.messaging.base import ProviderStatus
from appliance.services import delivery
from appliance.services.parameters import set_channel
from appliance.services.scans import ScanSource, record_scan
from appliance.services.status_updates import apply_provider_status, poll_providers
from appliance.services.subjects import SubjectInput, add_subject
from appliance.store.models import Alarm

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def _sent_alarm(kiosk, channel: int = 1) -> Alarm:
    card = add_subject(kiosk, SubjectInput("Ana", "+525512345678"))
    with kiosk.store.session() as session:
        set_channel(session, channel)
    alarm_id = record_scan(kiosk, card.uuid, ScanSource.FILE).alarm_id
    delivery.deliver(kiosk, alarm_id)
    return _load(kiosk, alarm_id)


def _load(kiosk, alarm_id: int) -> Alarm:
    with kiosk.store.read() as session:
        return session.get(Alarm, alarm_id)


@pytest.mark.parametrize(
    ("states", "final_status", "final_provider_status"),
    [
        (["delivered"], "DELIVERED", "delivered"),
        (["delivered", "read"], "DELIVERED", "read"),
        (["read"], "DELIVERED", "read"),
        (["sent", "delivered"], "DELIVERED", "delivered"),
        (["failed"], "ERROR", "failed"),  # undeliverable: on to the next channel of the plan, due at once
        (["delivered", "delivered"], "DELIVERED", "delivered"),
        (["read", "delivered"], "DELIVERED", "read"),  # out of order: read is the furthest
        (["delivered", "failed"], "DELIVERED", "delivered"),  # a late failure cannot undo a delivery
    ],
)
def test_reported_statuses_move_a_sent_alarm(kiosk, kiosk_env, states, final_status, final_provider_status):
    alarm = _sent_alarm(kiosk)
    for state in states:
        assert apply_provider_status(kiosk, ProviderStatus(alarm.whatsapp_message_id, state, "131026", "undeliverable"))
    after = _load(kiosk, alarm.id)
    assert after.notification_status == final_status
    assert after.provider_status == final_provider_status
    assert after.notification_sent  # it was sent; the provider's word does not unsend it
    if final_status == "ERROR":
        assert "undeliverable" in after.notification_error and "131026" in after.notification_error


def test_a_repeated_status_changes_nothing(kiosk, kiosk_env):
    alarm = _sent_alarm(kiosk)
    status = ProviderStatus(alarm.whatsapp_message_id, "delivered")
    apply_provider_status(kiosk, status)
    first = _load(kiosk, alarm.id)
    apply_provider_status(kiosk, status)
    second = _load(kiosk, alarm.id)
    assert (first.updated_at, first.delivered_at) == (second.updated_at, second.delivered_at)


def test_an_unknown_message_id_is_ignored(kiosk, kiosk_env):
    assert apply_provider_status(kiosk, ProviderStatus("wamid.unknown", "delivered")) is False


def test_the_beat_polls_twilio_for_messages_still_sent(kiosk, kiosk_env, standin):
    alarm = _sent_alarm(kiosk, channel=3)
    assert poll_providers(kiosk) == 0  # still queued at Twilio
    standin.set_status(alarm.message_sid, "delivered")
    assert poll_providers(kiosk) == 1
    assert _load(kiosk, alarm.id).notification_status == "DELIVERED"
    assert poll_providers(kiosk) == 0  # delivered alarms are not asked about again


def test_twilio_undelivered_moves_on_to_the_next_channel_with_the_error(kiosk, kiosk_env, standin):
    alarm = _sent_alarm(kiosk, channel=2)
    standin.set_status(alarm.message_sid, "undelivered", error_code=63016)
    poll_providers(kiosk)
    after = _load(kiosk, alarm.id)
    assert after.notification_status == "ERROR" and "63016" in after.notification_error
    assert after.channel_plan[after.plan_position] != 2 and after.message_sid is None
