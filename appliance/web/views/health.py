"""Health (page and `/api/health`), Prometheus metrics, and the database backup download."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from appliance.clock import utcnow
from appliance.services.backup import backup_to
from appliance.services.health import check_health
from appliance.services.kiosk import Kiosk
from appliance.services.update.machine import overview, web_paths
from appliance.web.keys import FEED, STATE
from appliance.web.middlewares import AUTH_KIND
from appliance.web.render import kiosk_of, render

logger = logging.getLogger(__name__)

CHUNK = 256 * 1024


async def _health(request: web.Request) -> dict[str, Any]:
    report = await asyncio.to_thread(check_health, kiosk_of(request), include_web=False)
    # This process is answering, so the web component is fine; say how many pages watch live.
    report["components"]["web"] = {"status": "ok", "live_clients": request.app[FEED].subscriber_count}
    return report


def _for_strangers(report: dict[str, Any]) -> dict[str, Any]:
    """Only the states: versions, paths, sizes and error texts help an attacker more than a monitor."""
    components = {name: {"status": part["status"]} for name, part in report["components"].items()}
    return {"status": report["status"], "components": components}


async def api_health(request: web.Request) -> web.Response:
    """Open to monitors with the states only; the whole report with the session or the API token."""
    if request.query.get("self"):  # `keryu status` asking whether this process answers at all
        return web.json_response({"status": "ok"})
    report = await _health(request)
    return web.json_response(report if request[AUTH_KIND] else _for_strangers(report))


async def health_page(request: web.Request) -> web.Response:
    kiosk = kiosk_of(request)
    updates = await asyncio.to_thread(overview, web_paths(kiosk.settings.data_dir), kiosk.settings.reboot_window)
    return await render(request, "health.html", {"health": await _health(request), "updates": updates})


async def metrics(request: web.Request) -> web.Response:
    body = await asyncio.to_thread(generate_latest, request.app[STATE].metrics)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _backup(kiosk: Kiosk) -> Path:
    run_dir = kiosk.settings.data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="web-backup-", suffix=".db", dir=run_dir)
    os.close(handle)
    path = Path(name)
    path.unlink()  # the backup writes a new file there
    backup_to(kiosk, path)
    return path


async def backup_download(request: web.Request) -> web.StreamResponse:
    """An online backup of the database, streamed to the browser and then deleted here."""
    path = await asyncio.to_thread(_backup, kiosk_of(request))
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    try:
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/vnd.sqlite3",
                "Content-Disposition": f'attachment; filename="keryu-backup-{stamp}.db"',
                "Content-Length": str(path.stat().st_size),
            }
        )
        await response.prepare(request)
        with path.open("rb") as source:
            while chunk := await asyncio.to_thread(source.read, CHUNK):
                await response.write(chunk)
        await response.write_eof()
        logger.info("Database backup downloaded by %s", request.remote)
        return response
    finally:
        path.unlink(missing_ok=True)
