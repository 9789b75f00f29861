"""Request pipeline: errors to status codes, login and bearer checks, CSRF tokens, security headers."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import hdrs, web
from aiohttp_session import get_session

from appliance.errors import NotFound, UserError
from appliance.services.auth import TooManyAttempts, has_admin_password
from appliance.services.web_sessions import session_is_active
from appliance.web.keys import KIOSK, STATE
from appliance.web.language import _, shown
from appliance.web.shared_reads import shared_read

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Everything else needs a session or the bearer token (default deny).
OPEN_PATHS = frozenset({"/api/health", "/setup", "/login", "/favicon.ico"})
OPEN_PREFIXES = ("/static/", "/webhooks/")
# A finder's phone: a card's page and its alert button, open to anyone (they check their own form token).
PUBLIC_PAGES = {"GET": re.compile(r"/scan/[0-9a-fA-F-]{36}"), "POST": re.compile(r"/scan/[0-9a-fA-F-]{36}/alert")}
# Answer with a status code, not a redirect to the login page: scripts and scrapers call these.
MACHINE_PREFIXES = ("/api/", "/metrics", "/events")
# The API bearer token opens these and nothing else: a script's token must not administer the kiosk.
BEARER_PREFIX = "/api/"
BEARER_PATHS = frozenset({"/metrics"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
AUTH_KIND = web.RequestKey("keryu_auth", str)  # "session", "bearer", or "" when anonymous
ADMIN_SESSION = "sid"  # the cookie's key for the admin session's token (services/web_sessions.py)
# Routes that take an upload get a larger body than the application's default limit.
UPLOAD_LIMITS = {"/settings/restore": 64 * 1024 * 1024, "/settings/update": 768 * 1024 * 1024}
# Every answer names the product, never the Python and aiohttp versions an attacker would look up.
SERVER_HEADER = "keryu"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def is_machine_path(path: str) -> bool:
    return path.startswith(MACHINE_PREFIXES)


def is_public_page(request: web.Request) -> bool:
    """True for the finder's pages, which anyone may open and the admin sees with more detail."""
    pattern = PUBLIC_PAGES.get(request.method)
    return pattern is not None and pattern.fullmatch(request.path) is not None


def takes_bearer(path: str) -> bool:
    """True where the API token is a credential; elsewhere it is ignored as if not sent."""
    return path.startswith(BEARER_PREFIX) or path in BEARER_PATHS


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


async def hide_server_version(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: replaces aiohttp's `Server: Python/3.x aiohttp/3.x` on every answer."""
    response.headers[hdrs.SERVER] = SERVER_HEADER


def _error_response(request: web.Request, status: int, message: str) -> web.StreamResponse:
    if is_machine_path(request.path) or request.path.startswith("/webhooks/"):
        return web.json_response({"error": message}, status=status)
    return aiohttp_jinja2.render_template("error.html", request, {"status": status, "message": message}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`NotFound`/`UnknownCard` become 404 and other `UserError`s 400, with their one sentence."""
    try:
        return await handler(request)
    except NotFound as exc:
        return _error_response(request, 404, shown(exc))
    except UserError as exc:
        return _error_response(request, 400, shown(exc))
    except web.HTTPNotFound:
        return _error_response(request, 404, _("There is no such page on this kiosk."))


@web.middleware
async def headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every answer; pages are never cached, static files are."""
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    elif "v" in request.query:  # the URL names the file's content hash: cache it for good
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _admin_ready(request: web.Request) -> bool:
    state = request.app[STATE]
    if not state.admin_ready:
        state.admin_ready = await asyncio.to_thread(has_admin_password, request.app[KIOSK])
    return state.admin_ready


async def _is_admin(request: web.Request) -> bool:
    """Only a session the database still holds is the admin's: logout and password changes end them."""
    token = (await get_session(request)).get(ADMIN_SESSION)
    if not isinstance(token, str):
        return False
    kiosk = request.app[KIOSK]
    return await shared_read(request, ("admin session", token), lambda: session_is_active(kiosk, token))


def _check_bearer(request: web.Request, token: str) -> None:
    """Let the exact API token in; count a wrong one, and pause an address that keeps guessing (429)."""
    state = request.app[STATE]
    address = client_address(request)
    try:
        state.bearer_throttle.check(address)
    except TooManyAttempts as exc:
        state.refusals.warning(address, "Refused API token attempts from %s: paused", address)
        raise web.HTTPTooManyRequests(
            text=json.dumps({"error": shown(exc)}),
            content_type="application/json",
            headers={"Retry-After": str(int(exc.retry_after) + 1)},
        ) from None
    expected = state.api_token
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        state.bearer_throttle.succeeded(address)
        request[AUTH_KIND] = "bearer"
        return
    state.bearer_throttle.failed(address)
    state.refusals.warning(address, "Refused a wrong bearer token from %s for %s", address, request.path)
    raise web.HTTPUnauthorized(
        text='{"error": "Wrong or unknown API token."}',
        content_type="application/json",
        headers={"WWW-Authenticate": "Bearer"},
    )


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Default deny: open routes pass, the rest need the admin's session (or, for the API, its bearer token)."""
    request[AUTH_KIND] = ""
    path = request.path
    if path.startswith(OPEN_PREFIXES):
        return await handler(request)
    token = _bearer(request) if takes_bearer(path) else None
    if token is not None:
        _check_bearer(request, token)
        return await handler(request)
    if path == "/api/health" or is_public_page(request):  # open, but says more to the admin
        if await _is_admin(request):
            request[AUTH_KIND] = "session"
        return await handler(request)
    ready = await _admin_ready(request)
    if not ready:
        if path == "/setup":
            return await handler(request)
        if is_machine_path(path):
            return _unauthorized()
        raise web.HTTPSeeOther("/setup")
    if path == "/setup":
        raise web.HTTPSeeOther("/login")
    if path in OPEN_PATHS:
        return await handler(request)
    if await _is_admin(request):
        request[AUTH_KIND] = "session"
        return await handler(request)
    if is_machine_path(path):
        return _unauthorized()
    target = request.path_qs if request.method == "GET" else "/"
    raise web.HTTPSeeOther(f"/login?next={quote(target, safe='')}")


@web.middleware
async def upload_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Raise the body limit for the routes in `UPLOAD_LIMITS` only (the first middleware: it clones)."""
    limit = UPLOAD_LIMITS.get(request.path)
    if limit is not None and request.method == "POST":
        request = request.clone(client_max_size=limit)
    return await handler(request)


def _unauthorized() -> web.StreamResponse:
    response = web.json_response({"error": "Log in or send the API bearer token."}, status=401)
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def csrf_token(request: web.Request) -> str:
    """This session's CSRF token (created on first use), for every form the page renders."""
    session = await get_session(request)
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return str(token)


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every state-changing request made with a session cookie must carry the session's token."""
    if request.method not in UNSAFE_METHODS or request.path.startswith("/webhooks/") or is_public_page(request):
        return await handler(request)
    if request[AUTH_KIND] == "bearer":  # browsers never attach this header on their own
        return await handler(request)
    session = await get_session(request)
    expected = session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = (await request.post()).get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), str(expected).encode()):
        address = client_address(request)
        request.app[STATE].refusals.warning(
            address, "Refused %s %s from %s: no valid CSRF token", request.method, request.path, address
        )
        return _error_response(
            request, 403, _("This form has expired or did not come from this kiosk; reload the page.")
        )
    return await handler(request)
