"""The outbox: the database row is the truth, Redis only carries ids.

`sweep` finds alarms that should be on the queue and are not (Redis was down, restarted
empty, a retry's timer was lost with it, or a worker died holding a claim) and enqueues them.
The beat runs it every ~15 s and the worker once at start. It uses the store's one rule of
when an alarm is due, `alarm_state.due`, with two allowances so that it steps in only where
the queue has failed: a retry's time must have passed `DUE_GRACE` ago (the worker's own
wake-up message fires first), and an alarm put on the queue less than `STALE_ENQUEUE` ago,
and not claimed since, is left to the worker that will take it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from appliance.queue import enqueue_delivery
from appliance.services.kiosk import Kiosk
from appliance.store import alarm_state
from appliance.store.models import Alarm, AlarmStatus

logger = logging.getLogger(__name__)

STALE_ENQUEUE = timedelta(seconds=60)  # an alarm queued this long ago and still not claimed may have been lost
DUE_GRACE = timedelta(seconds=5)  # let the wake-up message the worker queued fire before we step in
SWEEP_BATCH = 500


def mark_enqueued(kiosk: Kiosk, alarm_ids: Iterable[int]) -> None:
    """Remember when alarms were put on the queue, so the sweeper leaves them alone for a while."""
    ids = list(alarm_ids)
    if ids:
        with kiosk.store.session() as session:
            session.execute(
                update(Alarm)
                .where(Alarm.id.in_(ids))
                .values(enqueued_at=kiosk.clock.now())
                .execution_options(synchronize_session=False)
            )


def mark_not_enqueued(kiosk: Kiosk, alarm_id: int) -> None:
    """The broker refused the alarm: let the very next sweep pick it up."""
    with kiosk.store.session() as session:
        session.execute(
            update(Alarm)
            .where(Alarm.id == alarm_id, Alarm.notification_status == AlarmStatus.PENDING)
            .values(enqueued_at=None)
            .execution_options(synchronize_session=False)
        )


def due_alarm_ids(kiosk: Kiosk, limit: int = SWEEP_BATCH) -> list[int]:
    """Alarms that need a worker and may not be on the queue, oldest first."""
    now = kiosk.clock.now()
    condition = and_(
        alarm_state.due(now, retry_grace=DUE_GRACE),
        or_(Alarm.enqueued_at.is_(None), Alarm.enqueued_at < now - STALE_ENQUEUE),
    )
    with kiosk.store.read() as session:
        return list(session.scalars(select(Alarm.id).where(condition).order_by(Alarm.id).limit(limit)))


def sweep(kiosk: Kiosk) -> int:
    """Enqueue every alarm that is due; returns how many were queued."""
    queued = [alarm_id for alarm_id in due_alarm_ids(kiosk) if enqueue_delivery(kiosk.queue, alarm_id)]
    mark_enqueued(kiosk, queued)
    if queued:
        logger.info("Outbox sweep queued %d alarm(s): %s", len(queued), queued[:20])
    return len(queued)


def release_dead_claims(kiosk: Kiosk) -> int:
    """At worker start: claims this host's earlier (dead) worker held are taken back now."""
    host = alarm_state.worker_identity().split(":")[0]
    alive = {f"{host}:{pid}" for pid in _live_pids()}
    with kiosk.store.session() as session:
        released = alarm_state.release_dead_claims(session, host, alive, kiosk.clock.now())
    if released:
        logger.warning("Took back %d alarm(s) held by a worker that died mid-delivery", released)
    return released


def _live_pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:  # no /proc: rely on lease expiry alone
        return []
