"""Whether the wall clock is the real time, read from systemd-timesyncd's runtime folder."""

from __future__ import annotations

from pathlib import Path

from appliance.clock import SystemClock


def test_no_timesyncd_means_the_clock_is_taken_as_it_is(tmp_path: Path) -> None:
    assert SystemClock(timesync_dir=tmp_path / "absent").synced()


def test_timesyncd_waiting_for_the_network_means_not_synced(tmp_path: Path) -> None:
    (tmp_path / "timesync").mkdir()
    assert not SystemClock(timesync_dir=tmp_path / "timesync").synced()


def test_timesyncd_synchronized_file_means_synced(tmp_path: Path) -> None:
    (tmp_path / "timesync").mkdir()
    (tmp_path / "timesync/synchronized").touch()
    assert SystemClock(timesync_dir=tmp_path / "timesync").synced()


def test_the_boot_id_names_this_boot(tmp_path: Path) -> None:
    boot_id = tmp_path / "boot_id"
    boot_id.write_text("1d2c3b4a-0000-4000-8000-000000000001\n")
    assert SystemClock(boot_id_file=boot_id).boot_id() == "1d2c3b4a-0000-4000-8000-000000000001"
    assert SystemClock(boot_id_file=tmp_path / "none").boot_id() == ""
