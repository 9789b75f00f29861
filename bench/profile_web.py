"""Where a cached admin page's server time goes: each middleware, the handler, and the pieces.

Builds a kiosk with `--alarms` alarms (as `bench_web.py` does), serves it in this process
(aiohttp's test server, the real `create_app`), asks each page `--requests` times one after
another with the admin's session cookie, and prints per page the median time spent inside each
middleware alone (its time less the next one's) and in the handler; then the median of each
piece called directly: the cookie's decryption, the session lookup, the change marker, a
template render, the `Accept-Language` negotiation. With `--profile` it also prints the top of
a cProfile of the server side of the floor and the dashboard.

    .venv/bin/python bench/profile_web.py [--alarms 100000] [--requests 200] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from bench_web import BARE, PASSWORD, TARGETS, fill

from appliance.config import load_settings
from appliance.i18n import negotiate
from appliance.services.alarms import change_marker
from appliance.services.auth import set_up_admin
from appliance.services.kiosk import Kiosk
from appliance.services.web_sessions import session_is_active
from appliance.store.migrate import upgrade
from appliance.web import create_app

HANDLER = "handler"


def timed(name: str, middleware, spent: dict[str, list[float]]):
    """`middleware`, recording the time spent inside it (the rest of the chain included)."""

    @web.middleware
    async def wrapper(request: web.Request, handler):
        started = time.perf_counter()
        try:
            return await middleware(request, handler)
        finally:
            spent[name].append(time.perf_counter() - started)

    return wrapper


def instrument(app: web.Application) -> tuple[list[str], dict[str, list[float]]]:
    """Wrap every middleware of `app` and add a last one that times the handler alone."""
    spent: dict[str, list[float]] = defaultdict(list)
    names = []
    for index, middleware in enumerate(list(app.middlewares)):
        name = getattr(middleware, "__qualname__", repr(middleware)).replace(".<locals>", "")
        names.append(name)
        app.middlewares[index] = timed(name, middleware, spent)

    @web.middleware
    async def handler_only(request: web.Request, handler):
        return await handler(request)

    app.middlewares.append(timed(HANDLER, handler_only, spent))
    names.append(HANDLER)
    return names, spent


def own_times(names: list[str], spent: dict[str, list[float]]) -> dict[str, float]:
    """Median milliseconds of each stage alone: its time less the time of the stage inside it."""
    result = {}
    for outer, inner in zip(names, [*names[1:], None], strict=True):
        inside = spent[inner] if inner else [0.0] * len(spent[outer])
        result[outer] = statistics.median(a - b for a, b in zip(spent[outer], inside, strict=True)) * 1000
    return result


def median_ms(call, times: int = 200) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1000, 3)


async def login(client: TestClient) -> None:
    import re

    form = await (await client.get("/login")).text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = await client.post("/login", data={"password": PASSWORD, "csrf_token": csrf}, allow_redirects=False)
    assert answer.status == 303, answer.status


async def profile(kiosk: Kiosk, deep: int, requests: int, with_cprofile: bool) -> None:
    app = create_app(kiosk, live_interval=3600)
    names, spent = instrument(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        await login(client)
        print(f"{'page (median ms alone, one at a time)':40}" + "".join(f"{n[:14]:>15}" for n in names))
        for page, path in TARGETS.items():
            if page == BARE:  # this client always sends its session cookie
                continue
            url = path.format(deep=deep)
            for _ in range(5):  # warm the caches
                assert (await client.get(url, allow_redirects=False)).status == 200
            spent.clear()
            for _ in range(requests):
                answer = await client.get(url, allow_redirects=False)
                await answer.read()
            alone = own_times(names, spent)
            total = statistics.median(spent[names[0]]) * 1000
            print(f"{page[:31]:31} {total:7.2f}" + "".join(f"{alone[n]:15.3f}" for n in names))
        if with_cprofile:
            for path in ("/api/health?self=1", "/", "/alarms"):
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(requests):
                    await (await client.get(path)).read()
                profiler.disable()
                print(f"\ncProfile of {requests} x {path} (client and server in this process)")
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    finally:
        await client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="keryu-profile-web-"))
    try:
        kiosk = Kiosk.from_settings(
            load_settings(KERYU_DATA_DIR=str(workdir / "data"), KERYU_CAMERA="none", REDIS_URL="redis://127.0.0.1:9/0")
        )
        upgrade(kiosk.store)
        deep = fill(kiosk, args.alarms)
        set_up_admin(kiosk, PASSWORD)
        asyncio.run(profile(kiosk, deep, args.requests, args.profile))
        from appliance.services.web_sessions import start_session

        token = start_session(kiosk)
        print("\npieces, called directly (median ms):")
        print(f"  session lookup (session_is_active)   {median_ms(lambda: session_is_active(kiosk, token))}")
        print(f"  change marker                         {median_ms(lambda: change_marker(kiosk))}")
        print(f"  Accept-Language negotiation           {median_ms(lambda: negotiate('en-US,en;q=0.9', 'es'))}")
        kiosk.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
