"""The web application's own background work while it serves."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.asyncio


async def test_memory_freed_by_rendering_is_given_back_while_the_server_runs(aiohttp_client, app_factory, monkeypatch):
    returned: list[float] = []
    monkeypatch.setattr("appliance.web.app.RETURN_FREE_MEMORY_EVERY", 0.01)
    monkeypatch.setattr(
        "appliance.web.app.return_free_memory", lambda: returned.append(asyncio.get_running_loop().time())
    )
    client = await aiohttp_client(app_factory())
    for _ in range(500):  # three returns, within five seconds even on a loaded machine
        if len(returned) >= 3:
            break
        await asyncio.sleep(0.01)
    assert len(returned) >= 3
    await client.close()
    stopped = len(returned)
    await asyncio.sleep(0.05)
    assert len(returned) == stopped  # the task ends with the server
