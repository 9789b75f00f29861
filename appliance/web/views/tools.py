"""Tools: what an owner needs without SSH. Self-test, camera preview, logs, restart and reboot.

The self-test and the preview are the scanner's to do (it owns the camera and the pins): the page
asks through the desk (scanner/desk.py) and waits for the answer. Logs come from
services/logs.py, restart and reboot go through web/power.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import web

from appliance.clock import utcnow
from appliance.scanner import desk
from appliance.scanner.heartbeat import read_scanner_status
from appliance.services.logs import export_logs
from appliance.web.language import _
from appliance.web.power import ACTIONS, power_available, request_power
from appliance.web.render import flash, kiosk_of, redirect, render

logger = logging.getLogger(__name__)

SELFTEST_WAIT = 20.0  # blink, blink, beep take about 4 s; a busy Pi answers well within this
POLL = 0.2
PREVIEW_REFRESH = 2  # seconds between reloads of the preview page

NOT_ANSWERED = (
    "The scanner did not answer within {seconds:g} s. It may not be running: see Health, or restart the services below."
)


async def tools_page(request: web.Request) -> web.Response:
    return await render(request, "tools.html", await _context(request))


async def _context(request: web.Request, **extra: Any) -> dict[str, Any]:
    settings = kiosk_of(request).settings
    scanner = await asyncio.to_thread(read_scanner_status, settings)
    return {
        "scanner": scanner,
        "power_available": await asyncio.to_thread(power_available),
        "actions": ACTIONS,
        "selftest": None,
        "selftest_error": None,
        **extra,
    }


async def selftest_submit(request: web.Request) -> web.Response:
    """Ask the scanner for a self-test and wait for its answer (the LEDs blink meanwhile)."""
    settings = kiosk_of(request).settings
    request_id = await asyncio.to_thread(desk.request_selftest, settings)
    logger.info("Self-test asked from the admin page by %s", request.remote)
    deadline = time.monotonic() + SELFTEST_WAIT
    answer = None
    while answer is None and time.monotonic() < deadline:
        await asyncio.sleep(POLL)
        answer = await asyncio.to_thread(desk.read_answer, settings, request_id)
    if answer is None:
        error = NOT_ANSWERED.format(seconds=SELFTEST_WAIT)
        return await render(request, "tools.html", await _context(request, selftest_error=error), status=504)
    return await render(request, "tools.html", await _context(request, selftest=answer))


async def snapshot(request: web.Request) -> web.StreamResponse:
    """The frame a self-test answered with."""
    request_id = request.match_info["request_id"]
    path = desk.snapshot_path(kiosk_of(request).settings, request_id)
    if not desk.valid_id(request_id) or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg"})


async def preview_page(request: web.Request) -> web.Response:
    """The camera's view, the last card it read and its pixels per module; reloads itself."""
    settings = kiosk_of(request).settings
    await asyncio.to_thread(desk.want_preview, settings)
    status = await asyncio.to_thread(desk.read_preview_status, settings)
    scanner = await asyncio.to_thread(read_scanner_status, settings)
    context = {
        "preview": status,
        "scanner": scanner,
        "reliable_ppm": desk.READS_RELIABLY_FROM,
        "design_ppm": desk.DESIGN_FOR,
        "stamp": int(time.time()),
    }
    response = await render(request, "preview.html", context)
    response.headers["Refresh"] = str(PREVIEW_REFRESH)
    return response


async def preview_image(request: web.Request) -> web.StreamResponse:
    settings = kiosk_of(request).settings
    await asyncio.to_thread(desk.want_preview, settings)
    path = desk.desk_dir(settings) / desk.PREVIEW_IMAGE
    if not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg"})


async def logs_download(request: web.Request) -> web.Response:
    """The last 24 hours of logs as a text file, secrets hidden."""
    export = await asyncio.to_thread(export_logs, kiosk_of(request))
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    logger.info("Logs downloaded by %s (from %s)", request.remote, export.source)
    return web.Response(
        text=export.text,
        content_type="text/plain",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="keryu-logs-{stamp}.txt"'},
    )


async def power_submit(request: web.Request) -> web.Response:
    """Leave a restart or reboot request for the root path unit (web/power.py)."""
    action = request.match_info["action"]
    if action not in ACTIONS:
        raise web.HTTPNotFound()
    settings = kiosk_of(request).settings
    await asyncio.to_thread(request_power, settings, action)
    logger.warning("%s asked from the admin page by %s", action.capitalize(), request.remote)
    if await asyncio.to_thread(power_available):
        await flash(
            request, _("{action}. This page comes back by itself when it is done.").format(action=_(ACTIONS[action]))
        )
    else:
        await flash(
            request,
            _(
                "Nothing carries this out here: the kiosk's systemd units are not installed "
                "(a checkout run by ./startup.sh; use ./startup.sh restart)."
            ),
            "error",
        )
    redirect(request, "tools")
