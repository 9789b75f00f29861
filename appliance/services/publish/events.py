"""The outbox as publishers see it: the next events of a sink as messages, and the sink's progress.

A message is built when it is published, from the event (what changed, when) and the alarm as
it is then: the `alarm` payload is the contract's alarm record without any phone number, plus
an `event` telling which status change this message is about. So messages queued through a
broker outage still arrive in order, each naming its own change.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from appliance.services.alarms import alarms_by_id
from appliance.services.kiosk import Kiosk
from appliance.services.views import AlarmView
from appliance.store import outbox_events
from appliance.store.models import OutboxCursor, OutboxEvent

BATCH = 100
# The backlog kept for a sink that cannot hand events on (docs/home-assistant.md): at most this
# many events (about 2 MB; a week of a busy door), but never fewer than the last hour's.
KEEP_ROWS = 20_000
KEEP_FOR = timedelta(hours=1)
# PostgreSQL hands out ids before commit, so a slower transaction can commit a lower id after a
# higher one was read; a gap is waited for this long before it is taken as a rollback. SQLite has
# one writer at a time: its ids appear in commit order, and a gap there is only pruning.
GAP_WAIT = 5.0


@dataclass(frozen=True)
class Message:
    """One event, ready to publish; `payload` None: its alarm is gone (retention), nothing to say."""

    event_id: int
    kind: str  # scan | alarm
    occurred_at: datetime
    payload: dict[str, Any] | None


def without_phones(record: dict[str, Any]) -> dict[str, Any]:
    """The alarm record with every phone number left out (it goes to other systems)."""
    notifications = [{k: v for k, v in entry.items() if k != "phone"} for entry in record.get("notifications", [])]
    return {**record, "notifications": notifications}


def _scan_payload(event: OutboxEvent, alarm: AlarmView, when: str) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "card_id": alarm.card_uuid,
        "subject_id": alarm.subject_id,
        "alarm_id": alarm.id,
        "time": when,
        "location": alarm.location,
        "source": alarm.source,
    }


def _alarm_payload(event: OutboxEvent, alarm: AlarmView, when: str) -> dict[str, Any]:
    row = next((n for n in (*alarm.notifications, alarm.escalation) if n and n.alarm_id == event.row_id), None)
    change = {
        "id": event.id,
        "status": event.status,
        "custodian": row.custodian if row else None,
        "role": row.role if row else None,
        "at": when,
    }
    return {**without_phones(alarm.record()), "event": change}


def render(kiosk: Kiosk, events: Sequence[OutboxEvent]) -> list[Message]:
    """The messages of `events`, in order."""
    alarms = alarms_by_id(kiosk, {event.alarm_id for event in events if event.alarm_id is not None})
    messages = []
    for event in events:
        alarm = alarms.get(event.alarm_id) if event.alarm_id is not None else None
        when = event.occurred_at.astimezone(kiosk.zone).isoformat()
        payload = None
        if alarm is not None:
            payload = (_scan_payload if event.kind == "scan" else _alarm_payload)(event, alarm, when)
        messages.append(Message(event.id, event.kind, event.occurred_at, payload))
    return messages


@dataclass
class Reader:
    """One sink's reading position: the next batch, stopping at a gap that may still fill (see GAP_WAIT)."""

    kiosk: Kiosk
    sink: str
    _gap_seen: dict[int, float] = field(default_factory=dict)

    def next_batch(self, limit: int = BATCH) -> tuple[int, list[OutboxEvent]]:
        """(the cursor, the events after it that may be published now)."""
        with self.kiosk.store.read() as session:  # never SQLite's write lock: deliveries take it
            found = session.get(OutboxCursor, self.sink)
            last_id = found.last_id if found is not None else None
            rows = list(outbox_events.after(session, last_id, limit)) if last_id is not None else []
        if last_id is None:
            last_id = self.start()
        wait = GAP_WAIT if self.kiosk.store.engine.dialect.name == "postgresql" else 0.0
        expected, ready = last_id + 1, []
        for row in rows:
            if row.id != expected and not self._gap_over(expected, wait):
                break
            ready.append(row)
            expected = row.id + 1
        return last_id, ready

    def start(self) -> int:
        """The sink's cursor, made at the newest event the first time the sink runs; returns its position."""
        with self.kiosk.store.session(durable=False) as session:
            return outbox_events.cursor(session, self.sink).last_id

    def _gap_over(self, missing: int, wait: float) -> bool:
        first = self._gap_seen.setdefault(missing, time.monotonic())
        if time.monotonic() - first < wait:
            return False
        self._gap_seen.pop(missing, None)
        return True

    def done(self, last_id: int) -> None:
        """Every event up to `last_id` is handed on (acknowledged by the broker, or answered by the receiver)."""
        with self.kiosk.store.session(durable=False) as session:
            outbox_events.advance(session, self.sink, last_id, self.kiosk.clock.now())

    def failed(self, error: str) -> None:
        """Why the sink is stuck, for health; never a secret (callers pass what they may log)."""
        with self.kiosk.store.session(durable=False) as session:
            outbox_events.cursor(session, self.sink)
            outbox_events.note_error(session, self.sink, error[:500], self.kiosk.clock.now())


def prune(kiosk: Kiosk, sinks: Sequence[str]) -> int:
    """Delete events every active sink has passed, and backlog beyond the cap (KEEP_ROWS, KEEP_FOR)."""
    with kiosk.store.session(durable=False) as session:
        return outbox_events.prune(session, sinks, kiosk.clock.now(), KEEP_ROWS, KEEP_FOR)


@dataclass(frozen=True)
class Backlog:
    """What a sink has not handed on yet, and its last trouble."""

    count: int
    oldest: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None


def backlog(kiosk: Kiosk, sink: str) -> Backlog:
    with kiosk.store.read() as session:
        count, oldest = outbox_events.backlog(session, sink)
        found = session.get(OutboxCursor, sink)
        return Backlog(
            count,
            oldest,
            found.last_error if found else None,
            found.last_error_at if found else None,
            found.last_success_at if found else None,
        )


def active_sinks(kiosk: Kiosk) -> list[str]:
    """The sinks the settings turn on, whose cursors hold back pruning."""
    settings = kiosk.settings
    return [sink for sink, url in (("mqtt", settings.mqtt_url), ("webhook", settings.webhook_url)) if url]
