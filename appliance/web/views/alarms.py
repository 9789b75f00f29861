"""Alarms: newest first with filters and keyset paging, the detail page, retry, resolve, live events."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from appliance.errors import UserError
from appliance.messaging.registry import channel_name, channel_names
from appliance.services.alarms import alarm_record, get_alarm, list_alarms, resolve_alarm, retry_alarm
from appliance.services.kiosk import Kiosk
from appliance.services.metrics import alarm_counts
from appliance.services.subjects import list_subjects
from appliance.store.models import AlarmStatus
from appliance.web.keys import FEED
from appliance.web.render import flash, kiosk_of, redirect, render, run

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
KEEPALIVE_SECONDS = 15.0


def _int(value: str | None, what: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise UserError(f"The {what} must be a whole number.") from None


def _day(value: str | None, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"The {what} must be a date like 2026-01-31.") from None


def _filters(kiosk: Kiosk, query) -> dict[str, Any]:
    """The list's filters from the query string, checked; the date range is in the kiosk's zone."""
    status = (query.get("status") or "").upper() or None
    if status and status not in AlarmStatus.__members__:
        raise UserError(f"Unknown status {status!r}; use one of {', '.join(AlarmStatus)}.")
    since, until = _day(query.get("since"), "start date"), _day(query.get("until"), "end date")
    zone = kiosk.zone or datetime.now().astimezone().tzinfo
    return {
        "status": status,
        "subject_id": _int(query.get("subject_id"), "subject"),
        "since": datetime.combine(since, time(), zone) if since else None,
        "until": datetime.combine(until + timedelta(days=1), time(), zone) if until else None,
        "before_id": _int(query.get("before"), "page position"),
    }


def _page(kiosk: Kiosk, filters: dict[str, Any], limit: int) -> list[dict[str, object]]:
    with kiosk.store.read() as session:
        return [alarm_record(alarm, kiosk.zone) for alarm in list_alarms(session, limit=limit, **filters)]


def _subject_choices(kiosk: Kiosk) -> list[tuple[int, str]]:
    with kiosk.store.read() as session:
        return [(s.id, s.name) for s in list_subjects(session, limit=1000)]


def _detail(kiosk: Kiosk, alarm_id: int) -> tuple[dict[str, object], list[dict[str, object]], dict[str, object]]:
    with kiosk.store.read() as session:
        alarm = get_alarm(session, alarm_id)
        attempts = [
            {
                "channel": attempt.channel,
                "channel_name": channel_name(attempt.channel),
                "started_at": attempt.started_at,
                "outcome": attempt.outcome,
                "error_code": attempt.error_code,
                "error_message": attempt.error_message,
                "duration_ms": attempt.duration_ms,
                "provider_message_id": attempt.provider_message_id,
            }
            for attempt in alarm.attempts
        ]
        extra = {
            "resolved_at": alarm.resolved_at,
            "resolution_notes": alarm.resolution_notes,
            "provider_status": alarm.provider_status,
            "sent_at": alarm.sent_at,
            "delivered_at": alarm.delivered_at,
            "next_attempt_at": alarm.next_attempt_at,
        }
        return alarm_record(alarm, kiosk.zone), attempts, extra


def _dashboard(kiosk: Kiosk) -> tuple[dict[str, int], list[dict[str, object]]]:
    with kiosk.store.read() as session:
        counts = alarm_counts(session)
        recent = [alarm_record(alarm, kiosk.zone) for alarm in list_alarms(session, limit=10)]
        return counts, recent


def _without_before(query) -> dict[str, str]:
    return {key: value for key, value in query.items() if key != "before" and value}


def _alarm_id(request: web.Request) -> int:
    value = _int(request.match_info["alarm_id"], "alarm id")
    assert value is not None
    return value


async def dashboard(request: web.Request) -> web.Response:
    counts, recent = await run(request, _dashboard, kiosk_of(request))
    return await render(request, "dashboard.html", {"counts": counts, "alarms": recent, "live": True})


async def alarms_page(request: web.Request) -> web.Response:
    kiosk = kiosk_of(request)
    filters = _filters(kiosk, request.query)
    alarms = await run(request, _page, kiosk, filters, PAGE_SIZE)
    subjects = await run(request, _subject_choices, kiosk)
    next_query = None
    if len(alarms) == PAGE_SIZE:
        next_query = _without_before(request.query)
        next_query["before"] = str(alarms[-1]["id"])
    context = {
        "alarms": alarms,
        "subjects": subjects,
        "selected_subject": filters["subject_id"],
        "statuses": list(AlarmStatus),
        "query": dict(request.query),
        "next_query": next_query,
        "first_query": _without_before(request.query) if filters["before_id"] else None,
        # New alarms are added live only where they belong: the first page, no subject or date filter.
        "live": not (filters["before_id"] or filters["subject_id"] or filters["since"] or filters["until"]),
        "status_filter": filters["status"] or "",
    }
    return await render(request, "alarms.html", context)


async def alarm_page(request: web.Request) -> web.Response:
    record, attempts, extra = await run(request, _detail, kiosk_of(request), _alarm_id(request))
    context = {"alarm": record, "attempts": attempts, "extra": extra, "channels": channel_names()}
    return await render(request, "alarm.html", context)


async def retry_submit(request: web.Request) -> web.Response:
    alarm_id = _alarm_id(request)
    await run(request, retry_alarm, kiosk_of(request), alarm_id)
    await flash(request, f"Alarm #{alarm_id} is queued again from its first channel.")
    redirect(request, "alarm", alarm_id=str(alarm_id))


async def resolve_submit(request: web.Request) -> web.Response:
    alarm_id = _alarm_id(request)
    notes = str((await request.post()).get("notes", ""))
    await run(request, resolve_alarm, kiosk_of(request), alarm_id, notes)
    await flash(request, f"Alarm #{alarm_id} marked as resolved.")
    redirect(request, "alarm", alarm_id=str(alarm_id))


def _event(record: dict[str, object]) -> bytes:
    data = json.dumps(record, ensure_ascii=False, default=str)
    return f"event: alarm\ndata: {data}\n\n".encode()


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: every new or changed alarm as its contract record."""
    feed = request.app[FEED]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    queue = feed.subscribe()
    try:
        await response.write(b"retry: 3000\n\n")
        while True:
            try:
                record = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            if record is None:
                break
            await response.write(_event(record))
    except (ConnectionResetError, ConnectionError):
        logger.debug("A live client went away")
    finally:
        feed.unsubscribe(queue)
    return response
