"""The admin page's language: picked per request from `Accept-Language`, else `KERYU_LANGUAGE`.

A middleware puts the request's language in a context variable, which the Jinja `i18n`
extension's `_()` and the handlers' `_()` read: both write in the language of the request
being answered (each request runs in its own asyncio task, so languages never mix). The
services' sentences (`i18n.Sentence`: errors, health reasons, the configuration problem) are
translated here too: `shown()` in handlers, and on their own wherever a template prints one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, tzinfo

import jinja2
from aiohttp import web

from appliance import i18n, stored_text
from appliance.errors import KeryuError
from appliance.web import health_words

# Answers whose words depend on the language (pages, JSON errors); static files do not vary.
WRITTEN_TYPES = frozenset({"text/html", "application/json"})

_current: ContextVar[str] = ContextVar("keryu_language", default=i18n.DEFAULT_LANGUAGE)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def current_language() -> str:
    """The language of the request being answered."""
    return _current.get()


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Write in `language` inside the block: work done for requests outside their task (a worker thread)."""
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str) -> str:
    """`message` in the request's language (handlers: flash messages and form errors)."""
    return i18n.gettext(_current.get(), message)


def shown(text: object) -> str:
    """A service's sentence or error in the request's language (`Sentence`, `KeryuError`); other text as it is."""
    if isinstance(text, KeryuError):
        return text.in_language(_current.get())
    return i18n.in_language(text, _current.get())


def stored(text: str | None) -> str:
    """A text of ours kept in the database or a file (an alarm's error, the escalation's reason) in the
    request's language; anyone else's words (a provider's) as they are."""
    return stored_text.in_language(text, _current.get())


def _finalize(value: object) -> object:
    """Jinja's last step before printing: a `Sentence` in the request's language; other values untouched."""
    return value.in_language(_current.get()) if isinstance(value, i18n.Sentence) else value


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form of a message in the request's language."""
    return i18n.ngettext(_current.get(), singular, plural, count)


def language_middleware(default: str) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Choose the answer's language: the browser's preference among ours, else `default`."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        language = i18n.negotiate(request.headers.get("Accept-Language"), default)
        token = _current.set(language)
        try:
            response = await handler(request)
        finally:
            _current.reset(token)
        if not response.prepared and response.content_type in WRITTEN_TYPES:  # a stream's headers are gone
            response.headers.setdefault("Content-Language", language)
            response.headers.add("Vary", "Accept-Language")
        return response

    return middleware


def install(env: jinja2.Environment, zone: tzinfo | None) -> None:
    """Give templates `_()`/`ngettext()`, `lang()`, language names and a `when` filter writing times the local way."""
    env.add_extension("jinja2.ext.i18n")
    env.finalize = _finalize
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
        lambda message: _(message), lambda singular, plural, n: ngettext(singular, plural, n), newstyle=True
    )
    env.globals["lang"] = current_language
    env.globals["language_name"] = lambda language: i18n.language_name(language, current_language())
    env.globals["locale_tag"] = lambda: i18n.REGIONAL[current_language()].replace("_", "-")  # for the browser's Intl
    env.globals["system_zone"] = str(i18n.zone_or_local(None))
    env.globals["zone_name"] = str(i18n.zone_or_local(zone))

    def when(value: object) -> str:
        """ISO strings and datetimes alike as `28 nov 2026, 2:05:09 p.m.` in the kiosk's zone."""
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value
        if isinstance(value, datetime):
            return i18n.format_page_time(value, current_language(), zone)
        return str(value)

    env.filters["when"] = when
    env.filters["stored"] = stored
    env.filters["health_word"] = lambda word: _(health_words.msgid(word))
