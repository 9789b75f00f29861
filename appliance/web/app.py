"""The composition root of the admin page: `create_app` takes its collaborators and wires the rest."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import session_middleware

from appliance.i18n import N_
from appliance.long_lived import RETURN_FREE_MEMORY_EVERY, return_free_memory
from appliance.messaging.registry import channel_names
from appliance.services.auth import LoginThrottle, session_secret
from appliance.services.kiosk import Kiosk
from appliance.services.metrics import make_registry
from appliance.services.web_sessions import LIFETIME as SESSION_LIFETIME
from appliance.web import language
from appliance.web.cookies import SignedCookieStorage
from appliance.web.finder_guard import FinderGuard
from appliance.web.hosts import allowed_host_names, host_middleware
from appliance.web.keys import FEED, KIOSK, STATE, WebState
from appliance.web.live import AlarmFeed
from appliance.web.middlewares import (
    auth_middleware,
    csrf_middleware,
    error_middleware,
    headers_middleware,
    hide_server_version,
    upload_limit_middleware,
)
from appliance.web.page_cache import ALARM_LISTS, AlarmListCache, Renderers
from appliance.web.refusals import RefusalLog
from appliance.web.routes import setup_routes
from appliance.web.shared_reads import SHARED_READS, SharedReads
from appliance.web.static_urls import remember_static_urls
from appliance.web.timing import server_timing_middleware
from appliance.web.views.finder import FINDER_GUARD

logger = logging.getLogger(__name__)

SESSION_COOKIE = "keryu_session"
SESSION_MAX_AGE = int(SESSION_LIFETIME.total_seconds())  # an admin logs in again every half day
MAX_REQUEST_BYTES = 2 * 1024 * 1024
# A script guessing the API token is paused after 10 wrong ones (then doubling, like logins).
BEARER_GUESSES = 10


def _templates(app: web.Application, kiosk: Kiosk) -> jinja2.Environment:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("appliance.web", "templates"),
        autoescape=True,  # every value is escaped unless a template says otherwise (none does)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the package: no stat() of each file on every page
    )
    language.install(env, kiosk.zone)
    remember_static_urls(env)
    env.globals["channel_names"] = channel_names()
    env.globals.setdefault("_", str)  # identity until the translations branch (issue 13) is merged
    env.globals["password_in_env"] = kiosk.settings.admin_password_hash is not None
    env.globals["config_problem"] = kiosk.settings.config_problem  # a banner on every page
    env.globals.setdefault("_", lambda text: text)  # until the i18n branch installs gettext
    return env


CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def _for_the_servers_lifetime(name: str, work: Callable[[web.Application], Awaitable[None]]) -> CleanupContext:
    """A cleanup context that runs `work(app)` as a task while the server runs, and cancels it at the end."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(work(app), name=name)
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return context


async def _run_live_feed(app: web.Application) -> None:
    await app[FEED].run()


async def _return_free_memory_every_so_often(_app: web.Application) -> None:
    """Give back what rendering pages freed (appliance/long_lived.py)."""
    while True:
        await asyncio.sleep(RETURN_FREE_MEMORY_EVERY)
        return_free_memory()


async def _close_live_clients(app: web.Application) -> None:
    app[FEED].close()  # open event streams end now, so shutdown does not wait for them


def create_app(
    kiosk: Kiosk,
    *,
    api_token: str | None = None,
    throttle: LoginThrottle | None = None,
    session_key: bytes | None = None,
    live_interval: float = 1.0,
) -> web.Application:
    """The aiohttp application for `kiosk`; every argument other than `kiosk` has a sensible default."""
    secret = session_key or session_secret(kiosk)
    storage = SignedCookieStorage(secret, cookie_name=SESSION_COOKIE, max_age=SESSION_MAX_AGE)
    app = web.Application(
        middlewares=[
            host_middleware(allowed_host_names(kiosk.settings)),  # first: a rebound name gets nothing else
            language.language_middleware(kiosk.settings.language),
            server_timing_middleware,
            upload_limit_middleware,
            headers_middleware,
            error_middleware,
            session_middleware(storage),
            auth_middleware,
            csrf_middleware,
        ],
        client_max_size=MAX_REQUEST_BYTES,
    )
    app[KIOSK] = kiosk
    app[STATE] = WebState(
        throttle=throttle or LoginThrottle(clock=kiosk.clock),
        metrics=make_registry(kiosk),
        bearer_throttle=LoginThrottle(
            limit=BEARER_GUESSES,
            clock=kiosk.clock,
            what="API token attempts",
            refusal=N_("Too many failed API token attempts; try again in {seconds} seconds."),
        ),
        refusals=RefusalLog(clock=kiosk.clock),
        api_token=api_token if api_token is not None else kiosk.settings.api_token,
    )
    app[FEED] = AlarmFeed(kiosk, interval=live_interval)
    app[FINDER_GUARD] = FinderGuard(key=secret, clock=kiosk.clock)
    app[SHARED_READS] = SharedReads()
    app[ALARM_LISTS] = AlarmListCache(kiosk, Renderers(_templates(app, kiosk)))
    setup_routes(app)
    app.on_response_prepare.append(hide_server_version)
    app.cleanup_ctx.append(_for_the_servers_lifetime("alarm-feed", _run_live_feed))
    app.cleanup_ctx.append(_for_the_servers_lifetime("return-free-memory", _return_free_memory_every_so_often))
    app.on_shutdown.append(_close_live_clients)
    return app
