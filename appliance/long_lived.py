"""Keep the garbage collector off what a service made while starting; give freed memory back.

A service's modules, settings, templates and compiled SQL live as long as the process, yet every
full (generation 2) collection walks all of them: 32-40 ms in the running scanner, web and worker
on one x86-64 core (a Pi's core is several times slower), a pause that lands on whatever card,
request or delivery is being handled. Full collections are rare (about one in 30 s of the admin
API at 4,600 requests/s), so the pause shows in the worst case, not in percentiles. `gc.freeze()`
moves the startup objects to the permanent generation, which collections skip (a full collection
then takes 1.2-1.9 ms); what the service makes afterwards is collected as before. Measured in
bench/README.md ("Garbage collection: the startup objects frozen").

glibc keeps what a process frees in the middle of its heap (the frames a scanner decoded, the
pages the admin page rendered) for the process's next allocations, so a service's RSS stays at
its high-water mark long after use. `return_free_memory()` (glibc's `malloc_trim`) hands those
pages back: after use, 1.9 MiB of the scanner's and 1.4 of the web's, for 0.01-0.06 ms a call
(bench/README.md, "Memory"). The scanner and the web call it every RETURN_FREE_MEMORY_EVERY
seconds; the worker's heap held nothing to return.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable

RETURN_FREE_MEMORY_EVERY = 10.0  # seconds


def freeze_startup_objects() -> None:
    """Collect what starting left behind, then freeze the rest; call once, when the service is ready."""
    gc.collect()
    gc.freeze()


def return_free_memory() -> None:
    """Give the C heap's free pages back to the system; nothing where the C library cannot (not glibc)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes  # here: the worker, which never returns memory, need not load it

    try:
        return ctypes.CDLL(None).malloc_trim  # the C library the interpreter is linked with
    except AttributeError:  # musl and others have none
        return None
