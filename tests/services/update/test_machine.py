"""The operating system's side for the admin page: a needed reboot, the last package update,
the nightly reboot window, and the spool hand-over that never follows a link."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from appliance.services.update.machine import in_window, last_package_update, parse_window, reboot_required
from appliance.services.update.paths import UpdatePaths
from appliance.services.update.spool import SPOOLED, take

UNATTENDED_LOG = """\
2026-11-26 04:16:02,512 INFO Starting unattended upgrades script
2026-11-26 04:16:40,101 INFO All upgrades installed
2026-11-27 04:21:09,007 INFO Starting unattended upgrades script
2026-11-27 04:21:30,330 INFO No packages found that can be upgraded unattended and no pending auto-removals
2026-11-28 04:18:51,777 INFO Starting unattended upgrades script
2026-11-28 04:19:45,250 INFO All upgrades installed
"""


@pytest.fixture
def paths(tmp_path: Path) -> UpdatePaths:
    return UpdatePaths.under(tmp_path)


def test_a_reboot_is_needed_when_debian_says_so_with_the_packages(paths: UpdatePaths) -> None:
    assert reboot_required(paths) is None
    paths.reboot_required.parent.mkdir(parents=True)
    paths.reboot_required.write_text("*** System restart required ***\n")
    paths.reboot_required.with_name("reboot-required.pkgs").write_text("linux-image-arm64\nlibc6\nlibc6\n")

    assert reboot_required(paths) == ["libc6", "linux-image-arm64"]


def test_the_last_package_update_is_the_last_successful_unattended_run(paths: UpdatePaths) -> None:
    assert last_package_update(paths) is None
    paths.unattended_log.parent.mkdir(parents=True)
    paths.unattended_log.write_text(UNATTENDED_LOG)

    assert last_package_update(paths) == datetime(2026, 11, 28, 4, 19, 45)


def test_without_a_log_apts_upgrade_stamp_is_the_date(paths: UpdatePaths) -> None:
    paths.apt_periodic_dir.mkdir(parents=True)
    stamp = paths.apt_periodic_dir / "upgrade-stamp"
    stamp.touch()
    os.utime(stamp, (1764300000, 1764300000))

    assert last_package_update(paths) == datetime.fromtimestamp(1764300000)


@pytest.mark.parametrize(
    ("window", "now", "inside"),
    [
        ("03:00-04:00", "03:30", True),
        ("03:00-04:00", "04:00", False),
        ("23:30-01:00", "00:15", True),
        ("23:30-01:00", "12:00", False),
    ],
)
def test_the_reboot_window_is_local_time_and_may_pass_midnight(window: str, now: str, inside: bool) -> None:
    moment = datetime.strptime(f"2026-11-28 {now}", "%Y-%m-%d %H:%M")
    assert in_window(parse_window(window), moment) is inside


def test_the_updater_takes_a_spooled_bundle_but_never_follows_a_link(tmp_path: Path) -> None:
    spool, secret = tmp_path / "spool", tmp_path / "root-only-secret"
    spool.mkdir()
    secret.write_text("not for the web process")
    (spool / SPOOLED).symlink_to(secret)

    assert take(spool, tmp_path / "state/incoming.kup") is None
    assert not (tmp_path / "state/incoming.kup").exists()
    assert not (spool / SPOOLED).exists() and secret.exists()

    (spool / SPOOLED).write_bytes(b"bundle")
    assert take(spool, tmp_path / "state/incoming.kup").read_bytes() == b"bundle"
    assert not (spool / SPOOLED).exists()
