"""The publishers' outbox: read after a cursor, move a cursor, prune what every publisher has passed.

The rows are written by triggers (migration 0008) in the transaction of the change they
describe; this module only reads, advances and deletes. One cursor per sink (`mqtt`,
`webhook`), so a broker that is down does not hold back the webhook, nor the other way round.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from appliance.store.models import OutboxCursor, OutboxEvent


def newest_id(session: Session) -> int:
    """The id of the newest event (0 when the outbox is empty and never had one since pruning)."""
    return session.scalar(select(func.max(OutboxEvent.id))) or 0


def cursor(session: Session, sink: str) -> OutboxCursor:
    """The sink's cursor; a sink seen for the first time starts at the newest event (no replay of history)."""
    found = session.get(OutboxCursor, sink)
    if found is None:
        found = OutboxCursor(sink=sink, last_id=newest_id(session))
        session.add(found)
        session.flush()
    return found


def after(session: Session, last_id: int, limit: int) -> Sequence[OutboxEvent]:
    """Events after `last_id`, oldest first."""
    return session.scalars(
        select(OutboxEvent).where(OutboxEvent.id > last_id).order_by(OutboxEvent.id).limit(limit)
    ).all()


def advance(session: Session, sink: str, last_id: int, now: datetime) -> None:
    """The sink has handed on every event up to `last_id`; its error, if any, is over."""
    session.execute(
        update(OutboxCursor)
        .where(OutboxCursor.sink == sink, OutboxCursor.last_id < last_id)
        .values(last_id=last_id, last_success_at=now, last_error=None, last_error_at=None)
    )


def note_error(session: Session, sink: str, error: str, now: datetime) -> None:
    """What went wrong for the sink, for health (kept until it hands an event on again)."""
    session.execute(update(OutboxCursor).where(OutboxCursor.sink == sink).values(last_error=error, last_error_at=now))


def backlog(session: Session, sink: str) -> tuple[int, datetime | None]:
    """How many events the sink has not handed on yet, and when the oldest of them happened."""
    found = session.get(OutboxCursor, sink)
    last_id = found.last_id if found is not None else newest_id(session)
    count, oldest = session.execute(
        select(func.count(), func.min(OutboxEvent.occurred_at)).where(OutboxEvent.id > last_id)
    ).one()
    return count, oldest


def prune(session: Session, sinks: Collection[str], now: datetime, keep_rows: int, keep_for: timedelta) -> int:
    """Delete what every sink in `sinks` has passed, and any backlog beyond `keep_rows` older than `keep_for`.

    With no sink, every event is passed. The cap is what keeps a broker gone for weeks from
    filling the SD card; `keep_for` is the outage that must always be survived.
    """
    passed = session.scalar(select(func.min(OutboxCursor.last_id)).where(OutboxCursor.sink.in_(sinks)))
    if not sinks or passed is None:
        passed = newest_id(session)
    removed = session.execute(delete(OutboxEvent).where(OutboxEvent.id <= passed)).rowcount
    overflow = newest_id(session) - keep_rows
    if overflow > 0:
        removed += session.execute(
            delete(OutboxEvent).where(OutboxEvent.id <= overflow, OutboxEvent.occurred_at < now - keep_for)
        ).rowcount
    return removed
