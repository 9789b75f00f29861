"""The JSON API for scripts (session or `Authorization: Bearer $KERYU_API_TOKEN`)."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from appliance.errors import UserError
from appliance.i18n import N_
from appliance.messaging.phone import read_phone
from appliance.services.alarms import get_alarm, resolve_alarm, retry_alarm
from appliance.services.scans import ScanSource, handle_scan
from appliance.services.subjects import list_subjects
from appliance.web.language import current_language
from appliance.web.page_cache import cached_records
from appliance.web.render import json_text, kiosk_of
from appliance.web.views.alarms import PAGE_SIZE, alarm_filters, whole_number


def _json(value: object, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=json_text)


async def alarms(request: web.Request) -> web.Response:
    """Newest first; `limit` (1-500), `status`, `subject_id`, `since`/`until` (dates), `before` (an id)."""
    kiosk = kiosk_of(request)
    limit = whole_number(request.query.get("limit"), N_("limit"))
    filters = alarm_filters(kiosk, request.query)
    records = await cached_records(request, limit=PAGE_SIZE if limit is None else limit, **filters)
    return web.json_response(text=records)


async def alarm(request: web.Request) -> web.Response:
    alarm_id = whole_number(request.match_info["alarm_id"], N_("alarm id"))
    found = await asyncio.to_thread(get_alarm, kiosk_of(request), alarm_id)
    return _json(found.record_with_attempts())


async def alarm_retry(request: web.Request) -> web.Response:
    """Send a FAILED alarm again from its first channel; the answer is its record, now PENDING."""
    alarm_id = whole_number(request.match_info["alarm_id"], N_("alarm id"))
    found = await asyncio.to_thread(retry_alarm, kiosk_of(request), alarm_id)
    return _json(found.record_with_attempts())


async def alarm_resolve(request: web.Request) -> web.Response:
    """`{"note": "..."}` (optional) marks the alarm resolved; the answer is its record."""
    note = ""
    if request.can_read_body:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise UserError('The body must be JSON like {"note": "Picked up by her father"}, or empty.') from None
        note = body.get("note", "") if isinstance(body, dict) else None
        if not isinstance(note, str):
            raise UserError('The body must be JSON like {"note": "Picked up by her father"}, or empty.')
    alarm_id = whole_number(request.match_info["alarm_id"], N_("alarm id"))
    found = await asyncio.to_thread(resolve_alarm, kiosk_of(request), alarm_id, note)
    return _json(found.record_with_attempts())


async def phone_preview(request: web.Request) -> web.Response:
    """`?phone=...`: the number as the kiosk would store it, so a form can show it before saving (400: why not)."""
    typed = request.query.get("phone", "")
    reading = read_phone(typed, kiosk_of(request).settings.default_region, current_language())
    country = f" ({reading.country})" if reading.country else ""
    return _json(
        {
            "e164": reading.e164,
            "international": reading.international,
            "region": reading.region,
            "country": reading.country,
            "rewritten": reading.rewritten,
            "shown": f"{reading.international}{country}",
        }
    )


async def subjects(request: web.Request) -> web.Response:
    found = await asyncio.to_thread(list_subjects, kiosk_of(request), search=request.query.get("q", ""), limit=5000)
    return _json([subject.as_json() for subject in found])


async def scans(request: web.Request) -> web.Response:
    """`{"payload": "..."}` takes the same path as a camera decode; the answer says what happened."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError('The body must be JSON like {"payload": "<scan URL or card UUID>"}.') from None
    payload = body.get("payload") if isinstance(body, dict) else None
    if not isinstance(payload, str) or not payload.strip():
        raise UserError('The body must be JSON like {"payload": "<scan URL or card UUID>"}.')
    result = await asyncio.to_thread(handle_scan, kiosk_of(request), payload, ScanSource.API)
    answer = {
        "outcome": str(result.outcome),
        "accepted": result.accepted,
        "alarm_id": result.alarm_id,
        "card_uuid": result.card_uuid,
        "subject_id": result.subject_id,
        "subject_name": result.subject_name,
    }
    return _json(answer, status=201 if result.accepted else 200)
