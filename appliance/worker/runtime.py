"""`keryu worker` and `keryu beat`: the two Celery processes, each a short list of steps.

A kiosk runs only the worker, with the scheduler as a thread of it (`appliance.worker.beat`);
`keryu beat` is the scheduler alone, for a fleet whose workers run with `--no-beat`.
"""

from __future__ import annotations

import logging
import socket

from celery import Celery, signals

from appliance.config import Settings
from appliance.long_lived import freeze_startup_objects
from appliance.services import outbox
from appliance.services.kiosk import Kiosk
from appliance.services.publish.runner import build_publisher
from appliance.worker import beat
from appliance.worker.app import ALARMS_QUEUE, DEFAULT_QUEUE, make_celery
from appliance.worker.presence import Presence
from appliance.worker.tasks import register_tasks

logger = logging.getLogger(__name__)


# Deliveries in flight at once, each on its own thread: while one waits for its provider or for
# the disk, the others go on, and their commits share fsyncs (group commit; bench/README.md).
DELIVERY_THREADS = 4


def build_app(settings: Settings) -> tuple[Celery, Kiosk]:
    """The Celery app with the tasks of this process's kiosk bound to it."""
    kiosk = Kiosk.from_settings(settings, group_commit=True)
    kiosk.store.require_schema()
    app = make_celery(settings)
    register_tasks(app, kiosk)
    return app, kiosk


def run_worker(settings: Settings, *, with_beat: bool = True) -> int:
    """Run one worker process on both queues; at start, take back dead claims and sweep the outbox.

    A pool of `DELIVERY_THREADS` threads, not prefork: prefork would fork children each holding
    a second copy of everything. Each thread holds at most one message (prefetch of one per
    thread), acknowledged only once its alarm's outcome is committed and on disk (late
    acknowledgement); claims make two threads on one alarm impossible, as two workers.
    Once the worker is ready it announces itself in Redis for health (`worker/presence.py`);
    with `with_beat` the scheduler starts as a thread; so does the publisher (MQTT, outbound
    webhook) when one is configured (services/publish/runner.py).
    """
    app, kiosk = build_app(settings)
    scheduler = beat.embedded_beat(app, kiosk) if with_beat else None
    publisher = build_publisher(kiosk)
    hostname = f"keryu@{socket.gethostname()}"
    presence = Presence(kiosk.queue, hostname)

    @signals.worker_ready.connect(weak=False)
    def _recover(sender, **_kwargs) -> None:
        freeze_startup_objects()  # here, not before: Celery imports and builds its consumer while starting
        outbox.release_dead_claims(kiosk)
        outbox.sweep(kiosk)
        presence.start(sender)
        if scheduler is not None:
            scheduler.start()
        if publisher is not None:
            publisher.start()

    worker = app.Worker(
        pool="threads",
        concurrency=DELIVERY_THREADS,
        queues=[ALARMS_QUEUE, DEFAULT_QUEUE],
        hostname=hostname,
        loglevel=settings.log_level,
        without_gossip=True,
        without_mingle=True,
        optimization="fair",
    )
    try:
        worker.start()
    finally:
        presence.withdraw()
        if publisher is not None:
            publisher.stop()  # says "offline" to the broker
        if scheduler is not None and scheduler.is_alive():
            scheduler.stop()  # saves the schedule file
    return worker.exitcode or 0


def run_beat(settings: Settings) -> int:
    """Run the scheduler alone: outbox sweep, Twilio status poll, retention cleanup."""
    app, kiosk = build_app(settings)
    scheduler = beat.prepare(app, kiosk)
    service = app.Beat(
        scheduler=scheduler,
        schedule=str(settings.run_dir / "celerybeat-schedule"),
        loglevel=settings.log_level,
        max_interval=5,
    )
    service.run()
    return 0
