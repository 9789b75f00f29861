"""`sudo ./startup.sh install|uninstall` refuse, in one sentence, where they cannot work; the install
itself runs in image/test-install.sh (a booted Debian container), never on the test machine."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

STARTUP = Path(__file__).resolve().parents[1] / "startup.sh"


@pytest.mark.skipif(Path("/run/systemd/system").is_dir(), reason="systemd runs here: the install would really install")
@pytest.mark.parametrize("command", ["install", "uninstall"])
def test_without_root_or_systemd_install_and_uninstall_refuse_in_one_sentence(command: str) -> None:
    result = subprocess.run(
        [str(STARTUP), command], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 1
    expected = "systemd is not running as init" if os.geteuid() == 0 else "run it as root"
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_install_takes_no_arguments() -> None:
    result = subprocess.run([str(STARTUP), "install", "--force"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "usage:" in result.stderr
