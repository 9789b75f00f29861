"""Warnings about refused strangers, at most one per address per minute.

A script hammering the login, the API token or a form must not flood the journal (and wear the
SD card); the first refusal is logged, the rest of that minute only counted in the next line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from appliance.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

INTERVAL = 60.0
MAX_ADDRESSES = 10_000


@dataclass
class _Seen:
    logged_at: float
    suppressed: int = 0


@dataclass
class RefusalLog:
    """`warning(address, ...)` logs like `logger.warning`, unless `address` was logged within `interval`."""

    clock: Clock = field(default_factory=SystemClock)
    interval: float = INTERVAL
    _by_address: dict[str, _Seen] = field(default_factory=dict)

    def warning(self, address: str, message: str, *args: object) -> None:
        now = self.clock.monotonic()
        seen = self._by_address.get(address)
        if seen is not None and now - seen.logged_at < self.interval:
            seen.suppressed += 1
            return
        if seen is not None and seen.suppressed:
            message += " (and %d more from this address since the last such line)"
            args = (*args, seen.suppressed)
        logger.warning(message, *args)
        if len(self._by_address) >= MAX_ADDRESSES:  # a flood of addresses must not grow memory for ever
            self._forget(now)
        self._by_address[address] = _Seen(logged_at=now)

    def _forget(self, now: float) -> None:
        for address in [a for a, s in self._by_address.items() if now - s.logged_at >= self.interval]:
            del self._by_address[address]
