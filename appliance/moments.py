"""Dates and times written the local way from CLDR patterns, without CLDR's data in memory.

Babel formats from a whole CLDR locale: the first time a process writes one date, it unpickles
Babel's global data and the merged locale (root, es, es_419, es_MX), 4.7 MiB of RSS kept for
the life of the worker and the admin page, to write `28 nov 2026, 2:05 p.m.`. The build
(setup.py, from the same Babel) writes the few patterns and words those times use into
`locale/<language>/moments.json`; this module fills the patterns in. The fields it knows are the
ones these patterns use; another field raises, and tests/test_moments.py compares every month
and hour with Babel's own formatting.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"

# A CLDR date pattern: quoted text ('' is a quote), a run of one field letter, or other text as it is.
_PART = re.compile(r"'((?:[^']|'')*)'|([A-Za-z])\2*|[^'A-Za-z]+")


@dataclass(frozen=True)
class MomentWords:
    """One language's patterns (CLDR's medium date, short and medium time) and the words they use."""

    date: str
    time: str
    time_with_seconds: str
    date_time: str  # joins a date ({1}) and a time ({0})
    months: tuple[str, ...]  # abbreviated, January first
    periods: tuple[str, str]  # before and after noon
    language_names: dict[str, str]  # each supported language, named in this one


@lru_cache
def words(language: str) -> MomentWords:
    """The words the build wrote for `language`; a missing file is a build mistake, so it raises."""
    path = LOCALE_DIR / language / "moments.json"
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"no {path}: reinstall the package (setup.py writes it from Babel's CLDR)") from None
    return MomentWords(
        date=table["date"],
        time=table["time"],
        time_with_seconds=table["time_with_seconds"],
        date_time=table["date_time"],
        months=tuple(table["months"]),
        periods=(table["periods"][0], table["periods"][1]),
        language_names=dict(table["language_names"]),
    )


def fill(pattern: str, moment: datetime, words: MomentWords) -> str:
    """`moment` (already in the zone to show) written by a CLDR pattern such as `d MMM y` or `h:mm a`."""
    text = []
    for part in _PART.finditer(pattern):
        quoted, letter = part.group(1), part.group(2)
        if quoted is not None:
            text.append(quoted.replace("''", "'") or "'")
        elif letter:
            text.append(_field(letter, len(part.group(0)), moment, words))
        else:
            text.append(part.group(0))
    return "".join(text)


def date_and_time(moment: datetime, words: MomentWords, time_pattern: str) -> str:
    """`moment`'s medium date and its time by `time_pattern`, joined as the language joins them
    (`{1}, {0}`), CLDR's quotes dropped as Babel does."""
    date, time = fill(words.date, moment, words), fill(time_pattern, moment, words)
    return words.date_time.replace("'", "").replace("{0}", time).replace("{1}", date)


def _field(letter: str, width: int, moment: datetime, words: MomentWords) -> str:
    hour = moment.hour
    numbers = {
        "d": moment.day,
        "y": moment.year % 100 if width == 2 else moment.year,
        "h": hour % 12 or 12,
        "H": hour,
        "K": hour % 12,
        "k": hour or 24,
        "m": moment.minute,
        "s": moment.second,
    }
    if letter in numbers:
        return f"{numbers[letter]:0{width}d}"
    if letter in "ML" and width <= 2:
        return f"{moment.month:0{width}d}"
    if letter in "ML" and width == 3:
        return words.months[moment.month - 1]
    if letter == "a" and width <= 3:
        return words.periods[hour >= 12]
    raise ValueError(f"the CLDR field {letter * width!r} is not one appliance.moments writes")
