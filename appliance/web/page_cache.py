"""Alarm lists and their rendered tables, kept between requests until an alarm changes.

Each request reads the alarms' state (counts by status and the change marker:
`services.alarms.alarms_state`, one small read) and reuses the list built for the same filters
under the same marker, and the HTML table rendered from that list in the same language: sixteen
browsers refreshing the dashboard cost one list query and one rendering, not sixteen. Rendering
the rows (a localized time per row) was most of a page's server time.

Only what is the same for every admin is kept: the table holds no form, no CSRF token, no
flashed message and nothing about who is looking; the page around it is rendered for each
request. The marker is read before the list, so a list is never kept under a marker older
than what it shows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from appliance.services.alarms import AlarmsState, SubjectChoice, alarms_state, list_alarms, subject_choices
from appliance.services.kiosk import Kiosk
from appliance.services.views import AlarmView
from appliance.web.language import speaking
from appliance.web.render import json_text
from appliance.web.shared_reads import shared_read

ENTRIES = 16  # filter combinations kept (first pages, a few filters, deep pages): a few MiB on a 512 MB Pi
OPTION_LISTS = 8  # subject filter renderings kept (one per subject selected, while the subjects stay the same)

Filters = tuple[tuple[str, Any], ...]  # `list_alarms` keyword arguments, sorted: a cache key
TableRenderer = Callable[[list[AlarmView], Mapping[str, Any], str], str]
OptionsRenderer = Callable[[list[SubjectChoice], int | None], str]


def filter_key(**filters: Any) -> Filters:
    """The filters as a hashable, order-free key."""
    return tuple(sorted(filters.items()))


def shows_new_alarms(filters: Mapping[str, Any]) -> bool:
    """New alarms are added live only where they belong: the first page, no subject or date filter."""
    return not (filters.get("before_id") or filters.get("subject_id") or filters.get("since") or filters.get("until"))


@dataclass(frozen=True)
class Renderers:
    """`macros.html`'s `alarm_table` and `subject_options`, rendered outside any request (they need none)."""

    env: jinja2.Environment

    def table(self, alarms: list[AlarmView], filters: Mapping[str, Any], language: str) -> str:
        with speaking(language):  # `_()` and the `when` filter write in this language
            return self._macros.alarm_table(
                alarms, live_table=shows_new_alarms(filters), status_filter=filters.get("status") or ""
            )

    def subject_options(self, subjects: list[SubjectChoice], selected: int | None) -> str:
        return self._macros.subject_options(subjects, selected)

    @property
    def _macros(self) -> Any:
        return self.env.get_template("macros.html").module  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AlarmTable:
    """What a page shows of the alarms: counts by status, the list, and the list as an HTML table."""

    counts: dict[str, int]
    alarms: list[AlarmView]
    html: Markup


@dataclass
class _Entry:
    marker: tuple[object, ...]
    alarms: list[AlarmView]
    tables: dict[str, Markup] = field(default_factory=dict)  # by language
    records: str | None = None  # the list as `GET /api/alarms` answers it (the same in every language)


class AlarmListCache:
    """`list_alarms` results and their tables by filters, valid while the change marker is the same."""

    def __init__(self, kiosk: Kiosk, renderers: Renderers | None = None, entries: int = ENTRIES):
        self.kiosk = kiosk
        self.renderers = renderers
        self.entries = entries
        self._lists: OrderedDict[Filters, _Entry] = OrderedDict()
        self._options: OrderedDict[tuple, Markup] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = self.renders = 0

    def records(self, filters: Filters) -> str:
        """`list_alarms(kiosk, **dict(filters))` as now, as the JSON API's text (a worker thread)."""
        entry = self._entry(filters)[1]
        with self._lock:
            text = entry.records
        if text is None:
            text = json_text([alarm.record() for alarm in entry.alarms])
            with self._lock:
                entry.records = text
        return text

    def table(self, filters: Filters, language: str) -> AlarmTable:
        """The counts, the list for `filters` and its table in `language`, as of now (a worker thread)."""
        renderers = self._renderers()
        state, entry = self._entry(filters)
        with self._lock:
            html = entry.tables.get(language)
        if html is None:
            html = Markup(renderers.table(entry.alarms, dict(filters), language))
            with self._lock:
                entry.tables[language] = html
                self.renders += 1
        return AlarmTable(counts=state.counts, alarms=entry.alarms, html=html)

    def subject_options(self, selected: int | None) -> Markup:
        """The subject filter's `<option>`s (subjects read now), rendered again only when they change."""
        renderers = self._renderers()
        subjects = subject_choices(self.kiosk)
        key = (tuple((subject.id, subject.name) for subject in subjects), selected)
        with self._lock:
            html = self._options.get(key)
        if html is None:
            html = Markup(renderers.subject_options(subjects, selected))
            with self._lock:
                self._options[key] = html
                while len(self._options) > OPTION_LISTS:
                    self._options.popitem(last=False)
        return html

    def _renderers(self) -> Renderers:
        if self.renderers is None:
            raise RuntimeError("this cache was made without renderers")
        return self.renderers

    def _entry(self, filters: Filters) -> tuple[AlarmsState, _Entry]:
        state = alarms_state(self.kiosk)
        with self._lock:
            kept = self._lists.get(filters)
            if kept is not None and kept.marker == state.marker:
                self._lists.move_to_end(filters)
                self.hits += 1
                return state, kept
        entry = _Entry(marker=state.marker, alarms=list_alarms(self.kiosk, **dict(filters)))
        with self._lock:
            self.misses += 1
            self._lists[filters] = entry
            self._lists.move_to_end(filters)
            while len(self._lists) > self.entries:
                self._lists.popitem(last=False)
        return state, entry


ALARM_LISTS = web.AppKey("alarm_lists", AlarmListCache)


async def cached_records(request: web.Request, **filters: Any) -> str:
    """The alarm list for these filters as JSON text, off the event loop, from the cache when nothing changed."""
    cache, key = request.app[ALARM_LISTS], filter_key(**filters)
    return await shared_read(request, ("alarm records", key), lambda: cache.records(key))


async def cached_table(request: web.Request, language: str, **filters: Any) -> AlarmTable:
    """The alarms for these filters with their table in `language`, off the event loop, cached."""
    cache, key = request.app[ALARM_LISTS], filter_key(**filters)
    return await shared_read(request, ("alarm table", key, language), lambda: cache.table(key, language))
