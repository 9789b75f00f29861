"""Languages: the gettext catalogs (Babel) and dates written the local way, per language.

English is the source language of every string; `locale/<language>/LC_MESSAGES/messages.po`
holds each language's catalog, compiled to `.mo` when the package is built (see README,
"Languages"). Dates follow CLDR's patterns (written at build time from Babel's data: moments.py),
so a Spanish date reads `28 nov 2026, 2:05 p.m.`.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from appliance import moments

if TYPE_CHECKING:  # Babel is loaded by the processes that write text, when they first do
    from babel.support import NullTranslations

Language = Literal["es", "en"]
LANGUAGES: tuple[str, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "es"
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).parent / "locale"

# The regional variant each language is written in: Mexican Spanish, US English.
REGIONAL = {"es": "es_MX", "en": "en_US"}


def N_(message: str) -> str:
    """Mark a module-level string for the catalogs; it is translated where it is shown."""
    return message


class Sentence(str):
    """A sentence for a person, written in English and translated by whoever shows it.

    Deep code (services, adapters, the configuration) does not know who will read it: it
    raises or returns a `Sentence`, the English msgid and its `{fields}`. Wherever a `str`
    goes (logs, JSON, the journal) it is the English text; the edge that knows the reader
    (a page's request, the CLI's `KERYU_LANGUAGE`) calls `in_language`. A field that is itself
    a `Sentence` is translated with it. `Sentence("...")` is a pybabel keyword (babel.cfg).
    """

    __slots__ = ("msgid", "params")
    msgid: str
    params: dict[str, object]

    def __new__(cls, msgid: str, /, **params: object) -> Sentence:
        self = super().__new__(cls, _fill(msgid, params, None))
        self.msgid = msgid
        self.params = params
        return self

    def __reduce__(self) -> tuple[object, ...]:  # pickled (Celery, multiprocessing) with its fields
        return (_sentence, (self.msgid, self.params))

    def in_language(self, language: str) -> str:
        """The sentence in `language` (the English text when the catalog has no translation)."""
        return _fill(gettext(language, self.msgid), self.params, language)


def _sentence(msgid: str, params: dict[str, object]) -> Sentence:
    return Sentence(msgid, **params)


def _fill(text: str, params: dict[str, object], language: str | None) -> str:
    """`text` with its fields; a field that is a `Sentence` in `language` too (None: English)."""
    if not params:
        return text
    values = {
        name: value.in_language(language) if language and isinstance(value, Sentence) else value
        for name, value in params.items()
    }
    return text.format(**values)


def in_language(text: object, language: str) -> str:
    """Anything shown to a person: a `Sentence` translated, any other value as it is."""
    return text.in_language(language) if isinstance(text, Sentence) else str(text)


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> NullTranslations:
    """The compiled catalog of `language`; a missing `.mo` is a build mistake, so it raises."""
    from babel.support import Translations

    if language not in LANGUAGES:
        raise ValueError(f"{language!r} is not a supported language ({', '.join(LANGUAGES)})")
    catalog = Translations.load(str(LOCALE_DIR), [language], DOMAIN)
    if not isinstance(catalog, Translations):
        raise FileNotFoundError(
            f"no compiled catalog for {language!r} in {LOCALE_DIR}; run `./startup.sh i18n` (pybabel compile)"
        )
    return catalog


def gettext(language: str, message: str) -> str:
    """`message` in `language`."""
    return translations(language).gettext(message)


def ngettext(language: str, singular: str, plural: str, count: int) -> str:
    """The singular or plural form of a message in `language`, as the language counts."""
    return translations(language).ngettext(singular, plural, count)


def language_name(language: str, in_language: str) -> str:
    """A language's name as readers of `in_language` write it: `español (México)`, `Spanish (Mexico)`."""
    return moments.words(in_language).language_names.get(language, language)


def zone_or_local(zone: tzinfo | None) -> tzinfo:
    """The zone to write times in: the configured one, else the system's (Babel's `LOCALTZ`)."""
    from babel.dates import get_timezone

    return zone if zone is not None else get_timezone(None)


def format_moment(moment: datetime, language: str, zone: tzinfo | None = None) -> str:
    """An alarm's time in a message, in `zone`: `28 nov 2026, 2:05 p.m. CST` (es), `Nov 28, 2026, 2:05 PM CST` (en)."""
    local = moment.astimezone(zone_or_local(zone))
    words = moments.words(language)
    text = moments.date_and_time(local, words, words.time)
    return " ".join(f"{text} {local.tzname() or ''}".split())


def format_page_time(moment: datetime, language: str, zone: tzinfo | None = None) -> str:
    """A time on an admin page, to the second, in `zone`: `28 nov 2026, 2:05:09 p.m.` (es).

    A time without a zone is UTC, as the database keeps it (and as Babel read it).
    """
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone_or_local(zone))
    words = moments.words(language)
    return moments.date_and_time(local, words, words.time_with_seconds)


def negotiate(accept_language: str | None, default: str) -> str:
    """The supported language a browser's `Accept-Language` prefers, else `default`."""
    from babel import negotiate_locale

    preferred = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            preferred.append((quality, tag))
    ordered = [tag for _quality, tag in sorted(preferred, key=lambda item: -item[0])]
    return negotiate_locale(ordered, list(LANGUAGES), sep="-") or default
