"""The page a finder's phone opens from a card's QR code, and its alert button.

Open to anyone (see `middlewares.is_public_page`): an anonymous visitor sees only that the card
belongs to someone who may need help and a button that alerts their custodians; the logged-in
admin gets the card's own page as before. A finder gets no cookie: the page is rendered without
the session, and the form carries its own signed token (`finder_guard`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from appliance.errors import UserError
from appliance.services.auth import TooManyAttempts
from appliance.services.finder import FinderOutcome, alert_from_phone, finder_report, require_alertable_card
from appliance.web.finder_guard import FinderGuard, finder_address, sent_from_another_site
from appliance.web.keys import STATE
from appliance.web.language import shown
from appliance.web.middlewares import AUTH_KIND
from appliance.web.render import kiosk_of
from appliance.web.views.cards import card_page

logger = logging.getLogger(__name__)

FINDER_GUARD = web.AppKey("finder_guard", FinderGuard)

# Why a press was refused; finder.html words each one (in the finder's language).
EXPIRED, FOREIGN_FORM, TOO_MANY, BAD_INPUT = "expired", "foreign_form", "too_many", "bad_input"


def _card_uuid(request: web.Request) -> str:
    return request.match_info["card_uuid"].lower()


def _page(request: web.Request, context: dict[str, Any], status: int = 200) -> web.Response:
    """The finder's page, rendered without the session (no cookie for an anonymous finder)."""
    card_uuid = _card_uuid(request)
    page = {
        "card_uuid": card_uuid,
        "finder_token": request.app[FINDER_GUARD].token(card_uuid),
        "form": {},
        "refusal": None,
        "detail": "",
        "minutes": 0,
        "outcome": None,
        **context,
    }
    response = aiohttp_jinja2.render_template("finder.html", request, page, status=status)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


async def scan_page(request: web.Request) -> web.StreamResponse:
    """`GET /scan/<uuid>`: the admin's card page, or the finder's page (404 for a card that cannot alert)."""
    if request[AUTH_KIND]:
        return await card_page(request)
    await asyncio.to_thread(require_alertable_card, kiosk_of(request), _card_uuid(request))
    return _page(request, {})


async def alert_submit(request: web.Request) -> web.Response:
    """`POST /scan/<uuid>/alert`: the finder's press, checked (token, same site, address), then the alarm."""
    kiosk, guard, card_uuid = kiosk_of(request), request.app[FINDER_GUARD], _card_uuid(request)
    address = finder_address(request)
    refusals = request.app[STATE].refusals
    await asyncio.to_thread(require_alertable_card, kiosk, card_uuid)
    form = await request.post()
    typed = {"note": str(form.get("note", "")), "phone": str(form.get("phone", ""))}
    if sent_from_another_site(request):
        refusals.warning(address, "Refused a phone alert for card %s from %s: sent by another site", card_uuid, address)
        return _page(request, {"refusal": FOREIGN_FORM, "form": typed}, status=403)
    if not guard.token_valid(card_uuid, form.get("finder_token")):
        refusals.warning(address, "Refused a phone alert for card %s from %s: no valid form token", card_uuid, address)
        return _page(request, {"refusal": EXPIRED, "form": typed}, status=403)
    try:
        guard.throttle.attempt(address)
    except TooManyAttempts as exc:
        refusals.warning(address, "Refused a phone alert from %s: too many", address)
        minutes = int(exc.retry_after // 60) + 1
        return _page(request, {"refusal": TOO_MANY, "minutes": minutes, "form": typed}, status=429)
    try:
        report = finder_report(kiosk, typed["note"], typed["phone"])
    except UserError as exc:
        return _page(request, {"refusal": BAD_INPUT, "detail": shown(exc), "form": typed}, status=400)
    alert = await asyncio.to_thread(alert_from_phone, kiosk, card_uuid, report)
    if alert.outcome is FinderOutcome.ALERTED:
        logger.info("A finder's phone (%s) raised alarm %s for card %s", address, alert.alarm_id, card_uuid)
    return _page(request, {"outcome": str(alert.outcome)})
