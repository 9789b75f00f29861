"""Live alarm updates: one poller per web process reads changed alarms and fans them out to SSE clients.

Other processes (scanner, worker) write the alarms, so the database is polled; one poll serves
every open page. Writers stamp `updated_at` before they commit, so each poll looks back
`OVERLAP` and skips what it already sent: a slow commit is late, never lost.

A page drawn at one moment and subscribed a moment later would miss what changed in between
(an alarm sent while the page loaded stayed PENDING on it), so a new stream first replays what
changed since the page was drawn, or since the last event a reconnecting browser saw.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from appliance.services.alarms import changes_since, last_change
from appliance.services.kiosk import Kiosk

logger = logging.getLogger(__name__)

OVERLAP = timedelta(seconds=5)
BATCH = 200
QUEUE_SIZE = 500


class AlarmFeed:
    """Polls alarms changed since the last look and hands their records to every subscriber."""

    def __init__(self, kiosk: Kiosk, interval: float = 1.0):
        self.kiosk = kiosk
        self.interval = interval
        self._subscribers: set[asyncio.Queue[dict | None]] = set()
        self._cursor: datetime | None = None
        self._sent: dict[int, datetime] = {}
        self._closed = False

    def subscribe(self) -> asyncio.Queue[dict | None]:
        """A queue that receives alarm records, then None when the server stops."""
        queue: asyncio.Queue[dict | None] = asyncio.Queue(QUEUE_SIZE)
        if self._closed:
            queue.put_nowait(None)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict | None]) -> None:
        self._subscribers.discard(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def run(self) -> None:
        """Poll while the server runs; a database hiccup is logged and the next poll tries again."""
        await asyncio.to_thread(self._start_cursor)
        while not self._closed:
            await asyncio.sleep(self.interval)
            if not self._subscribers:
                continue
            try:
                records = await asyncio.to_thread(self.poll)
            except Exception:
                logger.exception("Live alarm poll failed; retrying")
                continue
            self._publish(records)

    def close(self) -> None:
        """Tell every subscriber to finish (the server is shutting down)."""
        self._closed = True
        for queue in list(self._subscribers):
            self._offer(queue, None, force=True)

    def replay(self, since: datetime) -> list[dict]:
        """Records of alarms changed since a moment (a page's drawing, a lost stream's last event)."""
        return [alarm.live_record() for alarm in changes_since(self.kiosk, since - OVERLAP, limit=BATCH)]

    def _start_cursor(self) -> None:
        self._cursor = last_change(self.kiosk) or self.kiosk.clock.now()

    def poll(self) -> list[dict]:
        """Records of alarms changed since the cursor that were not sent in that state before."""
        if self._cursor is None:
            self._start_cursor()
        assert self._cursor is not None
        start, after_id = self._cursor - OVERLAP, 0
        records: list[dict] = []
        for _ in range(50):  # bounded: at most 10,000 changes per poll
            changed = changes_since(self.kiosk, start, after_id, limit=BATCH)
            for alarm in changed:
                stamp = alarm.changed_at or alarm.updated_at
                if self._sent.get(alarm.id) != stamp:
                    self._sent[alarm.id] = stamp
                    records.append(alarm.live_record())
                self._cursor = max(self._cursor, stamp)
            if len(changed) < BATCH:
                break
            start, after_id = changed[-1].changed_at or changed[-1].updated_at, changed[-1].id
        horizon = self._cursor - OVERLAP
        self._sent = {key: stamp for key, stamp in self._sent.items() if stamp >= horizon}
        return records

    def _publish(self, records: list[dict]) -> None:
        for record in records:
            for queue in list(self._subscribers):
                self._offer(queue, record)

    def _offer(self, queue: asyncio.Queue[dict | None], item: dict | None, force: bool = False) -> None:
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            if force:  # make room for the goodbye
                queue.get_nowait()
                queue.put_nowait(item)
            else:
                logger.warning("A live client is too slow; dropping an update for it")
