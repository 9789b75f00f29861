"""Queues accepted alarms on a thread of its own, so a dead Redis never stalls the frame loop.

What cannot be queued stays PENDING in the database, where the outbox sweeper finds it.
"""

from __future__ import annotations

import logging
import queue
import threading

from appliance.services import scans
from appliance.services.kiosk import Kiosk
from appliance.services.scans import ScanResult

logger = logging.getLogger(__name__)

CLOSE_TIMEOUT = 5.0


class Dispatcher:
    """A queueing thread; the frame loop only drops accepted results in with `submit`."""

    def __init__(self, kiosk: Kiosk):
        self._kiosk = kiosk
        self._queue: queue.Queue[ScanResult | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="dispatch", daemon=True)
        self._thread.start()

    def submit(self, result: ScanResult) -> None:
        self._queue.put(result)

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Queue what is waiting (up to `timeout`); anything left is PENDING in the database for the sweeper."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (result := self._queue.get()) is not None:
            try:
                scans.dispatch(self._kiosk, result)
            except Exception:
                logger.exception("Alarm %s not queued; the outbox sweeper will send it", result.alarm_id)
