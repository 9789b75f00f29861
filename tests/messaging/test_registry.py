"""The channel table: every channel fact the kiosk uses comes from the registered classes."""

from __future__ import annotations

import pytest

from appliance.errors import UserError
from appliance.messaging.registry import (
    CHANNEL_CLASSES,
    build_channels,
    channel_choices,
    channel_name,
    channel_names,
    pollable_numbers,
)
from appliance.services.parameters import get_channel, set_channel
from appliance.store.models import Alarm
from tests.standins.channels import Pager


@pytest.fixture
def pager(monkeypatch: pytest.MonkeyPatch) -> type[Pager]:
    """The stand-in registered as channel 4 for this test only."""
    monkeypatch.setitem(CHANNEL_CLASSES, Pager.number, Pager)
    return Pager


def test_the_contracts_three_channels_and_their_facts() -> None:
    assert channel_names() == {1: "Meta WhatsApp", 2: "Twilio WhatsApp", 3: "Twilio SMS"}
    assert [CHANNEL_CLASSES[n].message_id_field for n in (1, 2, 3)] == [
        "whatsapp_message_id",
        "message_sid",
        "message_sid",
    ]
    assert pollable_numbers() == (2, 3)
    assert channel_choices() == "1 (Meta WhatsApp), 2 (Twilio WhatsApp) or 3 (Twilio SMS)"


def test_every_class_is_registered_under_its_own_number_and_states_true_facts() -> None:
    for number, cls in CHANNEL_CLASSES.items():
        assert cls.number == number
        assert hasattr(Alarm, cls.message_id_field)
        assert cls.pollable == callable(getattr(cls, "fetch_status", None))


def test_names_of_no_channel_and_of_one_no_longer_registered() -> None:
    assert (channel_name(None), channel_name(2), channel_name(9)) == ("", "Twilio WhatsApp", "9")


def test_a_registered_fourth_channel_is_a_choice_everywhere(pager, store) -> None:
    assert channel_names()[4] == "Test pager" and pollable_numbers() == (2, 3, 4)
    with store.session() as session:
        assert set_channel(session, "4") == 4
    with store.read() as session:
        assert get_channel(session) == 4
    with store.session() as session, pytest.raises(UserError) as refused:
        set_channel(session, "5")
    assert str(refused.value) == (
        "Channel must be 1 (Meta WhatsApp), 2 (Twilio WhatsApp), 3 (Twilio SMS) or 4 (Test pager), not '5'."
    )


def test_a_channel_stored_but_no_longer_registered_falls_back_to_the_default(pager, store, monkeypatch) -> None:
    with store.session() as session:
        set_channel(session, 4)
    monkeypatch.delitem(CHANNEL_CLASSES, 4)
    with store.read() as session:
        assert get_channel(session) == 1


def test_the_channel_table_has_one_of_each_in_number_order(pager, settings) -> None:
    channels = build_channels(settings)
    assert [type(channel) for channel in channels.values()][-1] is Pager and list(channels) == [1, 2, 3, 4]
    with pytest.raises(TypeError):
        channels[5] = Pager(settings)  # type: ignore[index]
