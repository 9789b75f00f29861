"""Subjects and their custodians: list with search, create, edit, deactivate, issue cards."""

from __future__ import annotations

import asyncio

from aiohttp import web

from appliance.errors import UserError
from appliance.i18n import N_
from appliance.services.cards import issue_card
from appliance.services.subjects import (
    SubjectInput,
    add_subject,
    get_subject,
    list_subjects,
    set_subject_active,
    update_subject,
)
from appliance.services.views import SubjectView
from appliance.web.language import _, shown
from appliance.web.render import flash, kiosk_of, redirect, render
from appliance.web.views.alarms import whole_number


def _form_input(form) -> SubjectInput:
    return SubjectInput(
        name=str(form.get("name", "")),
        phone=str(form.get("phone", "")),
        custodian_name=str(form.get("custodian_name", "")),
        notes=str(form.get("notes", "")),
    )


def _form_of(subject: SubjectView) -> dict[str, str]:
    """The edit form filled with what is stored."""
    return {
        "name": subject.name,
        "custodian_name": subject.custodian_name,
        "phone": subject.custodian_phone,
        "notes": subject.notes,
    }


def _subject_id(request: web.Request) -> int:
    value = whole_number(request.match_info["subject_id"], N_("subject id"))
    assert value is not None  # the route admits digits only
    return value


async def subjects_page(request: web.Request) -> web.Response:
    search = request.query.get("q", "").strip()[:100]
    subjects = await asyncio.to_thread(list_subjects, kiosk_of(request), search=search)
    return await render(request, "subjects.html", {"subjects": subjects, "q": search})


async def new_subject_page(request: web.Request) -> web.Response:
    return await render(request, "subject_form.html", {"form": {}, "subject": None})


async def create_subject(request: web.Request) -> web.Response:
    form = await request.post()
    data = _form_input(form)
    try:
        card = await asyncio.to_thread(add_subject, kiosk_of(request), data)
    except UserError as exc:
        context = {"form": data.__dict__, "subject": None, "error": shown(exc)}
        return await render(request, "subject_form.html", context, status=400)
    await flash(request, _("{name} added with a new card.").format(name=" ".join(data.name.split())))
    redirect(request, "subject", subject_id=str(card.subject_id))


async def subject_page(request: web.Request) -> web.Response:
    subject = await asyncio.to_thread(get_subject, kiosk_of(request), _subject_id(request))
    return await render(request, "subject.html", {"subject": subject, "form": _form_of(subject)})


async def update_subject_submit(request: web.Request) -> web.Response:
    subject_id = _subject_id(request)
    form = await request.post()
    data = _form_input(form)
    try:
        await asyncio.to_thread(update_subject, kiosk_of(request), subject_id, data)
    except UserError as exc:
        subject = await asyncio.to_thread(get_subject, kiosk_of(request), subject_id)
        context = {"subject": subject, "form": data.__dict__, "error": shown(exc)}
        return await render(request, "subject.html", context, status=400)
    await flash(request, _("Changes saved."))
    redirect(request, "subject", subject_id=str(subject_id))


async def subject_active_submit(request: web.Request) -> web.Response:
    subject_id = _subject_id(request)
    active = (await request.post()).get("active") == "1"
    subject = await asyncio.to_thread(set_subject_active, kiosk_of(request), subject_id, active)
    message = _("{name} is active again.") if active else _("{name} is deactivated: their cards raise no alarm.")
    await flash(request, message.format(name=subject.name))
    redirect(request, "subject", subject_id=str(subject_id))


async def issue_card_submit(request: web.Request) -> web.Response:
    subject_id = _subject_id(request)
    card = await asyncio.to_thread(issue_card, kiosk_of(request), subject_id)
    await flash(request, _("New card {code} issued; the previous card no longer works.").format(code=card.uuid[:8]))
    redirect(request, "subject", subject_id=str(subject_id))
