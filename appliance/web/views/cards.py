"""Cards: the card page behind every printed code, simulated scans, PNG and PDF downloads."""

from __future__ import annotations

from aiohttp import web

from appliance.payload import scan_url
from appliance.services.cards import card_png, card_sheet_pdf, get_card, set_card_active
from appliance.services.kiosk import Kiosk
from appliance.services.scans import ScanOutcome, ScanSource, handle_scan
from appliance.web.render import flash, kiosk_of, redirect, render, run

OUTCOME_TEXT = {
    ScanOutcome.UNKNOWN: "No card has this code; no alarm was raised.",
    ScanOutcome.INACTIVE: "This card or its holder is deactivated; no alarm was raised.",
    ScanOutcome.FOREIGN: "That is not a Keryu card; no alarm was raised.",
    ScanOutcome.DUPLICATE: "The card was scanned moments ago; no second alarm.",
}


def _card_view(kiosk: Kiosk, card_uuid: str) -> dict[str, object]:
    with kiosk.store.read() as session:
        card = get_card(session, card_uuid)
        subject = card.subject
        return {
            "uuid": card.uuid,
            "active": card.active,
            "created_at": card.created_at,
            "last_used_at": card.last_used_at,
            "scan_url": scan_url(kiosk.settings.public_url, card.uuid),
            "subject_id": subject.id,
            "subject_name": subject.name,
            "subject_active": subject.active,
            "custodian_name": subject.custodian.name,
            "custodian_phone": subject.custodian.phone,
        }


def _png(kiosk: Kiosk, card_uuid: str) -> bytes:
    with kiosk.store.read() as session:
        return card_png(session, card_uuid, kiosk.settings.public_url)


def _sheet(kiosk: Kiosk) -> bytes:
    with kiosk.store.read() as session:
        return card_sheet_pdf(session, kiosk.settings.public_url)


def _set_active(kiosk: Kiosk, card_uuid: str, active: bool) -> int:
    with kiosk.store.session() as session:
        return set_card_active(session, card_uuid, active).subject_id


async def card_page(request: web.Request) -> web.Response:
    card = await run(request, _card_view, kiosk_of(request), request.match_info["card_uuid"])
    return await render(request, "card.html", {"card": card})


async def simulate_scan(request: web.Request) -> web.Response:
    """The seed's way to test without a printed card: the same path as a camera decode."""
    kiosk = kiosk_of(request)
    card = await run(request, _card_view, kiosk, request.match_info["card_uuid"])
    result = await run(request, handle_scan, kiosk, str(card["scan_url"]), ScanSource.WEB)
    if result.accepted:
        await flash(request, f"Alarm #{result.alarm_id} recorded; the custodian is being notified.")
        redirect(request, "alarm", alarm_id=str(result.alarm_id))
    await flash(request, OUTCOME_TEXT.get(result.outcome, str(result.outcome)), "error")
    redirect(request, "card", card_uuid=str(card["uuid"]))


async def card_image(request: web.Request) -> web.Response:
    card_uuid = request.match_info["card_uuid"]
    png = await run(request, _png, kiosk_of(request), card_uuid)
    response = web.Response(body=png, content_type="image/png")
    if request.query.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="keryu-card-{card_uuid.lower()}.png"'
    return response


async def card_sheet(request: web.Request) -> web.Response:
    pdf = await run(request, _sheet, kiosk_of(request))
    response = web.Response(body=pdf, content_type="application/pdf")
    response.headers["Content-Disposition"] = 'inline; filename="keryu-cards.pdf"'
    return response


async def card_active_submit(request: web.Request) -> web.Response:
    card_uuid = request.match_info["card_uuid"]
    active = (await request.post()).get("active") == "1"
    subject_id = await run(request, _set_active, kiosk_of(request), card_uuid, active)
    await flash(request, f"Card {card_uuid[:8]} {'activated' if active else 'deactivated'}.")
    redirect(request, "subject", subject_id=str(subject_id))
