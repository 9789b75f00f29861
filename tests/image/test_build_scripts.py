"""The image build, checked without building it: scripts that parse and pass shellcheck,
package lists and files as data, units taken only from systemd/, and the device's settings."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from appliance.config import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "image"
SCRIPTS = sorted(
    [
        IMAGE / "build.sh",
        IMAGE / "test-boot.sh",
        IMAGE / "test-install.sh",
        *IMAGE.glob("steps/*.sh"),
        *IMAGE.glob("hooks/*.sh"),
    ],
)
ROOTFS = IMAGE / "files/rootfs"


def script_ids() -> list[str]:
    return [str(p.relative_to(IMAGE)) for p in SCRIPTS]


@pytest.mark.parametrize("script", SCRIPTS, ids=script_ids())
def test_scripts_parse_and_stop_at_the_first_error(script: Path) -> None:
    assert script.read_text().startswith("#!/bin/bash -e\n# "), "bash -e, then a comment saying why"
    assert script.stat().st_mode & 0o111, "executable"
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=script_ids())
def test_shellcheck_is_clean(script: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (apt-get install -y shellcheck)")
    result = subprocess.run([shellcheck, "-x", "-e", "SC1091", str(script)], capture_output=True, text=True, cwd=IMAGE)
    assert result.returncode == 0, result.stdout


def test_steps_are_numbered_and_run_in_order() -> None:
    names = [p.name for p in sorted(IMAGE.glob("steps/*"))]
    assert names and all(re.fullmatch(r"\d\d-[a-z0-9-]+\.sh", n) for n in names), names
    assert len({n[:2] for n in names}) == len(names), "one step per number"


def package_lists() -> dict[str, list[str]]:
    lists = {}
    for path in sorted(IMAGE.glob("packages/*.list")):
        lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
        lists[path.name] = [line for line in lines if line]
    return lists


def test_package_lists_hold_one_debian_package_name_per_line() -> None:
    names = [name for names in package_lists().values() for name in names]
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", n) for n in names), names
    assert len(names) == len(set(names)), "a package listed twice"
    for needed in (
        "raspi-firmware",
        "linux-image-arm64",
        "redis-server",
        "avahi-daemon",
        "systemd-timesyncd",
        "openssh-server",
        "python3-venv",
        "python3-libcamera",
    ):
        assert needed in names


def test_units_are_copied_from_systemd_never_duplicated() -> None:
    for folder, subfolders, files in os.walk(IMAGE):
        if Path(folder) == IMAGE:
            subfolders[:] = [name for name in subfolders if name != "out"]  # build output
        for name in files:
            assert "Description=Keryu kiosk" not in (Path(folder) / name).read_text(errors="replace"), name
    assert '"$REPO_DIR"/systemd/*.service' in (IMAGE / "steps/30-appliance.sh").read_text()


def test_sample_keryu_env_comments_every_variable() -> None:
    sample = (IMAGE / "files/boot/keryu.env.sample").read_text()
    active = [line for line in sample.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert active == [], "the sample sets nothing; every line is a comment"
    for field in Settings.model_fields.values():
        name = field.validation_alias.choices[0]
        if name != "JOURNAL_STREAM":
            assert f"#{name}=" in sample, f"{name} missing from keryu.env.sample"


def test_device_defaults_serve_port_80_from_var_lib() -> None:
    defaults = ROOTFS / "usr/share/keryu/device.env"
    settings = load_settings(_env_file=defaults)
    assert settings.web_port == 80
    assert str(settings.data_dir) == "/var/lib/keryu"


def conf(path: Path) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.strip().partition(" ")
            values.setdefault(key, []).append(value)
    return values


def test_redis_is_a_loopback_broker_that_never_evicts_and_writes_nothing_to_the_card() -> None:
    redis = conf(ROOTFS / "etc/redis/keryu.conf")
    assert redis["bind"] == ["127.0.0.1 -::1"] and redis["protected-mode"] == ["yes"]
    assert redis["maxmemory-policy"] == ["noeviction"]
    assert redis["appendonly"] == ["no"] and redis["save"] == ['""']  # the database is the truth
    assert redis["logfile"] == ['""']  # stdout: the journal


def test_redis_runs_with_the_configuration(tmp_path: Path) -> None:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text = (ROOTFS / "etc/redis/keryu.conf").read_text().replace("port 6379", f"port {port}")
    (tmp_path / "keryu.conf").write_text(text + f"\ndir {tmp_path}\n")
    process = subprocess.Popen([server, str(tmp_path / "keryu.conf")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("bind")["bind"] == "127.0.0.1 -::1"
        client.set("alarm", "1")
        assert sorted(path.name for path in tmp_path.iterdir()) == ["keryu.conf"]  # no AOF, no dump.rdb
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_journal_cannot_fill_the_card() -> None:
    journald = (ROOTFS / "etc/systemd/journald.conf.d/keryu.conf").read_text()
    limit = re.search(r"^SystemMaxUse=(\d+)M$", journald, re.MULTILINE)
    assert limit and int(limit.group(1)) <= 100
    assert re.search(r"^RuntimeMaxUse=\d+M$", journald, re.MULTILINE)


def _first_boot_presets(root: Path, preset_files: list[Path]) -> list[str]:
    """What systemd's first boot (`preset-all`, enable-only) would enable in a tree holding the
    project's units, the image's enables and these preset files."""
    system = root / "usr/lib/systemd/system"
    system.mkdir(parents=True)
    for unit in (REPO / "systemd").iterdir():
        shutil.copy(unit, system)
    wants = root / "etc/systemd/system/keryu.target.wants"
    wants.mkdir(parents=True)
    for unit in ("keryu-web.service", "keryu-worker.service", "keryu-scanner.service"):
        (wants / unit).symlink_to(f"/usr/lib/systemd/system/{unit}")
    presets = root / "etc/systemd/system-preset"
    presets.mkdir(parents=True)
    for preset in preset_files:
        shutil.copy(preset, presets)
    result = subprocess.run(
        ["systemctl", f"--root={root}", "preset-all", "--preset-mode=enable-only"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return re.findall(r"Created symlink (\S+)", result.stdout + result.stderr)


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="needs systemctl (Debian's systemd) for --root")
def test_the_first_boot_enables_nothing_the_image_did_not(tmp_path: Path) -> None:
    """A new kiosk's first boot runs `preset-all`; without the image's preset it would enable
    the fleet's scheduler (and SSH, were it installed) behind the build's back."""
    without = _first_boot_presets(tmp_path / "debian-presets", [])
    assert any(link.endswith("keryu.target.wants/keryu-beat.service") for link in without)
    preset = ROOTFS / "etc/systemd/system-preset/00-keryu.preset"
    assert _first_boot_presets(tmp_path / "image", [preset]) == []


def test_ssh_takes_keys_only() -> None:
    sshd = conf(ROOTFS / "etc/ssh/sshd_config.d/keryu.conf")
    assert sshd["PasswordAuthentication"] == ["no"] and sshd["KbdInteractiveAuthentication"] == ["no"]
    assert sshd["PermitRootLogin"] == ["prohibit-password"]


def test_fstab_and_firmware_find_partitions_by_label() -> None:
    config = (IMAGE / "config").read_text()
    device = (IMAGE / "steps/40-device.sh").read_text()
    hook = (IMAGE / "hooks/boot-firmware.sh").read_text()
    assert 'ROOT_LABEL="RASPIROOT"' in config and 'BOOT_LABEL="RASPIFIRM"' in config
    assert "LABEL=$ROOT_LABEL\t/\text4" in device and "LABEL=$BOOT_LABEL\t/boot/firmware\tvfat" in device
    assert "umask=0077" in device  # tokens on the FAT partition are root-only until imported
    assert "ROOTPART=LABEL=${ROOT_LABEL:-RASPIROOT}" in hook


def test_the_pi_wifi_firmware_debian_has_is_in_the_image() -> None:
    """Pi 3B/3B+/4 and Zero 2 W radios (hardware/README.md "Wi-Fi"): Debian's brcm80211 firmware."""
    packages = {
        line.strip()
        for path in (IMAGE / "packages").glob("*.list")
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"firmware-brcm80211", "wpasupplicant", "wireless-regdb"} <= packages
    assert "non-free-firmware" in re.search(r'^COMPONENTS="([^"]*)"', (IMAGE / "config").read_text(), re.M).group(1)
