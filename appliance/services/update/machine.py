"""The operating system's side of updates for the admin page: whether a reboot is needed
(Debian's /run/reboot-required), when packages were last updated, and the nightly reboot window."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path

from appliance.services.update.paths import UpdatePaths
from appliance.services.update.status import UpdateStatus, last

# unattended-upgrades logs this line after each run that installed packages successfully.
_SUCCESS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ INFO All upgrades installed", re.MULTILINE)
WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def reboot_required(paths: UpdatePaths) -> list[str] | None:
    """The packages that asked for a reboot ([] when they are not named), or None when none is needed."""
    if not paths.reboot_required.exists():
        return None
    packages = paths.reboot_required.with_name("reboot-required.pkgs")
    try:
        return sorted(set(packages.read_text().split()))
    except OSError:
        return []


def last_package_update(paths: UpdatePaths) -> datetime | None:
    """When unattended-upgrades last installed packages (its log), else when APT's daily upgrade
    last ran (/var/lib/apt/periodic/upgrade-stamp); None when neither says."""
    try:
        found = _SUCCESS.findall(paths.unattended_log.read_text(errors="replace"))
    except OSError:
        found = []
    if found:
        return datetime.strptime(found[-1], "%Y-%m-%d %H:%M:%S")
    stamp = paths.apt_periodic_dir / "upgrade-stamp"
    return datetime.fromtimestamp(stamp.stat().st_mtime) if stamp.exists() else None


def parse_window(value: str) -> tuple[time, time]:
    """`HH:MM-HH:MM` (local time; may pass midnight) as two times; ValueError otherwise."""
    match = WINDOW.fullmatch(value.strip())
    if not match:
        raise ValueError("must be a time range such as 03:00-04:00, or off")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    return time(h1, m1), time(h2, m2)


def in_window(window: tuple[time, time], now: datetime) -> bool:
    start, end = window
    moment = now.time()
    return start <= moment < end if start <= end else moment >= start or moment < end


@dataclass(frozen=True)
class UpdateOverview:
    """What the admin page shows about updates, as plain values."""

    last: UpdateStatus | None  # the last Keryu update's outcome
    reboot_packages: list[str] | None  # None: no reboot needed
    last_package_update: datetime | None
    reboot_window: str | None


def overview(paths: UpdatePaths, reboot_window: str | None) -> UpdateOverview:
    return UpdateOverview(
        last=last(paths.status_file),
        reboot_packages=reboot_required(paths),
        last_package_update=last_package_update(paths),
        reboot_window=reboot_window,
    )


def web_paths(data_dir: Path) -> UpdatePaths:
    """The device's update paths; the spool is in the kiosk's data folder (the only one the web may write)."""
    return UpdatePaths(spool_dir=data_dir / "update-spool")
