"""`keryu check-config` and `keryu config-led`: what systemd runs around a wrong setting.

A wrong value must never hide the admin page: `keryu web` starts anyway and shows it. The units
of the other services run `keryu check-config` as their `ExecCondition=`, so they stay stopped
(skipped, not failed) until the setting is fixed; `keryu config-led` (keryu-config-led.service)
meanwhile shows the red "configuration error" pattern, since the scanner that drives the LEDs
is one of the services held back.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from appliance.cli.context import CliContext
from appliance.cli.language import shown
from appliance.config import load_settings, load_settings_despite_errors
from appliance.errors import ConfigError

CONFIG_OK = "The configuration is valid."
LED_NOT_NEEDED = "The configuration is valid: no configuration-error pattern to show."
LED_SHOWING = "Configuration error ({problem}); the red LED shows it until this service stops."


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("check-config", help="exit 0 when every setting is valid, else 1 naming the first")
    parser.set_defaults(handler=run_check_config)
    parser = subparsers.add_parser("config-led", help="while a setting is wrong, blink the configuration-error pattern")
    parser.set_defaults(handler=run_config_led)


def run_check_config(args: argparse.Namespace, ctx: CliContext) -> int:
    """Exit 1 (systemd's ExecCondition= then skips the unit, without failing it) on a wrong setting."""
    try:
        load_settings()
    except ConfigError as exc:
        print(f"keryu: {shown(exc)}", file=sys.stderr)
        return 1
    print(CONFIG_OK)
    return 0


def run_config_led(args: argparse.Namespace, ctx: CliContext, *, stop: threading.Event | None = None) -> int:
    """Show Mood.CONFIG_ERROR on the LEDs until SIGTERM; return at once when the settings are valid."""
    from appliance.feedback import Mood, make_feedback

    settings = load_settings_despite_errors()
    if settings.config_problem is None:
        print(LED_NOT_NEEDED)
        return 0
    print(LED_SHOWING.format(problem=settings.config_problem), file=sys.stderr)
    if stop is None:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    feedback = make_feedback(settings)
    try:
        feedback.set_mood(Mood.CONFIG_ERROR)
        stop.wait()
    finally:
        feedback.close()
    return 0
