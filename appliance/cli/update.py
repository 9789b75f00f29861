"""Update commands: `keryu bundle` (from a checkout) and `keryu update` (on the kiosk, as root).

`keryu update` installs a bundle with automatic rollback, `--rollback` goes back by hand,
`--resume` undoes an update a power cut interrupted (keryu-update-resume.service, at boot),
`--spool` installs what the admin page uploaded (keryu-update.service), `--reboot-if-due`
reboots when updates need it and KERYU_REBOOT_WINDOW says now (keryu-reboot-window.timer).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from appliance.cli.context import CliContext
from appliance.cli.language import shown
from appliance.errors import UserError

NEEDS_ROOT = "keryu update changes /opt/keryu and restarts the kiosk: run it as root (sudo keryu update ...)."


def register(subparsers: argparse._SubParsersAction) -> None:
    bundle = subparsers.add_parser("bundle", help="make a signed update bundle (.kup) from this checkout")
    bundle.add_argument("--out", required=True, type=Path, metavar="FILE.kup", help="where to write the bundle")
    bundle.add_argument("--key", required=True, type=Path, metavar="KEY", help="Ed25519 private key that signs it")
    bundle.add_argument("--source", type=Path, default=Path("."), metavar="DIR", help="the checkout (default: .)")
    bundle.add_argument(
        "--wheelhouse", type=Path, metavar="DIR", help="take dependency wheels from DIR (an image build's wheelhouse)"
    )
    bundle.add_argument("--arch", help="device architecture (default: image/config's, aarch64)")
    bundle.add_argument("--python", help="device Python major.minor (default: image/config's)")
    bundle.set_defaults(handler=cmd_bundle)

    update = subparsers.add_parser("update", help="install an update bundle, with automatic rollback")
    update.add_argument("file", nargs="?", type=Path, metavar="FILE.kup", help="the bundle to install")
    update.add_argument("--allow-downgrade", action="store_true", help="install an older version than the running one")
    update.add_argument("--grace", type=float, metavar="S", help="seconds to become healthy (KERYU_UPDATE_GRACE, 120)")
    what = update.add_mutually_exclusive_group()
    what.add_argument("--rollback", action="store_true", help="go back to the other kept version")
    what.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)
    what.add_argument("--spool", action="store_true", help=argparse.SUPPRESS)
    what.add_argument("--reboot-if-due", action="store_true", help=argparse.SUPPRESS)
    update.set_defaults(handler=cmd_update)


def cmd_bundle(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.update.bundle import Target, image_target, make_bundle

    source = args.source.resolve()
    target = None
    if args.arch or args.python:
        default = image_target(source)
        target = Target(arch=args.arch or default.arch, python=args.python or default.python)
    manifest = make_bundle(source, args.out, args.key, wheelhouse=args.wheelhouse, target=target)
    print(
        f"Bundle {args.out} written: Keryu {manifest.version} for {manifest.arch} with Python {manifest.python}, "
        f"{len(manifest.wheels)} wheels, schema {manifest.schema}."
    )
    return 0


def cmd_update(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.update import errors
    from appliance.services.update.database import sqlite_path
    from appliance.services.update.engine import Updater
    from appliance.services.update.paths import UpdatePaths

    if os.geteuid() != 0:
        raise UserError(NEEDS_ROOT)
    paths = UpdatePaths()
    if args.reboot_if_due:
        return _reboot_if_due(ctx, paths)
    database = sqlite_path(ctx.settings.database)
    updater = Updater(paths=paths, database=database, grace=args.grace or ctx.settings.update_grace)
    if args.resume:
        message = updater.resume()
        print(message or "No interrupted update.")
        return 0
    if args.rollback:
        print(updater.rollback())
        return 0
    if database is None:
        raise UserError(errors.not_sqlite())
    if args.spool:
        from appliance.services.update.spool import take

        bundle = take(paths.spool_dir, paths.state_dir / "incoming.kup")
        if bundle is None:
            return 0
        try:
            print(updater.install(bundle))
        except UserError as refusal:  # recorded for the admin page; the unit itself did its job
            print(f"keryu: {shown(refusal)}", file=sys.stderr)
        finally:
            bundle.unlink(missing_ok=True)
        return 0
    if args.file is None:
        raise UserError("Name the bundle to install (keryu update FILE.kup), or use --rollback.")
    message = updater.install(args.file, allow_downgrade=args.allow_downgrade)
    print(message)
    return 0 if "rolled back" not in message else 1


def _reboot_if_due(ctx: CliContext, paths) -> int:
    from appliance.services.update.machine import in_window, parse_window, reboot_required

    window = ctx.settings.reboot_window
    if window is None or reboot_required(paths) is None or not in_window(parse_window(window), datetime.now()):
        return 0
    print(f"Rebooting for updates (KERYU_REBOOT_WINDOW={window}).")
    subprocess.run(["systemctl", "reboot"], check=True)
    return 0
