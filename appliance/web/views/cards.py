"""Cards: the card page behind every printed code, simulated scans, PNG and PDF downloads."""

from __future__ import annotations

import asyncio

from aiohttp import web

from appliance.i18n import N_
from appliance.services.cards import card_png, card_sheet_pdf, get_card, set_card_active
from appliance.services.scans import ScanOutcome, ScanSource, handle_scan
from appliance.services.subjects import get_subject
from appliance.web.language import _
from appliance.web.render import flash, kiosk_of, redirect, render

OUTCOME_TEXT = {
    ScanOutcome.UNKNOWN: N_("No card has this code; no alarm was raised."),
    ScanOutcome.INACTIVE: N_("This card or its holder is deactivated; no alarm was raised."),
    ScanOutcome.FOREIGN: N_("That is not a Keryu card; no alarm was raised."),
    ScanOutcome.DUPLICATE: N_("The card was scanned moments ago; no second alarm."),
}


async def card_page(request: web.Request) -> web.Response:
    kiosk = kiosk_of(request)
    card = await asyncio.to_thread(get_card, kiosk, request.match_info["card_uuid"])
    holder = await asyncio.to_thread(get_subject, kiosk, card.subject_id)
    return await render(request, "card.html", {"card": card, "holder": holder})


async def simulate_scan(request: web.Request) -> web.Response:
    """The seed's way to test without a printed card: the same path as a camera decode."""
    kiosk = kiosk_of(request)
    card = await asyncio.to_thread(get_card, kiosk, request.match_info["card_uuid"])
    result = await asyncio.to_thread(handle_scan, kiosk, card.scan_url, ScanSource.WEB)
    if result.accepted:
        await flash(request, _("Alarm #{id} recorded; the custodian is being notified.").format(id=result.alarm_id))
        redirect(request, "alarm", alarm_id=str(result.alarm_id))
    await flash(request, _(OUTCOME_TEXT.get(result.outcome, str(result.outcome))), "error")
    redirect(request, "card", card_uuid=card.uuid)


async def card_image(request: web.Request) -> web.Response:
    card_uuid = request.match_info["card_uuid"]
    png = await asyncio.to_thread(card_png, kiosk_of(request), card_uuid)
    response = web.Response(body=png, content_type="image/png")
    if request.query.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="keryu-card-{card_uuid.lower()}.png"'
    return response


async def card_sheet(request: web.Request) -> web.Response:
    pdf = await asyncio.to_thread(card_sheet_pdf, kiosk_of(request))
    response = web.Response(body=pdf, content_type="application/pdf")
    response.headers["Content-Disposition"] = 'inline; filename="keryu-cards.pdf"'
    return response


async def card_active_submit(request: web.Request) -> web.Response:
    card_uuid = request.match_info["card_uuid"]
    active = (await request.post()).get("active") == "1"
    card = await asyncio.to_thread(set_card_active, kiosk_of(request), card_uuid, active)
    message = _("Card {code} activated.") if active else _("Card {code} deactivated.")
    await flash(request, message.format(code=card_uuid[:8]))
    redirect(request, "subject", subject_id=str(card.subject_id))
