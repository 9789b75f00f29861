"""`keryu web`: the admin page and API in the foreground, as keryu-web.service runs it.

The web runtime (aiohttp and the templates) is imported only when this command runs, so other
`keryu` commands start quickly on a Pi. A wrong setting does not stop it: it serves with that
setting's default, names the error on every page and in /api/health, and prepares the database
itself, since keryu-init waits (with the other services) until the setting is fixed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from appliance.cli.context import CliContext
from appliance.long_lived import freeze_startup_objects

logger = logging.getLogger(__name__)

CONFIG_ERROR_LOG = "Configuration error: %s The admin page shows it; the other services wait until it is fixed."


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("web", help="run the admin page and JSON API in the foreground")
    parser.add_argument("--host", help="address to bind (default KERYU_WEB_HOST)")
    parser.add_argument("--port", type=int, help="port to bind (default KERYU_WEB_PORT)")
    parser.set_defaults(handler=run_web)


def run_web(args: argparse.Namespace, ctx: CliContext) -> int:
    """Serve until SIGTERM or Ctrl-C."""
    from appliance.web.serve import serve

    settings = ctx.settings_despite_errors()
    if settings.config_problem:
        logger.error(CONFIG_ERROR_LOG, settings.config_problem)
        _prepare_database(ctx)
    host = args.host or settings.web_host
    port = args.port or settings.web_port
    kiosk = ctx.kiosk
    freeze_startup_objects()
    return asyncio.run(serve(kiosk, host, port))


def _prepare_database(ctx: CliContext) -> None:
    """What `keryu init` does (idempotent): create or migrate the database, make the setup code."""
    from appliance.services.database import migrate
    from appliance.services.setup_code import ensure_setup_code

    migrate(ctx.unchecked_kiosk)
    ensure_setup_code(ctx.kiosk)
