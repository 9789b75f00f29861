"""Alarm lists kept between requests until an alarm changes: every admin sees the same rows.

Each request reads the alarms' change marker (`services.alarms.change_marker`, well under a
millisecond) and reuses the list built for the same filters under the same marker, so sixteen
browsers refreshing the dashboard cost one query of the list, not sixteen. The marker is read
before the list, so a list is never kept under a marker older than what it shows.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from typing import Any

from aiohttp import web

from appliance.services.alarms import change_marker, list_alarms
from appliance.services.kiosk import Kiosk
from appliance.services.views import AlarmView

ENTRIES = 64  # filter combinations kept (the first pages, a few filters, a few deep pages)


class AlarmListCache:
    """`list_alarms` results by filters, valid while the change marker is the same."""

    def __init__(self, kiosk: Kiosk, entries: int = ENTRIES):
        self.kiosk = kiosk
        self.entries = entries
        self._lists: OrderedDict[tuple, tuple[tuple, list[AlarmView]]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def alarms(self, **filters: Any) -> list[AlarmView]:
        """What `list_alarms(kiosk, **filters)` returns now (runs in a worker thread)."""
        key = tuple(sorted(filters.items()))
        marker = change_marker(self.kiosk)
        with self._lock:
            kept = self._lists.get(key)
            if kept is not None and kept[0] == marker:
                self._lists.move_to_end(key)
                self.hits += 1
                return kept[1]
        found = list_alarms(self.kiosk, **filters)
        with self._lock:
            self.misses += 1
            self._lists[key] = (marker, found)
            self._lists.move_to_end(key)
            while len(self._lists) > self.entries:
                self._lists.popitem(last=False)
        return found


ALARM_LISTS = web.AppKey("alarm_lists", AlarmListCache)


async def cached_alarms(request: web.Request, **filters: Any) -> list[AlarmView]:
    """The alarm list for these filters, off the event loop, from the cache when nothing changed."""
    return await asyncio.to_thread(request.app[ALARM_LISTS].alarms, **filters)
