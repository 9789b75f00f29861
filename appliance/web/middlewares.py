"""Request pipeline: errors to status codes, login and bearer checks, CSRF tokens, security headers."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from appliance.errors import NotFound, UserError
from appliance.services.auth import has_admin_password
from appliance.services.web_sessions import session_is_active
from appliance.web.keys import KIOSK, STATE

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Everything else needs a session or the bearer token (default deny).
OPEN_PATHS = frozenset({"/api/health", "/setup", "/login", "/favicon.ico"})
OPEN_PREFIXES = ("/static/", "/webhooks/")
# Answer with a status code, not a redirect to the login page: scripts and scrapers call these.
MACHINE_PREFIXES = ("/api/", "/metrics", "/events")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
AUTH_KIND = web.RequestKey("keryu_auth", str)  # "session", "bearer", or "" when anonymous
ADMIN_SESSION = "sid"  # the cookie's key for the admin session's token (services/web_sessions.py)
# Routes that take an upload get a larger body than the application's default limit.
UPLOAD_LIMITS = {"/settings/restore": 64 * 1024 * 1024}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def is_machine_path(path: str) -> bool:
    return path.startswith(MACHINE_PREFIXES)


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
        return _error_response(request, 404, str(exc))
    except UserError as exc:
        return _error_response(request, 400, str(exc))
    except web.HTTPNotFound:
        return _error_response(request, 404, "There is no such page on this kiosk.")


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


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Default deny: open routes pass, the rest need the admin's session or the API bearer token."""
    request[AUTH_KIND] = ""
    path = request.path
    if path.startswith(OPEN_PREFIXES) or path == "/api/health":
        return await handler(request)
    ready = await _admin_ready(request)
    token = _bearer(request)
    if token is not None:
        expected = request.app[STATE].api_token
        if expected and hmac.compare_digest(token.encode(), expected.encode()):
            request[AUTH_KIND] = "bearer"
            return await handler(request)
        logger.warning("Refused a wrong bearer token from %s for %s", request.remote, path)
        raise web.HTTPUnauthorized(
            text='{"error": "Wrong or unknown API token."}',
            content_type="application/json",
            headers={"WWW-Authenticate": "Bearer"},
        )
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
    session = await get_session(request)
    if await _session_is_active(request, session.get(ADMIN_SESSION)):
        request[AUTH_KIND] = "session"
        return await handler(request)
    if is_machine_path(path):
        return _unauthorized()
    target = request.path_qs if request.method == "GET" else "/"
    raise web.HTTPSeeOther(f"/login?next={quote(target, safe='')}")


async def _session_is_active(request: web.Request, token: object) -> bool:
    """Only a session the database still holds is the admin's: logout and password changes end them."""
    return isinstance(token, str) and await asyncio.to_thread(session_is_active, request.app[KIOSK], token)


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
    if request.method not in UNSAFE_METHODS or request.path.startswith("/webhooks/"):
        return await handler(request)
    if request[AUTH_KIND] == "bearer":  # browsers never attach this header on their own
        return await handler(request)
    session = await get_session(request)
    expected = session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = (await request.post()).get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), str(expected).encode()):
        logger.warning("Refused %s %s from %s: no valid CSRF token", request.method, request.path, request.remote)
        return _error_response(request, 403, "This form has expired or did not come from this kiosk; reload the page.")
    return await handler(request)
