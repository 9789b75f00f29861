"""Slow connections against a real `keryu web`: how fast the admin page answers a normal request
while one address holds hundreds of half-sent request heads.

The web process runs with the file-descriptor limit of its systemd unit (`LimitNOFILE` of
systemd/keryu-web.service). From 127.0.0.1 the bench opens `--slow` connections that each send
half a request head and then nothing; from 127.0.0.2 (another "person" on the LAN) it times
plain `GET /login` requests before and during the flood. It also counts how many slow
connections the server closed at once (beyond the per-address cap) and when the last was closed.

    .venv/bin/python bench/bench_slow_connections.py [--slow 500] [--requests 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests
from measure import percentile

from appliance.config import load_settings
from appliance.services.auth import set_up_admin
from appliance.services.kiosk import Kiosk
from appliance.store.migrate import upgrade
from tests.conftest import free_port, wait_until

REPO = Path(__file__).resolve().parents[1]
HALF_A_HEAD = b"GET /login HTTP/1.1\r\nHost: keryu.local\r\nUser-Agent: slow"
KERYU = Path(sys.executable).with_name("keryu")


def answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/api/health?self=1", timeout=2).ok
    except requests.RequestException:
        return False


def unit_nofile() -> int:
    text = (REPO / "systemd" / "keryu-web.service").read_text()
    return int(re.search(r"^LimitNOFILE=(\d+)$", text, re.MULTILINE).group(1))


async def timed_get(port: int) -> float:
    """One `GET /login` from 127.0.0.2, in milliseconds until its status line (inf: none in 10 s)."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(10):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0))
            writer.write(b"GET /login HTTP/1.1\r\nHost: keryu.local\r\nConnection: close\r\n\r\n")
            status = await reader.readline()
    except (TimeoutError, ConnectionError):
        return float("inf")
    elapsed = (time.perf_counter() - started) * 1000
    writer.close()
    assert status.startswith(b"HTTP/1.1 200"), status
    return elapsed


async def closed_at(reader: asyncio.StreamReader, started: float, limit: float) -> float | None:
    """Seconds after `started` when the server closed this connection (None: still open at `limit`)."""
    try:
        await asyncio.wait_for(reader.read(1024), limit - (time.perf_counter() - started))
    except TimeoutError:
        return None
    except ConnectionError:
        pass
    return time.perf_counter() - started


async def flood(port: int, slow: int, count: int) -> dict[str, object]:
    before = [await timed_get(port) for _ in range(count)]
    opened = time.perf_counter()
    held = []
    for _ in range(slow):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(HALF_A_HEAD)
        held.append((reader, writer))
    watch = [asyncio.create_task(closed_at(reader, opened, 30.0)) for reader, _ in held]
    during = [await timed_get(port) for _ in range(count)]
    closes = await asyncio.gather(*watch)
    for _, writer in held:
        writer.close()
    done = [t for t in closes if t is not None]
    return {
        "before": before,
        "during": during,
        "open_s": time.perf_counter() - opened,
        "closed_within_1s": sum(1 for t in done if t <= 1.0),
        "last_closed_s": max(done) if len(done) == slow else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=500, help="half-sent request heads from 127.0.0.1")
    parser.add_argument("--requests", type=int, default=20, help="timed GET /login before and during")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this side holds every slow socket
    nofile = unit_nofile()

    workdir = Path(tempfile.mkdtemp(prefix="keryu-bench-slow-"))
    port = free_port()
    env = {
        "KERYU_DATA_DIR": str(workdir / "data"),
        "KERYU_WEB_HOST": "127.0.0.1",
        "KERYU_WEB_PORT": str(port),
        "KERYU_CAMERA": "none",
        "KERYU_LOCATION": "Bench gate",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "KERYU_LOG_LEVEL": "WARNING",
    }
    kiosk = Kiosk.from_settings(load_settings(**env))
    upgrade(kiosk.store)
    set_up_admin(kiosk, "bench password")
    kiosk.close()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KERYU_", "WHATSAPP_", "TWILIO_"))}
    with (workdir / "web.log").open("wb") as log:
        web = subprocess.Popen(
            [KERYU, "web"],
            env={**clean, **env},
            cwd=workdir,
            stdout=log,
            stderr=log,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile)),
        )
    try:
        wait_until(lambda: answers(port), timeout=30, what="keryu web")
        figures = asyncio.run(flood(port, args.slow, args.requests))
    finally:
        web.terminate()
        web.wait(15)
        shutil.rmtree(workdir, ignore_errors=True)

    def line(values: list[float]) -> str:
        answered = [v for v in values if v != float("inf")]
        lost = len(values) - len(answered)
        missed = f", {lost} of {len(values)} unanswered in 10 s" if lost else ""
        if not answered:
            return f"no answer{missed}"
        return f"p50 {percentile(answered, 0.5):.1f} ms, max {max(answered):.1f} ms{missed}"

    print(f"keryu web with LimitNOFILE={nofile}; {args.slow} slow connections from 127.0.0.1")
    print(f"GET /login from 127.0.0.2 before:  {line(figures['before'])}")
    print(f"GET /login from 127.0.0.2 during:  {line(figures['during'])}")
    print(f"slow connections closed within 1 s (beyond the per-address cap): {figures['closed_within_1s']}")
    last = figures["last_closed_s"]
    print("last slow connection closed after: " + (f"{last:.1f} s" if last is not None else "still open at 30 s"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
