"""Core commands: init, setup-code, hash-password, channel, status, worker, beat (alarms: `cli/alarms.py`).

Heavier modules (Alembic, the health probes, Celery's worker) are imported by the command that
needs them, so that every `keryu` call starts quickly on a Pi.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from appliance.cli.context import CliContext, print_json

NO_SETUP_CODE = "The admin password is set; the setup code is no longer needed."


def register(subparsers: argparse._SubParsersAction) -> None:
    init = subparsers.add_parser("init", help="create or migrate the database (idempotent)")
    init.set_defaults(handler=cmd_init)

    setup_code = subparsers.add_parser("setup-code", help="print the one-time code that first-run setup asks for")
    setup_code.set_defaults(handler=cmd_setup_code)

    hasher = subparsers.add_parser(
        "hash-password", help="read a password (without echo) and print its hash for KERYU_ADMIN_PASSWORD_HASH"
    )
    hasher.set_defaults(handler=cmd_hash_password)

    channel = subparsers.add_parser("channel", help="the first channel to try (1, 2 or 3)")
    channel_sub = channel.add_subparsers(dest="action", required=True)
    channel_sub.add_parser("get", help="show the channel").set_defaults(handler=cmd_channel_get)
    setter = channel_sub.add_parser("set", help="1 Meta WhatsApp, 2 Twilio WhatsApp, 3 Twilio SMS")
    setter.add_argument("value")
    setter.set_defaults(handler=cmd_channel_set)

    status = subparsers.add_parser("status", help="health of the kiosk; exit 0 when all is ok")
    status.add_argument("--json", action="store_true", help="print the same object as GET /api/health")
    status.set_defaults(handler=cmd_status)

    worker = subparsers.add_parser("worker", help="run the Celery worker and its scheduler (foreground)")
    worker.add_argument(
        "--no-beat", dest="beat", action="store_false", help="without the scheduler: one `keryu beat` serves a fleet"
    )
    worker.set_defaults(handler=cmd_worker)
    beat = subparsers.add_parser("beat", help="run the scheduler alone, for workers started with --no-beat")
    beat.set_defaults(handler=cmd_beat)


def cmd_init(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.database import migrate
    from appliance.services.setup_code import ensure_setup_code

    done = migrate(ctx.unchecked_kiosk)
    if done.before == done.after:
        print(f"Database {done.database} is up to date (revision {done.after}).")
    else:
        print(f"Database {done.database} migrated from {done.before or 'empty'} to {done.after}.")
    ensure_setup_code(ctx.kiosk)
    return 0


def cmd_setup_code(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.setup_code import ensure_setup_code

    code = ensure_setup_code(ctx.kiosk)
    if code is None:
        print(NO_SETUP_CODE, file=sys.stderr)
        return 1
    print(code)
    return 0


def cmd_hash_password(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.auth import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("New admin password: ")
        confirm: str | None = getpass.getpass("Again, to be sure: ")
    else:  # piped in: the first line is the password
        password, confirm = sys.stdin.readline().rstrip("\r\n"), None
    print(hash_password(password, confirm))
    return 0


def cmd_channel_get(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.messaging.registry import channel_name
    from appliance.services.parameters import get_channel

    with ctx.kiosk.store.read() as session:
        number = get_channel(session)
    print(f"{number} ({channel_name(number)})")
    return 0


def cmd_channel_set(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.messaging.registry import channel_name
    from appliance.services.parameters import set_channel

    with ctx.kiosk.store.session() as session:
        number = set_channel(session, args.value)
    configured = ctx.kiosk.channels[number].is_configured()
    print(f"Channel set to {number} ({channel_name(number)}).")
    if not configured:
        print(f"Warning: {channel_name(number)} has no credentials configured; alarms will fall back.", file=sys.stderr)
    return 0


def cmd_status(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.health import check_health

    report = check_health(ctx.unchecked_kiosk)
    if args.json:
        print_json(report)
    else:
        print(f"Keryu {report['version']}: {report['status']}")
        for name, part in report["components"].items():
            details = ", ".join(f"{key}={value}" for key, value in part.items() if key != "status")
            print(f"  {name:<9} {part['status']:<9} {details}")
    return 0 if report["status"] == "ok" else 1


def cmd_worker(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.worker.runtime import run_worker

    return run_worker(ctx.settings, with_beat=args.beat)


def cmd_beat(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.worker.runtime import run_beat

    return run_beat(ctx.settings)
