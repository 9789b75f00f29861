"""Dates and times are written as Babel writes them from CLDR, without loading CLDR's data."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.dates import format_date, format_datetime, format_time, get_datetime_format

from appliance import i18n, moments

MEXICO_CITY = ZoneInfo("America/Mexico_City")


def every_month_and_hour() -> list[datetime]:
    return [datetime(2026, month, 9, hour, 5 + hour, 7, tzinfo=UTC) for month in range(1, 13) for hour in range(24)]


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_message_time_reads_as_babel_writes_it_at_every_month_and_hour(language: str) -> None:
    locale = Locale.parse(i18n.REGIONAL[language])
    joined = get_datetime_format("medium", locale=locale).replace("'", "")
    for moment in every_month_and_hour():
        local = moment.astimezone(MEXICO_CITY)
        babel_text = joined.replace("{1}", format_date(local, "medium", locale=locale)).replace(
            "{0}", format_time(local, "short", locale=locale)
        )
        # a message is one line of plain spaces (CLDR puts a narrow no-break space before "p.m.")
        assert i18n.format_moment(moment, language, MEXICO_CITY) == " ".join(f"{babel_text} {local.tzname()}".split())


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_page_time_reads_as_babel_writes_it_at_every_month_and_hour(language: str) -> None:
    regional = i18n.REGIONAL[language]
    for moment in every_month_and_hour():
        expected = format_datetime(moment, "medium", tzinfo=MEXICO_CITY, locale=regional)
        assert i18n.format_page_time(moment, language, MEXICO_CITY) == expected
        naive = moment.replace(tzinfo=None)  # as the database keeps it: UTC
        assert i18n.format_page_time(naive, language, MEXICO_CITY) == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("dd/MM/yy HH:mm:ss", "03/02/07 00:04:09"),
        ("d 'de' MMM 'de' y", "3 de feb de 2007"),
        ("h 'o''clock' a", "12 o'clock a.m."),
        ("K:mm a, k''", "0:04 a.m., 24'"),
    ],
)
def test_quoted_text_and_numbers_follow_cldr(pattern: str, expected: str) -> None:
    moment = datetime(2007, 2, 3, 0, 4, 9)
    assert moments.fill(pattern, moment, moments.words("es")) == expected
    assert format_datetime(moment, pattern, locale="es_MX") == expected


@pytest.mark.parametrize("pattern", ["EEEE d", "MMMM y", "h:mm aaaa", "h:mm z"])
def test_a_field_it_does_not_write_is_refused_by_name(pattern: str) -> None:
    with pytest.raises(ValueError, match=r"is not one appliance\.moments writes"):
        moments.fill(pattern, datetime(2026, 11, 25), moments.words("es"))


def test_language_names_are_written_in_the_readers_language_as_cldr_names_them() -> None:
    for language, regional in i18n.REGIONAL.items():
        for reader, readers_regional in i18n.REGIONAL.items():
            expected = Locale.parse(regional).get_display_name(readers_regional)
            assert i18n.language_name(language, reader) == expected
    assert i18n.language_name("es", "es") == "español (México)"
    assert i18n.language_name("en", "es") == "inglés (Estados Unidos)"


def test_writing_times_opens_none_of_babels_cldr_files() -> None:
    """The point of the module: Babel's `.dat` files (4.7 MiB once loaded) stay on disk."""
    script = """
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
from appliance import i18n
zone = ZoneInfo("America/Mexico_City")
for language in i18n.LANGUAGES:
    i18n.format_moment(datetime.now(UTC), language, zone)
    i18n.format_page_time(datetime.now(UTC), language, None)
    i18n.language_name("es", language)
print("\\n".join(path for path in opened if path.endswith(".dat")))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
