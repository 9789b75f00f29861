"""The language the command line tells people about problems in: `KERYU_LANGUAGE`.

It is read leniently (`config.language_despite_errors`), so that a wrong setting is itself
reported in the owner's language, and the services' sentences are translated here, at the edge.
"""

from __future__ import annotations

from functools import cache

from appliance import i18n
from appliance.config import language_despite_errors
from appliance.errors import KeryuError


@cache
def reader_language() -> str:
    """`KERYU_LANGUAGE`, or the kiosk's default when it is missing or not one of ours (one process, one reader)."""
    return language_despite_errors()


def shown(text: object) -> str:
    """A service's error or sentence in the reader's language; any other text as it is."""
    if isinstance(text, KeryuError):
        return text.in_language(reader_language())
    return i18n.in_language(text, reader_language())
