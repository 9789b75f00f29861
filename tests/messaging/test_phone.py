"""Phone numbers as Mexican families type them: the seed's `+5212345678901`, old `044` prefixes,
numbers without a country code in KERYU_DEFAULT_REGION; stored in today's E.164, sent in each
channel's own form (CONTRACT "Channel formatting")."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from appliance.config import Settings
from appliance.errors import InvalidPhoneNumber
from appliance.messaging.base import Notification
from appliance.messaging.format import meta_recipient, twilio_number, twilio_whatsapp_address
from appliance.messaging.phone import read_phone
from appliance.messaging.twilio_whatsapp import TwilioWhatsApp
from tests.standins.providers import ProviderStandIn


@pytest.mark.parametrize(
    ("typed", "e164", "shown", "rewritten"),
    [
        ("+5212345678901", "+522345678901", "+52 234 567 8901", True),  # the seed's own example
        ("+52 1 55 1234 5678", "+525512345678", "+52 55 1234 5678", True),
        ("044 55 1234 5678", "+525512345678", "+52 55 1234 5678", True),  # a mobile as dialled before 2019
        ("01 33 1234 5678", "+523312345678", "+52 33 1234 5678", True),
        ("55-1234-5678", "+525512345678", "+52 55 1234 5678", False),
        ("+34 612 34 56 78", "+34612345678", "+34 612 34 56 78", False),
    ],
)
def test_a_typed_number_is_stored_in_todays_form_and_shown_back(typed, e164, shown, rewritten):
    reading = read_phone(typed)
    assert (reading.e164, reading.international, reading.rewritten) == (e164, shown, rewritten)


def test_the_seed_number_keeps_the_seeds_channel_forms():
    stored = read_phone("+5212345678901").e164
    assert meta_recipient(stored) == "522345678901"  # Meta: the stored number without '+'
    assert twilio_number(stored) == "+5212345678901"  # Twilio SMS: Mexico's old '1' put back
    assert twilio_whatsapp_address(stored) == "whatsapp:+5212345678901"


def test_a_number_without_country_code_takes_the_default_region():
    assert read_phone("415 555 2671", "US").e164 == "+14155552671"
    assert read_phone("415 555 2671", "MX").e164 == "+524155552671"
    assert read_phone("020 7946 0958", "gb").country == "United Kingdom"


@pytest.mark.parametrize("bad", ["12", "+52 55 1234", "+52 1 55 1234 56789", "+1 555 0100", "hello", ""])
def test_a_number_that_cannot_be_one_is_refused_in_one_sentence(bad):
    with pytest.raises(InvalidPhoneNumber, match="phone number"):
        read_phone(bad)


def test_044_is_only_an_old_mexican_prefix():
    with pytest.raises(InvalidPhoneNumber):
        read_phone("044 55 1234 5678", "US")


@pytest.mark.parametrize("configured", ["+14155238886", "whatsapp:+14155238886", " whatsapp:+14155238886 "])
def test_the_twilio_whatsapp_sender_gets_one_prefix_however_it_was_written(
    make_settings: Callable[..., Settings], standin: ProviderStandIn, notification: Notification, configured: str
) -> None:
    TwilioWhatsApp(make_settings(twilio_whatsapp_number=configured), timeout=(1.0, 0.4)).send(notification)
    assert standin.accepted[0].body["From"] == "whatsapp:+14155238886"
