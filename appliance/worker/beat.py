"""The periodic jobs (outbox sweep, Twilio status poll, retention cleanup) and the scheduler that sends them.

On a kiosk the scheduler is a thread of the worker (`embedded_beat`): one Python process fewer on
a 512 MB Pi. A fleet with several workers runs it once, as `keryu beat`, and starts its workers
with `--no-beat`. Either way it touches the beat heartbeat that health reads after each job it
hands to Redis.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

from celery import Celery
from celery.beat import EmbeddedService, PersistentScheduler, ScheduleEntry

from appliance.services.health import beat_heartbeat_path
from appliance.services.kiosk import Kiosk
from appliance.worker.app import CLEANUP_TASK, ESCALATE_TASK, POLL_TASK, SWEEP_TASK

logger = logging.getLogger(__name__)

SWEEP_EVERY = 15.0
POLL_EVERY = 60.0
CLEANUP_EVERY = 6 * 3600.0
ESCALATE_EVERY = 30.0

SCHEDULE = {
    "sweep-outbox": {"task": SWEEP_TASK, "schedule": SWEEP_EVERY, "options": {"expires": SWEEP_EVERY}},
    "poll-delivery-status": {"task": POLL_TASK, "schedule": POLL_EVERY, "options": {"expires": POLL_EVERY}},
    "cleanup-old-records": {"task": CLEANUP_TASK, "schedule": CLEANUP_EVERY},
    "escalate-alarms": {"task": ESCALATE_TASK, "schedule": ESCALATE_EVERY, "options": {"expires": ESCALATE_EVERY}},
}


class HeartbeatScheduler(PersistentScheduler):
    """Celery's file-backed scheduler, touching `heartbeat` after each job Redis accepted.

    The file's age is what health reports: a beat that is stuck, or cannot reach Redis, stops
    touching it.
    """

    def __init__(self, *args: Any, heartbeat: Path, **kwargs: Any) -> None:
        self.heartbeat = heartbeat
        super().__init__(*args, **kwargs)

    def apply_async(self, entry: ScheduleEntry, producer: Any = None, advance: bool = True, **kwargs: Any) -> Any:
        result = super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        _touch_file(self.heartbeat)
        return result


def prepare(app: Celery, kiosk: Kiosk) -> partial[HeartbeatScheduler]:
    """Put the schedule on the Celery app; the scheduler class to run it with.

    A previous beat's heartbeat is removed: it must not vouch for this one.
    """
    app.conf.beat_schedule = SCHEDULE
    heartbeat = beat_heartbeat_path(kiosk)
    heartbeat.parent.mkdir(parents=True, exist_ok=True)
    heartbeat.unlink(missing_ok=True)
    return partial(HeartbeatScheduler, heartbeat=heartbeat)


def embedded_beat(app: Celery, kiosk: Kiosk) -> Any:
    """The scheduler as a daemon thread of this process (not yet started); `stop()` ends it.

    Its own schedule file: a `keryu beat` beside it (a fleet in transition, a test) keeps its own.
    """
    scheduler = prepare(app, kiosk)
    return EmbeddedService(
        app,
        thread=True,
        scheduler_cls=scheduler,
        schedule_filename=str(kiosk.settings.run_dir / "worker-beat-schedule"),
    )


def _touch_file(path: Path) -> None:
    try:
        path.touch()
    except OSError as exc:  # health will show the beat as stale; scheduling goes on
        logger.warning("Cannot touch beat heartbeat %s: %s", path, exc)
