"""Serving the admin page as a service: READY once the socket listens (within the connection
limits of `connections`), watchdog pings from the event loop (so a stuck loop gets the service
restarted), and an orderly stop on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import sdnotify
from aiohttp import web

from appliance.errors import UserError
from appliance.services.kiosk import Kiosk
from appliance.web.app import create_app
from appliance.web.connections import listen

logger = logging.getLogger(__name__)

# Well under any sensible WatchdogSec= (the unit should use 30 s or more).
WATCHDOG_INTERVAL = 5.0
SHUTDOWN_TIMEOUT = 5.0


async def _watchdog(notifier: sdnotify.SystemdNotifier) -> None:
    while True:
        notifier.notify("WATCHDOG=1")
        await asyncio.sleep(WATCHDOG_INTERVAL)


async def serve(kiosk: Kiosk, host: str, port: int, notifier: sdnotify.SystemdNotifier | None = None) -> int:
    """Start the site, report READY, wait for a stop signal, shut down in order."""
    notifier = notifier or sdnotify.SystemdNotifier()
    app = create_app(kiosk)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT, access_log=None)
    await runner.setup()
    try:
        listener, _ = await listen(runner, host, port)
    except OSError as exc:
        await runner.cleanup()
        raise UserError(
            "The admin page cannot listen on {host}:{port} ({problem}).",
            host=host,
            port=port,
            problem=exc.strerror or str(exc),
        ) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    logger.info("keryu web: serving the admin page at http://%s:%s/", shown, port)
    notifier.notify(f"READY=1\nSTATUS=Serving on {host}:{port}")
    watchdog = asyncio.create_task(_watchdog(notifier), name="watchdog")
    try:
        await stop.wait()
    finally:
        logger.info("keryu web: stopping")
        notifier.notify("STOPPING=1")
        watchdog.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watchdog
        listener.close()  # no new connections; the runner ends the open ones in order
        await runner.cleanup()
        await listener.wait_closed()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    logger.info("keryu web: stopped")
    return 0
