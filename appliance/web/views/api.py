"""The JSON API for scripts (session or `Authorization: Bearer $KERYU_API_TOKEN`)."""

from __future__ import annotations

import json

from aiohttp import web

from appliance.errors import UserError
from appliance.services.alarms import MAX_PAGE, alarm_record, get_alarm
from appliance.services.kiosk import Kiosk
from appliance.services.scans import ScanSource, handle_scan
from appliance.services.subjects import list_subjects
from appliance.web.render import kiosk_of, run
from appliance.web.views.alarms import PAGE_SIZE, _filters, _int, _page
from appliance.web.views.subjects import subject_view


def _json(value: object, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False, default=str))


async def alarms(request: web.Request) -> web.Response:
    """Newest first; `limit` (1-500), `status`, `subject_id`, `since`/`until` (dates), `before` (an id)."""
    kiosk = kiosk_of(request)
    limit = _int(request.query.get("limit"), "limit")
    limit = PAGE_SIZE if limit is None else limit
    if not 1 <= limit <= MAX_PAGE:
        raise UserError(f"The limit must be between 1 and {MAX_PAGE}.")
    return _json(await run(request, _page, kiosk, _filters(kiosk, request.query), limit))


def _one_alarm(kiosk: Kiosk, alarm_id: int) -> dict[str, object]:
    with kiosk.store.read() as session:
        alarm = get_alarm(session, alarm_id)
        record = alarm_record(alarm, kiosk.zone)
        record["attempts"] = [
            {
                "channel": a.channel,
                "started_at": a.started_at.isoformat(),
                "outcome": a.outcome,
                "error_code": a.error_code,
                "error_message": a.error_message,
            }
            for a in alarm.attempts
        ]
        return record


async def alarm(request: web.Request) -> web.Response:
    alarm_id = _int(request.match_info["alarm_id"], "alarm id")
    return _json(await run(request, _one_alarm, kiosk_of(request), alarm_id))


def _subjects(kiosk: Kiosk, search: str) -> list[dict[str, object]]:
    with kiosk.store.read() as session:
        return [subject_view(s, kiosk.settings.public_url) for s in list_subjects(session, search=search, limit=5000)]


async def subjects(request: web.Request) -> web.Response:
    return _json(await run(request, _subjects, kiosk_of(request), request.query.get("q", "")))


async def scans(request: web.Request) -> web.Response:
    """`{"payload": "..."}` takes the same path as a camera decode; the answer says what happened."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError('The body must be JSON like {"payload": "<scan URL or card UUID>"}.') from None
    payload = body.get("payload") if isinstance(body, dict) else None
    if not isinstance(payload, str) or not payload.strip():
        raise UserError('The body must be JSON like {"payload": "<scan URL or card UUID>"}.')
    result = await run(request, handle_scan, kiosk_of(request), payload, ScanSource.API)
    answer = {
        "outcome": str(result.outcome),
        "accepted": result.accepted,
        "alarm_id": result.alarm_id,
        "card_uuid": result.card_uuid,
        "subject_id": result.subject_id,
        "subject_name": result.subject_name,
    }
    return _json(answer, status=201 if result.accepted else 200)
