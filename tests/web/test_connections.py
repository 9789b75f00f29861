"""Slow and idle connections, as a stranger on the LAN would open them against `keryu web`'s
serving path: the page still answers, extra connections are refused at once, and a request head
that never finishes is closed within seconds."""

from __future__ import annotations

import asyncio
import contextlib
import time

from appliance.services.auth import set_up_admin
from appliance.web.connections import ConnectionLimits
from appliance.web.serve import serve
from tests.conftest import free_port
from tests.web.conftest import PASSWORD
from tests.web.test_serve import RecordingNotifier

SLOW = 500
HALF_A_HEAD = b"GET /login HTTP/1.1\r\nHost: keryu.local\r\nUser-Agent: slow"
LIMITS = ConnectionLimits()


async def _is_closed(reader: asyncio.StreamReader, seconds: float) -> bool:
    """True when the server closed (or reset) the connection within `seconds`."""
    try:
        data = await asyncio.wait_for(reader.read(1024), seconds)
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return data == b""


async def _get(port: int, path: str, source: str) -> tuple[bytes, float]:
    """One plain request from another loopback address; its status line and how long it took."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(f"GET {path} HTTP/1.1\r\nHost: keryu.local\r\nConnection: close\r\n\r\n".encode())
    status = await reader.readline()
    elapsed = time.monotonic() - started
    writer.close()
    return status, elapsed


async def _serving(kiosk, port: int) -> asyncio.Task:
    notifier = RecordingNotifier()
    task = asyncio.create_task(serve(kiosk, "127.0.0.1", port, notifier=notifier))
    while not any(m.startswith("READY=1") for m in notifier.messages):
        await asyncio.sleep(0.02)
    return task


async def _stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_five_hundred_slow_connections_do_not_starve_the_page(kiosk):
    set_up_admin(kiosk, PASSWORD)
    port = free_port()

    async def scenario() -> None:
        server = await _serving(kiosk, port)
        slow = []
        try:
            for _ in range(SLOW):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(HALF_A_HEAD)
                slow.append((reader, writer))
            status, elapsed = await _get(port, "/login", source="127.0.0.2")
            assert status.startswith(b"HTTP/1.1 200"), status
            assert elapsed < 5.0  # about 10 ms on a quiet machine; generous for a loaded CI
            closed = await asyncio.gather(*(_is_closed(reader, 1.0) for reader, _ in slow))
            assert sum(closed) >= SLOW - LIMITS.per_address  # beyond the per-address cap: refused at once
            closed = await asyncio.gather(*(_is_closed(reader, LIMITS.head_timeout + 3) for reader, _ in slow))
            assert all(closed)  # and the ones let in never finished their head
        finally:
            for _, writer in slow:
                writer.close()
            await _stop(server)

    asyncio.run(scenario())


def test_a_keep_alive_connection_that_stalls_on_its_next_head_is_closed(kiosk):
    port = free_port()

    async def scenario() -> None:
        server = await _serving(kiosk, port)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /api/health?self=1 HTTP/1.1\r\nHost: keryu.local\r\n\r\n")
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")
            writer.write(HALF_A_HEAD)
            started = time.monotonic()
            assert await _is_closed_after_body(reader, LIMITS.head_timeout + 3)
            assert time.monotonic() - started < LIMITS.head_timeout + 3
            writer.close()
        finally:
            await _stop(server)

    asyncio.run(scenario())


async def _is_closed_after_body(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Reads the rest of the first answer, then waits for the close."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            data = await asyncio.wait_for(reader.read(4096), deadline - time.monotonic())
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        if data == b"":
            return True
    return False


def test_a_protocol_error_names_no_versions_either(kiosk):
    port = free_port()

    async def scenario() -> None:
        server = await _serving(kiosk, port)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"NOT HTTP AT ALL\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
            assert b"Server: keryu\r\n" in answer and b"aiohttp" not in answer
        finally:
            await _stop(server)

    asyncio.run(scenario())
