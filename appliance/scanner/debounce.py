"""One alarm per presentation of a card, decided from what each frame showed and an injected clock.

A presentation starts when a code comes into view and lasts while it keeps being seen; gaps
shorter than `absence` seconds (a hand shaking, a blurred frame) do not end it. A new
presentation of a card that raised an alarm less than `cooldown` seconds ago is a repeat (short
green blink, no alarm). So a card held still for minutes is one alarm, and the same card raises
another only after it has left the view for `absence` seconds and `cooldown` has passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_ABSENCE = 2.0
MAX_TRACKED = 256  # distinct codes remembered; a flood of foreign codes cannot grow memory


class Verdict(StrEnum):
    NEW = "new"  # act on it: record the scan
    REPEAT = "repeat"  # the same card again within its cooldown


@dataclass(frozen=True)
class Presentation:
    key: str
    verdict: Verdict


@dataclass
class _Track:
    last_seen: float
    fired_at: float | None = None


class Debouncer:
    """Turns per-frame sets of card keys into presentations; `fired(key)` starts a card's cooldown."""

    def __init__(self, cooldown: float, clock: Callable[[], float], *, absence: float = DEFAULT_ABSENCE):
        self.cooldown = cooldown
        self.absence = absence
        self._clock = clock
        self._tracks: dict[str, _Track] = {}

    def observe(self, keys: Iterable[str]) -> list[Presentation]:
        """The presentations that start in this frame, in the order the keys were given."""
        now = self._clock()
        started = []
        for key in dict.fromkeys(keys):
            track = self._tracks.get(key)
            if track is None:
                self._tracks[key] = track = _Track(last_seen=now)
                started.append(Presentation(key, Verdict.NEW))
                continue
            if now - track.last_seen >= self.absence:
                cooling = track.fired_at is not None and now - track.fired_at < self.cooldown
                started.append(Presentation(key, Verdict.REPEAT if cooling else Verdict.NEW))
            track.last_seen = now
        self._forget(now)
        return started

    def fired(self, key: str) -> None:
        """Record that `key` raised an alarm now (its cooldown starts)."""
        track = self._tracks.setdefault(key, _Track(last_seen=self._clock()))
        track.fired_at = self._clock()

    def seed(self, key: str, fired_ago: float) -> None:
        """Remember that `key` raised an alarm `fired_ago` seconds ago (e.g. before a restart), out of view."""
        now = self._clock()
        self._tracks[key] = _Track(last_seen=now - self.absence, fired_at=now - fired_ago)

    def forget(self, key: str) -> None:
        """Drop what is known of `key`, so the next frame showing it starts a new presentation."""
        self._tracks.pop(key, None)

    def in_view(self) -> list[str]:
        """Keys whose presentation is still going on."""
        now = self._clock()
        return [k for k, t in self._tracks.items() if now - t.last_seen < self.absence]

    def _forget(self, now: float) -> None:
        """Drop codes out of view whose cooldown is over; then the oldest if too many remain."""
        horizon = max(self.absence, self.cooldown)
        for key in [k for k, t in self._tracks.items() if now - max(t.last_seen, t.fired_at or 0.0) >= horizon]:
            del self._tracks[key]
        if len(self._tracks) > MAX_TRACKED:
            # Codes that raised no alarm go first: forgetting a cooldown could mean a second alarm.
            oldest = sorted(
                self._tracks, key=lambda k: (self._tracks[k].fired_at is not None, self._tracks[k].last_seen)
            )
            for key in oldest[: len(self._tracks) - MAX_TRACKED]:
                del self._tracks[key]
