"""`keryu worker` and `keryu beat`: the two Celery processes, each a short list of steps."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

from celery import signals

from appliance.config import Settings
from appliance.queue import ALARMS_QUEUE, CLEANUP_TASK, DEFAULT_QUEUE, POLL_TASK, SWEEP_TASK
from appliance.services import outbox
from appliance.services.health import beat_heartbeat_path
from appliance.services.kiosk import Kiosk
from appliance.worker.tasks import register_tasks

logger = logging.getLogger(__name__)

SWEEP_EVERY = 15.0
POLL_EVERY = 60.0
CLEANUP_EVERY = 6 * 3600.0


def build_kiosk(settings: Settings) -> Kiosk:
    kiosk = Kiosk.from_settings(settings)
    kiosk.store.require_schema()
    register_tasks(kiosk.celery, kiosk)
    return kiosk


def run_worker(settings: Settings) -> int:
    """Run one solo-pool worker on both queues; at start, take back dead claims and sweep the outbox."""
    kiosk = build_kiosk(settings)

    @signals.worker_ready.connect(weak=False)
    def _recover(**_kwargs) -> None:
        outbox.release_dead_claims(kiosk)
        outbox.sweep(kiosk)

    worker = kiosk.celery.Worker(
        pool="solo",
        concurrency=1,
        queues=[ALARMS_QUEUE, DEFAULT_QUEUE],
        hostname=f"keryu@{socket.gethostname()}",
        loglevel=settings.log_level,
        without_gossip=True,
        without_mingle=True,
        optimization="fair",
    )
    worker.start()
    return worker.exitcode or 0


def run_beat(settings: Settings) -> int:
    """Run the scheduler: outbox sweep, Twilio status poll, retention cleanup."""
    kiosk = build_kiosk(settings)
    run_dir = settings.data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    heartbeat = beat_heartbeat_path(kiosk)
    heartbeat.unlink(missing_ok=True)  # a previous beat's heartbeat must not vouch for this one

    @signals.before_task_publish.connect(weak=False)
    def _touch(**_kwargs) -> None:
        _touch_file(heartbeat)

    kiosk.celery.conf.beat_schedule = {
        "sweep-outbox": {"task": SWEEP_TASK, "schedule": SWEEP_EVERY, "options": {"expires": SWEEP_EVERY}},
        "poll-delivery-status": {"task": POLL_TASK, "schedule": POLL_EVERY, "options": {"expires": POLL_EVERY}},
        "cleanup-old-records": {"task": CLEANUP_TASK, "schedule": CLEANUP_EVERY},
    }
    beat = kiosk.celery.Beat(
        schedule=str(run_dir / "celerybeat-schedule"),
        loglevel=settings.log_level,
        max_interval=5,
    )
    beat.run()
    return 0


def _touch_file(path: Path) -> None:
    try:
        path.touch()
    except OSError as exc:  # health will show the beat as stale; scheduling goes on
        logger.warning("Cannot touch beat heartbeat %s: %s", path, exc)
