"""Keep the garbage collector off what a service made while starting.

A service's modules, settings, templates and compiled SQL live as long as the process, yet every
full (generation 2) collection walks all of them: 32-40 ms in the running scanner, web and worker
on one x86-64 core (a Pi's core is several times slower), a pause that lands on whatever card,
request or delivery is being handled. Full collections are rare (about one in 30 s of the admin
API at 4,600 requests/s), so the pause shows in the worst case, not in percentiles. `gc.freeze()`
moves the startup objects to the permanent generation, which collections skip (a full collection
then takes 1.2-1.9 ms); what the service makes afterwards is collected as before. Measured in
bench/README.md ("Garbage collection: the startup objects frozen").
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect what starting left behind, then freeze the rest; call once, when the service is ready."""
    gc.collect()
    gc.freeze()
