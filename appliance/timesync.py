"""Whether the wall clock can be trusted yet, and which boot this is.

A Raspberry Pi has no battery-backed clock: after a power cut the kernel starts from the last
time systemd-timesyncd saved, and the real time only arrives with the network. timesyncd keeps
its runtime folder `/run/systemd/timesync` while it runs and creates `synchronized` in it at the
first sync of the boot. So: the file present means synced; the folder without the file means
timesyncd is still waiting; neither means no timesyncd manages this clock (a developer's
computer, a server running chrony), and the clock is taken as it is.

The kernel's own flag (adjtimex's STA_UNSYNC) is not used: the services' sandbox forbids the
@clock system calls, and a host whose time is kept by its container runtime reports it unsynced.
"""

from __future__ import annotations

from pathlib import Path

TIMESYNC_RUN_DIR = Path("/run/systemd/timesync")
BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


def clock_synced(run_dir: Path = TIMESYNC_RUN_DIR) -> bool:
    """True once timesyncd has set the clock this boot, or when no timesyncd manages the clock."""
    if (run_dir / "synchronized").exists():
        return True
    return not run_dir.is_dir()


def boot_id(path: Path = BOOT_ID_FILE) -> str:
    """The kernel's id of this boot: monotonic times are comparable only within one boot."""
    try:
        return path.read_text().strip()
    except OSError:
        return ""  # no /proc (not Linux): every reading is of an unknown boot
