"""Helpers every handler uses: the kiosk of a request, pages, flash messages, redirects."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from appliance import __version__
from appliance.services.kiosk import Kiosk
from appliance.web.keys import KIOSK
from appliance.web.middlewares import AUTH_KIND, csrf_token


def json_text(value: object) -> str:
    """JSON as the API writes it: UTF-8 text as is, datetimes and the like as strings."""
    return json.dumps(value, ensure_ascii=False, default=str)


def kiosk_of(request: web.Request) -> Kiosk:
    return request.app[KIOSK]


async def flash(request: web.Request, message: str, kind: str = "ok") -> None:
    """A one-time message shown on the next page (after a redirect)."""
    session = await get_session(request)
    session["flash"] = [*session.get("flash", []), [kind, message]][-5:]


async def render(
    request: web.Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> web.Response:
    """A page from `templates/`, with the CSRF token, flashed messages and kiosk facts added."""
    session = await get_session(request)
    page = {
        "csrf_token": await csrf_token(request),
        "flashes": session.pop("flash", []),
        "logged_in": bool(request.get(AUTH_KIND)),
        "location": kiosk_of(request).settings.location,
        "region": kiosk_of(request).settings.default_region,
        "version": __version__,
        "path": request.path,
        "drawn_at": kiosk_of(request).clock.now().isoformat(),  # live updates replay from here
    }
    page.update(context or {})
    return aiohttp_jinja2.render_template(template, request, page, status=status)


def redirect(request: web.Request, name: str, *, query: dict[str, str] | None = None, **parts: str) -> NoReturn:
    """Answer 303 See Other to a named route (the POST-redirect-GET pattern)."""
    url = request.app.router[name].url_for(**parts)
    if query:
        url = url.with_query(query)
    raise web.HTTPSeeOther(str(url))
