"""Reboot and service restart from the admin page, without root in the web process.

The web service runs as `keryu` with NoNewPrivileges (no sudo, no setuid) and no D-Bus policy
that lets it manage units. It only creates a file named after the action in /run/keryu-power
(its RuntimeDirectory); a root path unit watching that exact name (systemd/keryu-power-*.path)
starts `keryu-power@ACTION.service`, which removes the file and runs one fixed command. The
web process chooses which of the two actions, never the command (docs/security.md). In a
checkout (no such folder) the file goes to `$KERYU_DATA_DIR/power`, where nothing acts on it.
"""

from __future__ import annotations

from pathlib import Path

from appliance.config import Settings
from appliance.i18n import N_

ACTIONS = {
    "restart": N_("Restarting the kiosk's services (about half a minute)"),
    "reboot": N_("Rebooting the kiosk (about a minute)"),
}
RUNTIME_DIR = Path("/run/keryu-power")
UNIT_DIRS = (Path("/etc/systemd/system"), Path("/usr/lib/systemd/system"), Path("/lib/systemd/system"))


def trigger_path(settings: Settings, action: str) -> Path:
    folder = RUNTIME_DIR if RUNTIME_DIR.is_dir() else settings.data_dir / "power"
    return folder / action


def power_available(unit_dirs: tuple[Path, ...] = UNIT_DIRS) -> bool:
    """The path units that carry out the requests are installed (an SD image or `startup.sh install`)."""
    return all(any((d / f"keryu-power-{a}.path").exists() for d in unit_dirs) for a in ACTIONS)


def request_power(settings: Settings, action: str) -> Path:
    """Leave the request for the root path unit; ValueError for an action it does not know."""
    if action not in ACTIONS:
        raise ValueError(f"unknown power action {action!r}")
    path = trigger_path(settings, action)
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    path.write_text("requested from the admin page\n")
    return path
