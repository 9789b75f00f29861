"""Phone numbers as people type them, read into today's E.164 form with `phonenumbers`.

Mexico changed its numbering in 2019: mobiles lost the `1` after `+52` (and the `044`/`045`
prefixes dialled before them), and every number is ten digits. People and the seed still
write `+521...`; `phonenumbers` calls those invalid, so the old forms are rewritten first. A
ten-digit Mexican number is accepted when its length is right even if `phonenumbers`' range
tables do not list its area code (they lag new assignments; the seed's own `+5212345678901`
is one). Every other country must be a valid number. The channels then write their own forms
(`messaging.format`: Meta without `+`, Twilio with the old `1`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from appliance.errors import InvalidPhoneNumber
from appliance.i18n import N_

if TYPE_CHECKING:
    import phonenumbers

MEXICO = 52
_SEPARATORS = re.compile(r"[\s().\-/]")
_OLD_MEXICAN_MOBILE = re.compile(r"^\+521(\d{10})$")  # +52 1 55 1234 5678 → +52 55 1234 5678
_OLD_MEXICAN_PREFIX = re.compile(r"^(?:044|045|01)(\d{10})$")  # dialled inside Mexico before 2019
NOT_A_NUMBER = N_("{typed!r} is not a phone number.")
NOT_VALID = N_("{typed!r} is not a valid phone number; include the country code, e.g. +52 55 1234 5678.")


@dataclass(frozen=True)
class PhoneReading:
    """How the kiosk understood a typed number: what it stores and how to show it back."""

    e164: str  # stored, e.g. +525512345678
    international: str  # shown, e.g. +52 55 1234 5678
    region: str  # ISO 3166 code, e.g. MX
    country: str  # e.g. Mexico ("" when phonenumbers has no name for it)
    rewritten: bool  # True when an old Mexican form (+521, 044, 045, 01) was brought up to date


def _compact(typed: str, region: str) -> tuple[str, bool]:
    """The typed text without separators, old Mexican forms rewritten; and whether one was."""
    compact = _SEPARATORS.sub("", typed)
    old = _OLD_MEXICAN_MOBILE.match(compact)
    if old:
        return "+52" + old.group(1), True
    prefixed = _OLD_MEXICAN_PREFIX.match(compact)
    if prefixed and region == "MX":
        return "+52" + prefixed.group(1), True
    return compact, False


def _mexican_length(number: phonenumbers.PhoneNumber) -> bool:
    """Ten digits after +52: accepted even when the range tables do not list the area code yet."""
    return number.country_code == MEXICO and len(str(number.national_number)) == 10


def read_phone(text: str, default_region: str = "MX", language: str = "en") -> PhoneReading:
    """Read a number as people type it (`55 1234 5678`, `+52 1 55...`, `044 55...`), or raise `InvalidPhoneNumber`.

    `language`: the one the country's name is written in (`México` in Spanish).
    """
    import phonenumbers  # loaded where a typed number is read (web, CLI); the scanner and worker keep E.164 as stored

    typed = (text or "").strip()
    region = default_region.upper()
    compact, rewritten = _compact(typed, region)
    try:
        number = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(NOT_A_NUMBER, typed=typed) from None
    if not (phonenumbers.is_valid_number(number) or _mexican_length(number)):
        raise InvalidPhoneNumber(NOT_VALID, typed=typed)
    return PhoneReading(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        international=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        region=phonenumbers.region_code_for_country_code(number.country_code),
        country=country_name(phonenumbers.region_code_for_number(number), language),
        rewritten=rewritten,
    )


def country_name(region: str | None, language: str) -> str:
    """The name of the country `region` (ISO 3166) in `language`, from Babel's CLDR data; "" if none.

    Not phonenumbers' geocoder: it loads every language's names at once, about 100 MiB of RSS,
    which would not fit a 512 MB Pi beside the kiosk (bench/README.md, "Memory").
    """
    from babel import Locale, UnknownLocaleError

    if not region or len(region) != 2 or not region.isalpha():
        return ""  # non-geographic numbers (region 001) and unknown ones (ZZ)
    try:
        locale = Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse("en")
    return locale.territories.get(region.upper(), "")


def normalize_phone(text: str, default_region: str = "MX") -> str:
    """The E.164 form of a typed number (what the database keeps), or raise `InvalidPhoneNumber`."""
    return read_phone(text, default_region).e164
