"""`Server-Timing: app;dur=<ms>` on every answer: the time the server spent on it, queueing excluded.

Browsers' developer tools and `bench/bench_web.py` read it, so a slow page can be told from a
slow network or a busy machine.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def server_timing_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as answer:  # redirects and errors are answers too
        answer.headers["Server-Timing"] = _value(started)
        raise
    if not response.prepared:  # a stream (live events) has sent its headers already
        response.headers["Server-Timing"] = _value(started)
    return response


def _value(started: float) -> str:
    return f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
