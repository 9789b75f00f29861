"""What the updater does to the machine beyond files: stop and start the kiosk, run a command as
the kiosk's user, read free space. One seam, so that tests run the whole update in a temporary
tree with real subprocesses and only the service manager recorded."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Protocol

KIOSK_USER = "keryu"
KIOSK_HOME = Path("/var/lib/keryu")
KIOSK_UNITS = "keryu*.service"
CRASH_LOOP = 3  # automatic restarts after which a unit is broken, not slow to start


class System(Protocol):
    def stop_kiosk(self) -> None: ...

    def start_kiosk(self) -> None: ...

    def run_as_kiosk(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]: ...

    def free_bytes(self, path: Path) -> int: ...

    def crash_looping(self) -> set[str]: ...


class DeviceSystem:
    """The real machine: systemd's keryu.target, the keryu user, statvfs."""

    def stop_kiosk(self) -> None:
        subprocess.run(["systemctl", "stop", "keryu.target"], check=True)

    def start_kiosk(self) -> None:
        # A service that crash-looped in a failed version must not stay blocked by its start limit.
        subprocess.run(["systemctl", "reset-failed", KIOSK_UNITS], check=False)
        subprocess.run(["systemctl", "start", "keryu.target"], check=True)

    def run_as_kiosk(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        """Run `argv` as the keryu user (files it makes in /var/lib/keryu keep the services' owner)."""
        if os.geteuid() == 0:
            argv = ["setpriv", f"--reuid={KIOSK_USER}", f"--regid={KIOSK_USER}", "--init-groups", "--", *argv]
            env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(KIOSK_HOME), "LANG": "C.UTF-8"}
            cwd: Path | None = KIOSK_HOME
        else:
            env, cwd = None, None
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, check=False)

    def free_bytes(self, path: Path) -> int:
        stat = os.statvfs(path)
        return stat.f_bavail * stat.f_frsize

    def crash_looping(self) -> set[str]:
        """The kiosk's units that systemd gave up on or restarted CRASH_LOOP times since they were
        last started by hand (`start_kiosk` resets the count): a version that cannot run, known
        long before the grace period ends."""
        try:
            result = subprocess.run(
                ["systemctl", "show", "--property=Id,ActiveState,NRestarts", KIOSK_UNITS],
                capture_output=True, text=True, check=False, timeout=60,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError):  # no answer: the health watch decides alone
            return set()
        return looping_units(result.stdout)


def looping_units(show: str) -> set[str]:
    """The units in `systemctl show` output (blocks of Key=value lines) that failed or keep restarting."""
    found = set()
    for block in show.split("\n\n"):
        unit = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        restarts = unit.get("NRestarts", "0")
        if unit.get("ActiveState") == "failed" or (restarts.isdigit() and int(restarts) >= CRASH_LOOP):
            found.add(unit.get("Id", "?"))
    return found
