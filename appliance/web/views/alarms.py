"""Alarms: newest first with filters and keyset paging, the detail page, retry, resolve, live events."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from markupsafe import Markup

from appliance.errors import UserError
from appliance.i18n import N_, Sentence
from appliance.services.alarms import (
    STATUSES,
    get_alarm,
    resolve_alarm,
    retry_alarm,
    retry_blocker,
)
from appliance.services.kiosk import Kiosk
from appliance.web.keys import FEED
from appliance.web.language import _, current_language, stored
from appliance.web.page_cache import (
    ALARM_LISTS,
    AlarmListCache,
    AlarmTable,
    Filters,
    cached_table,
    filter_key,
    shows_new_alarms,
)
from appliance.web.render import flash, kiosk_of, redirect, render
from appliance.web.shared_reads import shared_read

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
KEEPALIVE_SECONDS = 15.0


# SQLite integers are signed 64-bit: a larger id or limit would be an OverflowError, not a miss.
MAX_WHOLE_NUMBER = 2**63 - 1


def whole_number(value: str | None, what: str) -> int | None:
    """A query or path number, checked: anything but a whole number SQLite can hold is a 400.

    `what`: the number's name in the sentence a person reads, a msgid (`N_("alarm id")`).
    """
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise UserError("The {what} must be a whole number.", what=Sentence(what)) from None
    if abs(number) > MAX_WHOLE_NUMBER:
        raise UserError("The {what} is too large.", what=Sentence(what))
    return number


def _day(value: str | None, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError("The {what} must be a date like 2026-01-31.", what=Sentence(what)) from None


def alarm_filters(kiosk: Kiosk, query) -> dict[str, Any]:
    """The list's filters from the query string, checked; the date range is in the kiosk's zone."""
    since, until = _day(query.get("since"), N_("start date")), _day(query.get("until"), N_("end date"))
    zone = kiosk.zone or datetime.now().astimezone().tzinfo
    return {
        "status": (query.get("status") or "").upper() or None,
        "subject_id": whole_number(query.get("subject_id"), N_("subject")),
        "since": datetime.combine(since, time(), zone) if since else None,
        "until": datetime.combine(until + timedelta(days=1), time(), zone) if until else None,
        "before_id": whole_number(query.get("before"), N_("page position")),
    }


def _without_before(query) -> dict[str, str]:
    return {key: value for key, value in query.items() if key != "before" and value}


def _alarm_id(request: web.Request) -> int:
    value = whole_number(request.match_info["alarm_id"], N_("alarm id"))
    assert value is not None
    return value


async def dashboard(request: web.Request) -> web.Response:
    table = await cached_table(request, current_language(), limit=10)  # the counts come with it: one read
    return await render(request, "dashboard.html", {"counts": table.counts, "alarm_table": table.html, "live": True})


def _list_and_subjects(
    cache: AlarmListCache, filters: Filters, language: str, subject_id: int | None
) -> tuple[AlarmTable, Markup]:
    """The alarm list page's reads, in one trip to a worker thread."""
    return cache.table(filters, language), cache.subject_options(subject_id)


async def alarms_page(request: web.Request) -> web.Response:
    filters = alarm_filters(kiosk_of(request), request.query)
    cache, key, language = request.app[ALARM_LISTS], filter_key(limit=PAGE_SIZE, **filters), current_language()
    subject_id = filters["subject_id"]
    table, subject_options = await shared_read(
        request,
        ("alarm list page", key, language),  # the key holds the subject too
        lambda: _list_and_subjects(cache, key, language, subject_id),
    )
    alarms = table.alarms
    next_query = None
    if len(alarms) == PAGE_SIZE:
        next_query = _without_before(request.query)
        next_query["before"] = str(alarms[-1].id)
    context = {
        "alarm_table": table.html,
        "subject_options": subject_options,
        "statuses": STATUSES,
        "query": dict(request.query),
        "next_query": next_query,
        "first_query": _without_before(request.query) if filters["before_id"] else None,
        "live": shows_new_alarms(filters),
    }
    return await render(request, "alarms.html", context)


async def alarm_page(request: web.Request) -> web.Response:
    kiosk = kiosk_of(request)
    alarm = await asyncio.to_thread(get_alarm, kiosk, _alarm_id(request))
    return await render(request, "alarm.html", {"alarm": alarm, "retry_blocker": retry_blocker(kiosk, alarm)})


async def retry_submit(request: web.Request) -> web.Response:
    alarm_id = _alarm_id(request)
    await asyncio.to_thread(retry_alarm, kiosk_of(request), alarm_id)
    await flash(request, _("Alarm #{id} is queued again from its first channel.").format(id=alarm_id))
    redirect(request, "alarm", alarm_id=str(alarm_id))


async def resolve_submit(request: web.Request) -> web.Response:
    alarm_id = _alarm_id(request)
    notes = str((await request.post()).get("notes", ""))
    await asyncio.to_thread(resolve_alarm, kiosk_of(request), alarm_id, notes)
    await flash(request, _("Alarm #{id} marked as resolved.").format(id=alarm_id))
    redirect(request, "alarm", alarm_id=str(alarm_id))


def _in_reader_language(record: dict[str, Any]) -> dict[str, Any]:
    """A live record as this page shows it: our stored sentences (errors, the escalation's reason) in
    the request's language, like the page's first drawing. The API's JSON keeps the stored text."""
    shown = {**record, "notification_error": stored(record.get("notification_error"))}
    shown["notifications"] = [{**note, "error": stored(note.get("error"))} for note in record.get("notifications", ())]
    duty = record.get("escalation")
    shown["escalation"] = None if duty is None else {**duty, "reason": stored(duty.get("reason"))}
    return shown


def _event(record: dict[str, Any]) -> bytes:
    data = json.dumps(_in_reader_language(record), ensure_ascii=False, default=str)
    # The id is the change's stamp: a browser reconnecting sends it back as Last-Event-ID.
    return f"id: {record.get('changed_at') or ''}\nevent: alarm\ndata: {data}\n\n".encode()


def _replay_from(request: web.Request) -> datetime | None:
    """Where a new stream starts: the moment its page was drawn (`since`), or a reconnecting
    browser's last event; neither (or a mangled one) means live changes only."""
    text = request.headers.get("Last-Event-ID") or request.query.get("since", "")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: every new or changed alarm as its contract record, starting with what
    changed since the page was drawn."""
    feed = request.app[FEED]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    queue = feed.subscribe()  # before the replay, so nothing falls between the two
    try:
        await response.write(b"retry: 3000\n\n")
        since = _replay_from(request)
        if since is not None:
            for record in await asyncio.to_thread(feed.replay, since):
                await response.write(_event(record))
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
