"""`keryu web`: the admin page and API in the foreground, as keryu-web.service runs it.

The web runtime (aiohttp and the templates) is imported only when this command runs, so other
`keryu` commands start quickly on a Pi.
"""

from __future__ import annotations

import argparse
import asyncio

from appliance.cli.context import CliContext


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("web", help="run the admin page and JSON API in the foreground")
    parser.add_argument("--host", help="address to bind (default KERYU_WEB_HOST)")
    parser.add_argument("--port", type=int, help="port to bind (default KERYU_WEB_PORT)")
    parser.set_defaults(handler=run_web)


def run_web(args: argparse.Namespace, ctx: CliContext) -> int:
    """Serve until SIGTERM or Ctrl-C."""
    from appliance.web.serve import serve

    host = args.host or ctx.settings.web_host
    port = args.port or ctx.settings.web_port
    return asyncio.run(serve(ctx.kiosk, host, port))
