"""First-run setup of the admin password, login and logout."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp_session import get_session, new_session

from appliance.errors import UserError
from appliance.i18n import N_
from appliance.services.auth import TooManyAttempts, change_admin_password, set_up_admin, verify_admin_password
from appliance.services.setup_code import setup_code_matches
from appliance.services.web_sessions import end_session, start_session
from appliance.web.keys import STATE
from appliance.web.language import _, shown
from appliance.web.middlewares import ADMIN_SESSION, client_address
from appliance.web.render import flash, kiosk_of, redirect, render

logger = logging.getLogger(__name__)

WRONG_SETUP_CODE = N_(
    "Wrong setup code: type the code that keryu setup-code prints on the kiosk "
    "(on an SD card image: keryu-setup-code.txt on the boot partition)."
)


def _safe_next(target: str | None) -> str:
    """Only local paths: a login link must not bounce the admin to another site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


async def _start_session(request: web.Request) -> None:
    token = await asyncio.to_thread(start_session, kiosk_of(request))
    session = await new_session(request)  # a fresh cookie: no fixation of a pre-login session
    session[ADMIN_SESSION] = token


async def setup_page(request: web.Request) -> web.Response:
    return await render(request, "setup.html")


async def setup_submit(request: web.Request) -> web.Response:
    """Set the first admin password, for whoever types this device's setup code (throttled like a login)."""
    form = await request.post()
    state = request.app[STATE]
    throttle = state.throttle
    address = client_address(request)
    try:
        throttle.attempt(address)  # counted before the check, as for a login
    except TooManyAttempts as exc:
        response = await render(request, "setup.html", {"error": shown(exc)}, status=429)
        response.headers["Retry-After"] = str(int(exc.retry_after) + 1)
        return response
    if not await asyncio.to_thread(setup_code_matches, kiosk_of(request), str(form.get("setup_code", ""))):
        state.refusals.warning(address, "Refused first-run setup from %s: wrong setup code", address)
        return await render(request, "setup.html", {"error": _(WRONG_SETUP_CODE)}, status=403)
    throttle.succeeded(address)
    try:
        await asyncio.to_thread(
            set_up_admin, kiosk_of(request), str(form.get("password", "")), str(form.get("confirm", ""))
        )
    except UserError as exc:
        return await render(request, "setup.html", {"error": shown(exc)}, status=400)
    request.app[STATE].admin_ready = True
    await _start_session(request)
    await flash(request, _("The admin password is set. Next: add a subject."))
    redirect(request, "subjects")


async def login_page(request: web.Request) -> web.Response:
    return await render(request, "login.html", {"next": _safe_next(request.query.get("next"))})


async def login_submit(request: web.Request) -> web.Response:
    form = await request.post()
    target = _safe_next(str(form.get("next", "")))
    state = request.app[STATE]
    throttle = state.throttle
    address = client_address(request)
    try:
        throttle.attempt(address)  # counted before the check: concurrent guesses cannot pass the limit
    except TooManyAttempts as exc:
        response = await render(request, "login.html", {"error": shown(exc), "next": target}, status=429)
        response.headers["Retry-After"] = str(int(exc.retry_after) + 1)
        return response
    async with throttle.verifying:
        good = await asyncio.to_thread(verify_admin_password, kiosk_of(request), str(form.get("password", "")))
    if not good:
        state.refusals.warning(address, "Failed admin login from %s", address)
        return await render(request, "login.html", {"error": _("Wrong password."), "next": target}, status=401)
    throttle.succeeded(address)
    await _start_session(request)
    logger.info("Admin logged in from %s", address)
    raise web.HTTPSeeOther(target)


async def logout(request: web.Request) -> web.Response:
    session = await get_session(request)
    token = session.get(ADMIN_SESSION)
    if isinstance(token, str):
        await asyncio.to_thread(end_session, kiosk_of(request), token)  # a copy of the cookie dies too
    session.invalidate()
    raise web.HTTPSeeOther("/login")


async def password_submit(request: web.Request) -> web.Response:
    form = await request.post()
    await asyncio.to_thread(
        change_admin_password,
        kiosk_of(request),
        str(form.get("current", "")),
        str(form.get("password", "")),
        str(form.get("confirm", "")),
    )
    await _start_session(request)  # the change ended every session; this browser gets a new one
    await flash(request, _("The admin password is changed; every other browser is logged out."))
    redirect(request, "settings")
