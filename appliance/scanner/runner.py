"""`keryu scanner`: camera frames become alarms, with LED and buzzer feedback.

The service is a list of steps: stop on SIGTERM/SIGINT, build the feedback, the dispatcher thread
(queueing alarms), the frame handler and loop, and the health watch (idle LED pattern); then turn
the loop until stopped. systemd hears READY once the loop runs, WATCHDOG while it keeps running,
STOPPING on SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

import sdnotify

from appliance.feedback import make_feedback
from appliance.scanner.desk_clerk import DeskClerk
from appliance.scanner.dispatch import Dispatcher
from appliance.scanner.frames import FrameHandler
from appliance.scanner.health_watch import HealthWatch
from appliance.scanner.loop import ScannerLoop
from appliance.scanner.selftest import check_outputs
from appliance.services.kiosk import Kiosk

logger = logging.getLogger(__name__)


def stop_on_signals() -> threading.Event:
    """An event that SIGTERM (systemd stopping the unit) or SIGINT (Ctrl-C) sets."""
    stop = threading.Event()

    def _handler(signum: int, _frame: object) -> None:
        logger.info("Scanner stopping (%s)", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    return stop


def run_loop(loop: ScannerLoop, stop: threading.Event, between: Callable[[], None] = lambda: None) -> None:
    """Turn the loop until `stop` is set, waiting between turns as long as it asks (a signal cuts the wait).

    `between` runs once a turn: the admin page's requests (scanner/desk_clerk.py).
    """
    while not stop.is_set():
        wait = loop.step()
        between()
        stop.wait(wait)


def main(kiosk: Kiosk, *, camera_spec: str | None = None, decoder: str | None = None) -> int:
    """`keryu scanner`: the service in the foreground, as keryu-scanner.service runs it."""
    stop = stop_on_signals()
    notifier = sdnotify.SystemdNotifier()
    feedback = make_feedback(kiosk.settings)
    dispatcher = Dispatcher(kiosk)
    frames = FrameHandler(kiosk, feedback, decoder=decoder or kiosk.settings.decoder, submit=dispatcher.submit)
    clerk = DeskClerk(
        kiosk.settings,
        feedback,
        camera=lambda: loop.status().camera,
        last_payloads=lambda: frames.last_payloads,
        outputs=check_outputs,
    )
    camera = camera_spec or kiosk.settings.camera
    loop = ScannerLoop(kiosk, frames, camera_spec=camera, notify=notifier.notify, on_frame=clerk.saw)
    health = HealthWatch(kiosk, feedback)
    try:
        frames.warm_up()
        run_loop(loop, stop, clerk.serve)
    finally:
        clerk.close()
        health.close()
        notifier.notify("STOPPING=1")
        dispatcher.close()  # what it cannot queue in time stays PENDING for the sweeper
        loop.close()
        feedback.close()
    return 0
