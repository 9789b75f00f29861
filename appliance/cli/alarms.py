"""Alarm commands: `alarms` (recent, local times, channel), `alarm retry|resolve`, `notify-test --wait`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from appliance.cli.context import CliContext, print_json

if TYPE_CHECKING:
    from appliance.services.views import AlarmView

DEFAULT_WAIT = 30.0


def register(subparsers: argparse._SubParsersAction) -> None:
    alarms = subparsers.add_parser("alarms", help="recent alarms, newest first")
    alarms.add_argument("--json", action="store_true", help="one JSON array of alarm records")
    alarms.add_argument("--limit", type=int, default=20)
    alarms.add_argument("--status", help="only alarms with this status")
    alarms.set_defaults(handler=cmd_alarms)

    alarm = subparsers.add_parser("alarm", help="act on one alarm: retry a FAILED one, or resolve it")
    actions = alarm.add_subparsers(dest="action", required=True)
    retry = actions.add_parser("retry", help="send a FAILED alarm again from its first channel")
    retry.add_argument("alarm_id", type=int, metavar="ID")
    retry.set_defaults(handler=cmd_alarm_retry)
    resolve = actions.add_parser("resolve", help="mark an alarm as dealt with")
    resolve.add_argument("alarm_id", type=int, metavar="ID")
    resolve.add_argument("--note", default="", help="what happened (who picked the person up)")
    resolve.set_defaults(handler=cmd_alarm_resolve)

    notify = subparsers.add_parser("notify-test", help="send a test-mode notification and wait for its outcome")
    notify.add_argument("--phone", required=True, help="the number to send to, e.g. +525512345678")
    notify.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT,
        metavar="S",
        help=f"seconds to wait for the final status (default {DEFAULT_WAIT:.0f}; 0 returns at once)",
    )
    notify.add_argument("--json", action="store_true", help="print the alarm record as JSON")
    notify.set_defaults(handler=cmd_notify_test)


def _when(alarm: AlarmView) -> str:
    """The alarm's time in the kiosk's zone, as a person reads it: `2026-11-28 15:12:03 CST`."""
    return alarm.created_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _status(alarm: AlarmView) -> str:
    return f"{alarm.notification_status} ({alarm.status_note})" if alarm.status_note else alarm.notification_status


def _line(alarm: AlarmView) -> str:
    from appliance.messaging.registry import channel_name

    test = " [test]" if alarm.is_test else ""
    channel = channel_name(alarm.channel) or "-"
    error = f"  ({alarm.notification_error})" if alarm.notification_error and not alarm.notification_sent else ""
    note = f"  ({alarm.status_note})" if alarm.status_note else ""
    return (
        f"#{alarm.id:<6} {_when(alarm)}  {alarm.notification_status:<10} {channel:<15} "
        f"{alarm.subject_name}{test} @ {alarm.location}{note}{error}"
    )


def cmd_alarms(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.alarms import list_alarms

    alarms = list_alarms(ctx.kiosk, status=args.status, limit=args.limit)
    if args.json:
        print_json([alarm.record() for alarm in alarms])
        return 0
    if not alarms:
        print("No alarms.")
    for alarm in alarms:
        print(_line(alarm))
    return 0


def cmd_alarm_retry(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.alarms import retry_alarm

    alarm = retry_alarm(ctx.kiosk, args.alarm_id)
    print(f"Alarm #{alarm.id} is queued again from its first channel; `keryu alarms` shows how it goes.")
    return 0


def cmd_alarm_resolve(args: argparse.Namespace, ctx: CliContext) -> int:
    from appliance.services.alarms import resolve_alarm

    alarm = resolve_alarm(ctx.kiosk, args.alarm_id, args.note)
    note = f": {alarm.resolution_notes}" if alarm.resolution_notes else ""
    print(f"Alarm #{alarm.id} marked as resolved{note}.")
    return 0


def cmd_notify_test(args: argparse.Namespace, ctx: CliContext) -> int:
    """Exit 0 once the provider took the message (SENT or DELIVERED), 1 when it FAILED or is still on its way."""
    from appliance.messaging.registry import channel_name
    from appliance.services.notify import send_test, wait_for_outcome

    queued = send_test(ctx.kiosk, args.phone)
    phone = queued.recipient_phone
    alarm = wait_for_outcome(ctx.kiosk, queued.id, args.wait)
    if args.json:
        print_json({**alarm.record(), "phone": phone, "status_note": alarm.status_note})
    else:
        channel = f" via {channel_name(alarm.channel)} (channel {alarm.channel})" if alarm.channel else ""
        error = f": {alarm.notification_error}" if alarm.notification_error and not alarm.notification_sent else ""
        print(f"Test alarm #{alarm.id} to {phone}: {_status(alarm)}{channel}{error}")
    if args.wait <= 0:  # asked not to wait: queued is all it can say
        return 0
    if not alarm.notification_sent:
        print(f"keryu: the test message was not sent within {args.wait:g} s.", file=sys.stderr)
    return 0 if alarm.notification_sent else 1
