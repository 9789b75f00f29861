"""Subjects and their custodians: list with search, create, edit, deactivate, issue cards."""

from __future__ import annotations

from aiohttp import web

from appliance.errors import UserError
from appliance.payload import scan_url
from appliance.services.cards import issue_card
from appliance.services.kiosk import Kiosk
from appliance.services.subjects import (
    SubjectInput,
    active_card,
    add_subject,
    get_subject,
    list_subjects,
    set_subject_active,
    update_subject,
)
from appliance.store.models import Subject
from appliance.web.render import flash, kiosk_of, redirect, render, run


def subject_view(subject: Subject, public_url: str) -> dict[str, object]:
    """What pages and the API show of a subject (the custodian's phone included: admins only)."""
    card = active_card(subject)
    return {
        "id": subject.id,
        "name": subject.name,
        "active": subject.active,
        "notes": subject.notes,
        "custodian_name": subject.custodian.name,
        "custodian_phone": subject.custodian.phone,
        "card_uuid": card.uuid if card else None,
        "scan_url": scan_url(public_url, card.uuid) if card else None,
        "created_at": subject.created_at.isoformat(),
    }


def _list(kiosk: Kiosk, search: str) -> list[dict[str, object]]:
    with kiosk.store.read() as session:
        return [subject_view(s, kiosk.settings.public_url) for s in list_subjects(session, search=search)]


def _detail(kiosk: Kiosk, subject_id: int) -> tuple[dict[str, object], list[dict[str, object]]]:
    with kiosk.store.read() as session:
        subject = get_subject(session, subject_id)
        cards = [
            {
                "uuid": card.uuid,
                "active": card.active,
                "created_at": card.created_at,
                "last_used_at": card.last_used_at,
                "scan_url": scan_url(kiosk.settings.public_url, card.uuid),
            }
            for card in reversed(subject.cards)
        ]
        return subject_view(subject, kiosk.settings.public_url), cards


def _form_input(form) -> SubjectInput:
    return SubjectInput(
        name=str(form.get("name", "")),
        phone=str(form.get("phone", "")),
        custodian_name=str(form.get("custodian_name", "")),
        notes=str(form.get("notes", "")),
    )


def _create(kiosk: Kiosk, data: SubjectInput) -> int:
    with kiosk.store.session() as session:
        subject, _card = add_subject(session, data, region=kiosk.settings.default_region)
        return subject.id


def _update(kiosk: Kiosk, subject_id: int, data: SubjectInput) -> None:
    with kiosk.store.session() as session:
        update_subject(session, subject_id, data, region=kiosk.settings.default_region)


def _set_active(kiosk: Kiosk, subject_id: int, active: bool) -> str:
    with kiosk.store.session() as session:
        return set_subject_active(session, subject_id, active).name


def _new_card(kiosk: Kiosk, subject_id: int) -> str:
    with kiosk.store.session() as session:
        return issue_card(session, subject_id).uuid


def _subject_id(request: web.Request) -> int:
    try:
        return int(request.match_info["subject_id"])
    except ValueError:
        raise UserError("A subject id is a number.") from None


async def subjects_page(request: web.Request) -> web.Response:
    search = request.query.get("q", "").strip()[:100]
    subjects = await run(request, _list, kiosk_of(request), search)
    return await render(request, "subjects.html", {"subjects": subjects, "q": search})


async def new_subject_page(request: web.Request) -> web.Response:
    return await render(request, "subject_form.html", {"form": {}, "subject": None})


async def create_subject(request: web.Request) -> web.Response:
    form = await request.post()
    data = _form_input(form)
    try:
        subject_id = await run(request, _create, kiosk_of(request), data)
    except UserError as exc:
        context = {"form": data.__dict__, "subject": None, "error": str(exc)}
        return await render(request, "subject_form.html", context, status=400)
    await flash(request, f"{' '.join(data.name.split())} added with a new card.")
    redirect(request, "subject", subject_id=str(subject_id))


async def subject_page(request: web.Request) -> web.Response:
    subject, cards = await run(request, _detail, kiosk_of(request), _subject_id(request))
    form = {
        "name": subject["name"],
        "custodian_name": subject["custodian_name"],
        "phone": subject["custodian_phone"],
        "notes": subject["notes"],
    }
    return await render(request, "subject.html", {"subject": subject, "cards": cards, "form": form})


async def update_subject_submit(request: web.Request) -> web.Response:
    subject_id = _subject_id(request)
    form = await request.post()
    data = _form_input(form)
    try:
        await run(request, _update, kiosk_of(request), subject_id, data)
    except UserError as exc:
        subject, cards = await run(request, _detail, kiosk_of(request), subject_id)
        context = {"subject": subject, "cards": cards, "form": data.__dict__, "error": str(exc)}
        return await render(request, "subject.html", context, status=400)
    await flash(request, "Changes saved.")
    redirect(request, "subject", subject_id=str(subject_id))


async def subject_active_submit(request: web.Request) -> web.Response:
    subject_id = _subject_id(request)
    active = (await request.post()).get("active") == "1"
    name = await run(request, _set_active, kiosk_of(request), subject_id, active)
    await flash(request, f"{name} is {'active again' if active else 'deactivated: their cards raise no alarm'}.")
    redirect(request, "subject", subject_id=str(subject_id))


async def issue_card_submit(request: web.Request) -> web.Response:
    subject_id = _subject_id(request)
    card_uuid = await run(request, _new_card, kiosk_of(request), subject_id)
    await flash(request, f"New card {card_uuid[:8]} issued; the previous card no longer works.")
    redirect(request, "subject", subject_id=str(subject_id))
