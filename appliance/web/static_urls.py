"""Static files' versioned URLs (`/static/app.js?v=<hash>`), worked out once per process.

aiohttp's static route reads and hashes the whole file each time a page asks for its URL
(three files, on the event loop, for every page). The files ship with the package and change
only with an update, which restarts the process, so each URL is worked out on first use and
kept.
"""

from __future__ import annotations

from typing import Any

import jinja2

STATIC_ROUTE = "static"


def remember_static_urls(env: jinja2.Environment) -> None:
    """Wrap the templates' `url()` (from aiohttp_jinja2) so that static files' URLs are kept."""
    build = env.globals["url"]
    known: dict[str, Any] = {}

    @jinja2.pass_context
    def url(context: Any, route_name: str, query_: dict[str, str] | None = None, **parts: Any) -> Any:
        if route_name != STATIC_ROUTE or query_ or set(parts) != {"filename"}:
            return build(context, route_name, query_, **parts)
        filename = str(parts["filename"])
        found = known.get(filename)
        if found is None:
            found = known[filename] = build(context, route_name, **parts)
        return found

    env.globals["url"] = url
