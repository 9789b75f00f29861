"""`keryu worker` and `keryu beat`: the two Celery processes, each a short list of steps.

A kiosk runs only the worker, with the scheduler as a thread of it (`appliance.worker.beat`);
`keryu beat` is the scheduler alone, for a fleet whose workers run with `--no-beat`.
"""

from __future__ import annotations

import logging
import socket

from celery import signals

from appliance.config import Settings
from appliance.queue import ALARMS_QUEUE, DEFAULT_QUEUE
from appliance.services import outbox
from appliance.services.kiosk import Kiosk
from appliance.services.publish.runner import build_publisher
from appliance.worker import beat
from appliance.worker.tasks import register_tasks

logger = logging.getLogger(__name__)


# Deliveries in flight at once, each on its own thread: while one waits for its provider or for
# the disk, the others go on, and their commits share fsyncs (group commit; bench/README.md).
DELIVERY_THREADS = 4


def build_kiosk(settings: Settings) -> Kiosk:
    kiosk = Kiosk.from_settings(settings, group_commit=True)
    kiosk.store.require_schema()
    register_tasks(kiosk.celery, kiosk)
    return kiosk


def run_worker(settings: Settings, *, with_beat: bool = True) -> int:
    """Run one worker process on both queues; at start, take back dead claims and sweep the outbox.

    A pool of `DELIVERY_THREADS` threads, not prefork: prefork would fork children each holding
    a second copy of everything. Each thread holds at most one message (prefetch of one per
    thread), acknowledged only once its alarm's outcome is committed and on disk (late
    acknowledgement); claims make two threads on one alarm impossible, as two workers.
    With `with_beat`, the scheduler starts as a thread once the worker is ready; so does the
    publisher (MQTT, outbound webhook) when one is configured (services/publish/runner.py).
    """
    kiosk = build_kiosk(settings)
    scheduler = beat.embedded_beat(kiosk) if with_beat else None
    publisher = build_publisher(kiosk)

    @signals.worker_ready.connect(weak=False)
    def _recover(**_kwargs) -> None:
        outbox.release_dead_claims(kiosk)
        outbox.sweep(kiosk)
        if scheduler is not None:
            scheduler.start()
        if publisher is not None:
            publisher.start()

    worker = kiosk.celery.Worker(
        pool="threads",
        concurrency=DELIVERY_THREADS,
        queues=[ALARMS_QUEUE, DEFAULT_QUEUE],
        hostname=f"keryu@{socket.gethostname()}",
        loglevel=settings.log_level,
        without_gossip=True,
        without_mingle=True,
        optimization="fair",
    )
    try:
        worker.start()
    finally:
        if publisher is not None:
            publisher.stop()  # says "offline" to the broker
        if scheduler is not None and scheduler.is_alive():
            scheduler.stop()  # saves the schedule file
    return worker.exitcode or 0


def run_beat(settings: Settings) -> int:
    """Run the scheduler alone: outbox sweep, Twilio status poll, retention cleanup."""
    kiosk = build_kiosk(settings)
    scheduler = beat.prepare(kiosk)
    service = kiosk.celery.Beat(
        scheduler=scheduler,
        schedule=str(settings.run_dir / "celerybeat-schedule"),
        loglevel=settings.log_level,
        max_interval=5,
    )
    service.run()
    return 0
