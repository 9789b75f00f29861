"""Who may hold a connection to the admin page, and for how long without sending a request.

The page answers on port 80 of a shared network. Left alone, aiohttp keeps a connection that
sent half a request head for an hour, and every one holds a file descriptor: a few hundred
from one stranger exhaust the process's descriptors and nobody else gets in. So:

- a request head must arrive within `head_timeout` seconds of the connection opening, and an
  idle keep-alive connection is closed as soon: aiohttp's `keepalive_timeout`, which in the
  aiohttp this kiosk installs (3.14) runs from the moment a connection opens, not only between
  requests (tests/web/test_slow_connections.py fails on an aiohttp where it does not);
- one address holds at most `per_address` connections and all together at most `total`; a
  connection beyond either is closed the moment it is accepted, before anything is read.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass

from aiohttp import hdrs, web

from appliance.web.middlewares import SERVER_HEADER

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionLimits:
    """The defaults fit a Raspberry Pi with `LimitNOFILE=1024` (systemd/keryu-web.service)."""

    head_timeout: float = 5.0
    per_address: int = 32  # a browser opens about 6 per site; a few tabs with live pages fit
    total: int = 512


class ConnectionGuard:
    """Counts open connections by peer address and turns away those beyond the limits."""

    def __init__(self, limits: ConnectionLimits):
        self.limits = limits
        self.by_address: Counter[str] = Counter()
        self.refused = 0

    @property
    def total(self) -> int:
        return self.by_address.total()

    def admit(self, address: str) -> bool:
        if self.by_address[address] >= self.limits.per_address or self.total >= self.limits.total:
            if not self.refused % 1000:  # a flood must not flood the journal
                logger.warning("Refusing connections beyond the limits (now from %s)", address)
            self.refused += 1
            return False
        self.by_address[address] += 1
        return True

    def release(self, address: str) -> None:
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]


class _GuardedHandler(web.RequestHandler):
    """aiohttp's connection handler, admitted by the guard first; its own errors name no versions."""

    def __init__(self, manager: web.Server, *, guard: ConnectionGuard, **kwargs):
        super().__init__(manager, **kwargs)
        self._guard = guard
        self._address: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "unknown"
        if not self._guard.admit(address):
            transport.abort()  # closed before a byte is read; aiohttp never sees it
            return
        self._address = address
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._address is None:
            return  # refused in connection_made
        self._guard.release(self._address)
        self._address = None
        super().connection_lost(exc)

    def handle_error(
        self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        """Answers the protocol itself gives (a malformed request head): no versions there either."""
        response = super().handle_error(request, status, exc, message)
        response.headers[hdrs.SERVER] = SERVER_HEADER
        return response


async def listen(
    runner: web.AppRunner, host: str, port: int, limits: ConnectionLimits | None = None
) -> tuple[asyncio.Server, ConnectionGuard]:
    """Accept connections for `runner`'s application on host:port within `limits`; raises OSError."""
    server = runner.server
    assert server is not None, "call runner.setup() first"
    guard = ConnectionGuard(limits or ConnectionLimits())
    loop = asyncio.get_running_loop()

    def handler() -> _GuardedHandler:
        return _GuardedHandler(
            server, guard=guard, loop=loop, keepalive_timeout=guard.limits.head_timeout, access_log=None
        )

    listener = await loop.create_server(handler, host, port, reuse_address=True)
    return listener, guard
