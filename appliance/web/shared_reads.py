"""Blocking reads run in a worker thread, shared by the requests that ask for the same one at once.

Under load most of a small read's cost is the trip to a worker thread and back (waking the
thread, then the event loop: up to several milliseconds each on a busy machine, against a
fraction of a millisecond for the read), so sixteen browsers asking the same question should
make one trip, not sixteen. A request joins a read only while that read has not started: what
it gets back was read after it arrived, exactly as fresh as a read of its own would be. A read
that has started is left alone, and the next request starts a new one.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")


class _Waiting:
    """One read not yet started, and the task that will run it."""

    __slots__ = ("task",)

    def __init__(self) -> None:
        self.task: asyncio.Future[Any] | None = None


class SharedReads:
    """`await reads(key, read)`: `read()` in a worker thread, shared by callers of the same `key` until it starts.

    `key` must name everything the answer depends on (what is read, for which filters, session
    or language): two callers with the same key get the same answer.
    """

    def __init__(self) -> None:
        self._waiting: dict[Hashable, _Waiting] = {}
        self._lock = threading.Lock()  # the worker thread removes a read as it starts it
        self.started = self.joined = 0  # reads run, and requests that joined one (tests, the bench)

    async def __call__(self, key: Hashable, read: Callable[[], T]) -> T:
        with self._lock:
            waiting = self._waiting.get(key)
            if waiting is None:
                waiting = self._waiting[key] = _Waiting()
                waiting.task = asyncio.ensure_future(self._run(key, waiting, read))
                self.started += 1
            else:
                self.joined += 1
            task = waiting.task
        return await asyncio.shield(task)  # one caller giving up does not cancel the others' read

    async def _run(self, key: Hashable, waiting: _Waiting, read: Callable[[], T]) -> T:
        # Handed to the thread on the loop's next turn, so the requests of this turn can still join.
        # Not `to_thread`: the read runs without the first caller's context (its language, its
        # request), so that its answer can only depend on what the key names.
        return await asyncio.get_running_loop().run_in_executor(None, self._start, key, waiting, read)

    def _start(self, key: Hashable, waiting: _Waiting, read: Callable[[], T]) -> T:
        with self._lock:  # from now on, a new request starts a new read
            if self._waiting.get(key) is waiting:
                del self._waiting[key]
        return read()


SHARED_READS = web.AppKey("shared_reads", SharedReads)


async def shared_read(request: web.Request, key: Hashable, read: Callable[[], T]) -> T:
    """`read()` off the event loop, shared with the requests asking the same `key` at the same moment."""
    return await request.app[SHARED_READS](key, read)
