"""The seed's messaging checklist: message and phone formatting, channel selection, error handling,
template message structure, and card scan URLs. Pure: no server, no Redis, no database writes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from appliance.config import Settings, load_settings
from appliance.errors import (
    ChannelNotConfigured,
    InvalidPhoneNumber,
    KeryuError,
    PermanentSendError,
    SendError,
    TransientSendError,
)
from appliance.messaging.base import Notification
from appliance.messaging.errors import META_CODES, TWILIO_CODES, from_provider_code, parse_retry_after
from appliance.messaging.format import (
    clean_text,
    message_text,
    meta_recipient,
    twilio_number,
    twilio_whatsapp_address,
)
from appliance.messaging.meta_whatsapp import MetaWhatsApp
from appliance.messaging.phone import normalize_phone
from appliance.messaging.registry import CHANNEL_CLASSES, build_channels
from appliance.messaging.twilio_sms import TwilioSMS
from appliance.messaging.twilio_whatsapp import TwilioWhatsApp
from appliance.payload import ForeignPayload, parse_payload, scan_url
from appliance.services.delivery import channel_plan
from appliance.services.kiosk import Kiosk

NOTE = Notification(
    recipient_phone="+5212345678901",
    subject_name="Ana\tLópez",
    timestamp_text="25 nov 2026, 2:05 p.m. CST",
    location="Front\n gate",
)
META = {"whatsapp_phone_number_id": "106540352242922", "whatsapp_access_token": "EAAGtoken"}
TWILIO = {"twilio_account_sid": "AC" + "1" * 32, "twilio_auth_token": "t" * 32}
SMS = {**TWILIO, "twilio_phone_number": "+15005550006"}
WHATSAPP = {**TWILIO, "twilio_whatsapp_number": "+14155238886"}


# ---- message formatting ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("Hello   World\nTest   Message", "Hello World Test Message"),  # the seed's example
        ("  padded  ", "padded"),
        ("tabs\tand\r\nCRLF", "tabs and CRLF"),
        ("", ""),
    ],
)
def test_message_text_whitespace_is_collapsed(text: str, clean: str) -> None:
    assert clean_text(text) == clean


def test_free_form_text_names_subject_place_and_time_on_one_line() -> None:
    assert message_text(NOTE) == (
        "Alerta de Keryu: la tarjeta de Ana López se escaneó en Front gate el 25 nov 2026, 2:05 p.m. CST."
    )


def test_a_test_message_says_so_first() -> None:
    test_note = Notification(**{**NOTE.__dict__, "is_test": True})
    assert message_text(test_note).startswith("MENSAJE DE PRUEBA, no hace falta hacer nada. Alerta de Keryu:")


def test_twilio_channels_send_the_cleaned_text() -> None:
    settings = load_settings(**{**SMS, **WHATSAPP})
    assert TwilioSMS(settings).message_fields(NOTE)["body"] == message_text(NOTE)
    assert TwilioWhatsApp(settings).message_fields(NOTE)["body"] == message_text(NOTE)


# ---- phone formatting -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("e164", "meta", "sms", "whatsapp"),
    [
        ("+5212345678901", "5212345678901", "+5212345678901", "whatsapp:+5212345678901"),
        ("+525512345678", "525512345678", "+5215512345678", "whatsapp:+5215512345678"),
        ("+14155550123", "14155550123", "+14155550123", "whatsapp:+14155550123"),
        ("+34612345678", "34612345678", "+34612345678", "whatsapp:+34612345678"),
    ],
)
def test_each_channel_formats_the_number_as_the_contract_says(e164: str, meta: str, sms: str, whatsapp: str) -> None:
    assert meta_recipient(e164) == meta
    assert twilio_number(e164) == sms
    assert twilio_whatsapp_address(e164) == whatsapp


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+52 55 1234 5678", "+525512345678"),
        ("55 1234 5678", "+525512345678"),  # Mexico assumed without a country code
        ("+521 55 1234 5678", "+525512345678"),  # the pre-2019 mobile "1" is accepted
        ("(415) 555-0123", "+524155550123"),  # without a country code it is Mexican (415: San Miguel de Allende)
        ("+1 415 555 0123", "+14155550123"),
    ],
)
def test_typed_numbers_are_normalised_to_e164(typed: str, e164: str) -> None:
    assert normalize_phone(typed) == e164


@pytest.mark.parametrize("bad", ["", "hello", "+52 55", "12", "+999 1234 5678"])
def test_bad_phone_numbers_are_one_clear_error(bad: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match="phone number"):
        normalize_phone(bad)


# ---- channel selection ----------------------------------------------------------------------------
def test_registry_numbers_are_the_contracts() -> None:
    assert {n: cls.name for n, cls in CHANNEL_CLASSES.items()} == {
        1: "Meta WhatsApp",
        2: "Twilio WhatsApp",
        3: "Twilio SMS",
    }
    assert all(cls.number == n for n, cls in CHANNEL_CLASSES.items())


def test_build_channels_makes_one_of_each_configured_or_not() -> None:
    channels = build_channels(load_settings(**META))
    assert [type(channels[n]) for n in (1, 2, 3)] == [MetaWhatsApp, TwilioWhatsApp, TwilioSMS]
    assert [channels[n].is_configured() for n in (1, 2, 3)] == [True, False, False]


@pytest.mark.parametrize(
    ("credentials", "first", "plan"),
    [
        ({**META, **SMS, **WHATSAPP}, 1, [1, 2, 3]),
        ({**META, **SMS, **WHATSAPP}, 2, [2, 1, 3]),
        ({**META, **SMS, **WHATSAPP}, 3, [3, 1, 2]),
        ({**META, **SMS}, 1, [1, 3]),  # no WhatsApp sender: channel 2 is no fallback
        (SMS, 1, [1, 3]),  # the chosen channel stays first even unconfigured (it records why it was skipped)
        ({}, 2, [2]),
    ],
)
def test_the_channel_parameter_picks_the_first_and_configured_channels_follow(
    tmp_path: Path, credentials: dict, first: int, plan: list[int]
) -> None:
    kiosk = Kiosk.from_settings(load_settings(**credentials, data_dir=tmp_path))
    try:
        assert channel_plan(kiosk, first) == plan
    finally:
        kiosk.close()


# ---- error handling -------------------------------------------------------------------------------
def test_send_errors_can_be_caught_as_project_or_builtin_errors() -> None:
    for kind in (TransientSendError, PermanentSendError, ChannelNotConfigured):
        assert issubclass(kind, SendError) and issubclass(kind, KeryuError) and issubclass(kind, RuntimeError)
    assert issubclass(ChannelNotConfigured, PermanentSendError)


@pytest.mark.parametrize(
    ("table", "code", "http_status", "kind"),
    [
        (META_CODES, 131056, 400, TransientSendError),  # a rate limit inside a 400
        (META_CODES, 190, 401, PermanentSendError),
        (META_CODES, 132001, 404, PermanentSendError),
        (TWILIO_CODES, 20429, 429, TransientSendError),
        (TWILIO_CODES, 21610, 400, PermanentSendError),
        (META_CODES, None, 400, PermanentSendError),  # unknown 4xx
        (META_CODES, None, 422, PermanentSendError),
        (TWILIO_CODES, None, 429, TransientSendError),
        (TWILIO_CODES, None, 500, TransientSendError),  # unknown 5xx
        (TWILIO_CODES, 77777, 503, TransientSendError),
    ],
)
def test_provider_answers_are_classified(table: dict, code: int | None, http_status: int, kind: type) -> None:
    error = from_provider_code("Provider", table, code, http_status, "detail", retry_after=5.0)
    assert type(error) is kind
    assert error.code == (str(code) if code is not None else f"http_{http_status}")
    assert error.retry_after == (5.0 if kind is TransientSendError else None)
    assert str(error).startswith("Provider: ") and str(error).endswith(": detail")


def test_is_transient_hint_decides_for_unknown_codes_only() -> None:
    assert isinstance(from_provider_code("P", META_CODES, 999, 400, None, None, True), TransientSendError)
    assert isinstance(from_provider_code("P", META_CODES, 190, 401, None, None, True), PermanentSendError)


def test_every_classified_code_has_an_explanation() -> None:
    for table in (META_CODES, TWILIO_CODES):
        for code, (transient, meaning) in table.items():
            assert isinstance(transient, bool) and len(meaning) > 10, code


NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("12", 12.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        (format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_header_forms(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


# ---- template message structure -------------------------------------------------------------------
def test_meta_template_message_structure() -> None:
    settings: Settings = load_settings(**META)
    assert MetaWhatsApp(settings).payload(NOTE) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "5212345678901",
        "type": "template",
        "template": {
            "name": "qr_template_on_m",
            "language": {"code": "es_MX"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Ana López"},
                        {"type": "text", "text": "25 nov 2026, 2:05 p.m. CST"},
                    ],
                }
            ],
        },
    }
    assert MetaWhatsApp(settings).endpoint == "https://graph.facebook.com/v23.0/106540352242922/messages"


# ---- card scan URLs -------------------------------------------------------------------------------
CARD = "3f2b8c1e-9d4a-4e6b-8a7c-1b2d3e4f5a6b"


def test_scan_url_generation_and_parsing_round_trip() -> None:
    url = scan_url("http://keryu.local/", CARD)
    assert url == f"http://keryu.local/scan/{CARD}"
    assert parse_payload(url) == CARD


@pytest.mark.parametrize(
    "payload",
    [
        f"https://another-kiosk.example.org/scan/{CARD}",  # any host: a renamed kiosk still reads old cards
        f"http://192.168.1.20:8080/scan/{CARD}/",
        CARD.upper(),
        f"  {CARD}\n",
    ],
)
def test_card_payloads_accepted(payload: str) -> None:
    assert parse_payload(payload) == CARD


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "WIFI:T:WPA;S:home;P:secret;;",
        f"http://keryu.local/card/{CARD}",
        f"http://keryu.local/scan/{CARD}?x=1",
        f"ftp://keryu.local/scan/{CARD}",
        "3f2b8c1e-9d4a-1e6b-8a7c-1b2d3e4f5a6b",  # a UUID, but not version 4
        "x" * 600,
    ],
    ids=["empty", "wifi", "other-path", "query", "ftp", "uuid1", "oversized"],
)
def test_foreign_payloads_rejected(payload: str) -> None:
    with pytest.raises(ForeignPayload):
        parse_payload(payload)


def test_a_finders_note_and_number_are_in_the_free_form_text() -> None:
    from appliance.messaging.format import message_text

    found = Notification(
        recipient_phone="+525512345678",
        subject_name="Ana",
        timestamp_text="25 Nov 2026, 14:05 CST",
        location="Front gate",
        from_phone=True,
        finder_note="At the  bus stop\non Reforma",
        finder_phone="+523312345678",
        language="en",
    )
    assert message_text(found) == (
        "Keryu alert: the card of Ana was scanned with a finder's phone on 25 Nov 2026, 14:05 CST."
        ' Call the finder at +523312345678. The finder wrote: "At the bus stop on Reforma"'
    )
    assert message_text(replace(found, language="es", timestamp_text="25 nov 2026, 2:05 p.m. CST")) == (
        "Alerta de Keryu: la tarjeta de Ana se escaneó con el teléfono de quien la encontró el 25 nov 2026,"
        ' 2:05 p.m. CST. Llame a quien la encontró al +523312345678. Quien la encontró escribió: "At the bus stop on'
        ' Reforma"'
    )
