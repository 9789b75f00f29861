"""A subject's custodians on the subject page: add one, remove one (the list itself is on that page)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from appliance.i18n import N_
from appliance.services.custodians import add_custodian, remove_custodian
from appliance.web.language import _
from appliance.web.render import flash, kiosk_of, redirect
from appliance.web.views.alarms import whole_number


async def add_custodian_submit(request: web.Request) -> web.Response:
    subject_id = whole_number(request.match_info["subject_id"], N_("subject id"))
    assert subject_id is not None  # the route admits digits only
    form = await request.post()
    custodian = await asyncio.to_thread(
        add_custodian,
        kiosk_of(request),
        subject_id,
        str(form.get("new_custodian_name", "")),
        str(form.get("new_custodian_phone", "")),
        str(form.get("new_custodian_language", "es")),
    )
    await flash(
        request,
        _("{name} ({phone}) will be told of this subject's alarms.").format(name=custodian.name, phone=custodian.phone),
    )
    redirect(request, "subject", subject_id=str(subject_id))


async def remove_custodian_submit(request: web.Request) -> web.Response:
    custodian_id = whole_number(request.match_info["custodian_id"], N_("custodian id"))
    assert custodian_id is not None  # the route admits digits only
    custodian = await asyncio.to_thread(remove_custodian, kiosk_of(request), custodian_id)
    await flash(request, _("{name} is no longer told of this subject's alarms.").format(name=custodian.name))
    redirect(request, "subject", subject_id=str(custodian.subject_id))
