"""Where updates live on a device; one object so that tests point every path into a temporary tree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KEEP_VERSIONS = 2  # the running version and the one before it


@dataclass(frozen=True)
class UpdatePaths:
    """The app's folders (`/opt/keryu`), the updater's state (`/var/lib/keryu-update`), keys and spool."""

    app_dir: Path = Path("/opt/keryu")
    state_dir: Path = Path("/var/lib/keryu-update")
    keys_dir: Path = Path("/etc/keryu/update-keys")
    spool_dir: Path = Path("/var/lib/keryu/update-spool")
    status_file: Path = Path("/var/lib/keryu-update/status.json")
    reboot_required: Path = Path("/run/reboot-required")
    apt_periodic_dir: Path = Path("/var/lib/apt/periodic")
    unattended_log: Path = Path("/var/log/unattended-upgrades/unattended-upgrades.log")

    @classmethod
    def under(cls, root: Path) -> UpdatePaths:
        """Every path inside `root` (tests, or a device image mounted elsewhere)."""
        return cls(
            app_dir=root / "opt/keryu",
            state_dir=root / "var/lib/keryu-update",
            keys_dir=root / "etc/keryu/update-keys",
            spool_dir=root / "var/lib/keryu/update-spool",
            status_file=root / "var/lib/keryu-update/status.json",
            reboot_required=root / "run/reboot-required",
            apt_periodic_dir=root / "var/lib/apt/periodic",
            unattended_log=root / "var/log/unattended-upgrades/unattended-upgrades.log",
        )

    @property
    def venvs(self) -> Path:
        return self.app_dir / "venvs"

    @property
    def link(self) -> Path:
        """The `venv` symbolic link every unit starts through."""
        return self.app_dir / "venv"

    @property
    def journal(self) -> Path:
        return self.state_dir / "journal.json"

    @property
    def staging(self) -> Path:
        return self.state_dir / "staging"

    @property
    def backups(self) -> Path:
        return self.state_dir / "backups"

    def venv(self, version: str) -> Path:
        return self.venvs / version
