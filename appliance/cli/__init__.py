"""The `keryu` command line: one argparse tree, one module per group of commands.

Each module in `COMMAND_MODULES` has `register(subparsers)`, which adds its commands and sets
`handler(args, ctx) -> int` on each. User mistakes (`UserError`, `ConfigError`,
`DatabaseMissing`) are printed as one sentence on stderr, in `KERYU_LANGUAGE`, with exit code 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from appliance import __version__
from appliance.cli.context import CliContext
from appliance.cli.language import shown
from appliance.errors import ConfigError, DatabaseMissing, UserError

COMMAND_MODULES = (
    "appliance.cli.core",
    "appliance.cli.alarms",
    "appliance.cli.subjects",
    "appliance.cli.custodians",
    "appliance.cli.web",
    "appliance.cli.device",
    "appliance.cli.scanner",
    "appliance.cli.update",
    "appliance.cli.config",
)

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keryu", description="Keryu kiosk: QR card scans become custodian alarms.")
    parser.add_argument("--version", action="version", version=f"keryu {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `keryu` console script."""
    args = build_parser().parse_args(argv)
    try:
        with CliContext() as ctx:
            return int(args.handler(args, ctx) or 0)
    except (UserError, ConfigError, DatabaseMissing) as exc:
        print(f"keryu: {shown(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
