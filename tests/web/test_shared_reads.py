"""Requests asking the same question at the same moment share one read, never an older one."""

from __future__ import annotations

import asyncio
import threading
from contextvars import ContextVar

import pytest

from appliance.web.shared_reads import SharedReads

pytestmark = pytest.mark.asyncio


async def test_sixteen_requests_arriving_together_share_one_read():
    reads = SharedReads()
    calls: list[int] = []

    def read() -> object:
        calls.append(1)
        return object()

    answers = await asyncio.gather(*(reads("marker", read) for _ in range(16)))
    assert len(calls) == 1
    assert all(answer is answers[0] for answer in answers)
    assert (reads.started, reads.joined) == (1, 15)


async def test_a_request_arriving_after_the_read_started_gets_a_read_of_its_own():
    reads = SharedReads()
    started, release = threading.Event(), threading.Event()
    order: list[int] = []
    lock = threading.Lock()

    def read() -> int:
        with lock:
            order.append(len(order))
            mine = order[-1]
        started.set()
        release.wait(10)
        return mine

    first = asyncio.ensure_future(reads("marker", read))
    assert await asyncio.to_thread(started.wait, 10)  # the first read is running in its thread
    second = asyncio.ensure_future(reads("marker", read))
    await asyncio.sleep(0.05)
    release.set()
    assert (await first, await second) == (0, 1)
    assert (reads.started, reads.joined) == (2, 0)


async def test_different_questions_are_never_shared():
    reads = SharedReads()
    answers = await asyncio.gather(reads(("session", "a"), lambda: "a"), reads(("session", "b"), lambda: "b"))
    assert answers == ["a", "b"]
    assert reads.joined == 0


async def test_a_failed_read_fails_every_request_that_shared_it_and_the_next_one_reads_again():
    reads = SharedReads()

    def broken() -> None:
        raise OSError("disk gone")

    answers = await asyncio.gather(*(reads("marker", broken) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(answer, OSError) for answer in answers)
    assert await reads("marker", lambda: "back") == "back"


async def test_a_shared_read_does_not_see_the_context_of_the_request_that_started_it():
    reads = SharedReads()
    whose = ContextVar("whose", default="nobody's")
    whose.set("the first request's")  # a language or a user, say: the answer must not depend on it
    assert await reads("k", whose.get) == "nobody's"
