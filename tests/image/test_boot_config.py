"""First boot, headless: the boot partition's keryu.env, Wi-Fi and SSH settings, applied by
/usr/local/lib/keryu/boot-config against a fake root and a fake FAT folder."""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.config import load_settings

REPO = Path(__file__).resolve().parents[2]
FILES = REPO / "image/files/rootfs"
SCRIPT = FILES / "usr/local/lib/keryu/boot-config"
SAMPLE = REPO / "image/files/boot/keryu.env.sample"
ME = pwd.getpwuid(os.getuid()).pw_name
SECRET = "EAAG-very-secret-token-123"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A device's root as the image ships it: defaults, a sample on the FAT folder, units to enable."""
    root = tmp_path / "root"
    (root / "usr/share/keryu").mkdir(parents=True)
    (root / "usr/share/keryu/device.env").write_text((FILES / "usr/share/keryu/device.env").read_text())
    (root / "etc/keryu").mkdir(parents=True)
    (root / "etc/keryu/keryu.env").write_text((FILES / "usr/share/keryu/device.env").read_text())
    (root / "etc/ssh").mkdir(parents=True)
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/keryu.env.sample").write_text(SAMPLE.read_text())
    units = root / "usr/lib/systemd/system"
    units.mkdir(parents=True)
    # Debian's packages ship these two units; `systemctl --root` enables them offline here
    (units / "ssh.service").write_text(
        "[Service]\nExecStart=/usr/sbin/sshd -D\n[Install]\nWantedBy=multi-user.target\n"
    )
    (units / "wpa_supplicant@.service").write_text(
        "[Service]\nExecStart=/sbin/wpa_supplicant -i%I\n[Install]\nWantedBy=multi-user.target\n"
    )
    return root


def boot(root: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KERYU_ROOT=str(root), KERYU_OWNER=ME)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "import"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result


def env_lines(root: Path) -> list[str]:
    return [line for line in (root / "etc/keryu/keryu.env").read_text().splitlines() if line and line[0] != "#"]


def enabled(root: Path, unit: str) -> bool:
    return (root / "etc/systemd/system/multi-user.target.wants" / unit).is_symlink()


def test_keryu_env_moves_off_the_card_into_a_private_file(root: Path) -> None:
    boot_env = root / "boot/firmware/keryu.env"
    # as Windows Notepad saves it: a byte-order mark and CRLF line ends
    boot_env.write_bytes(
        f'\ufeffWHATSAPP_ACCESS_TOKEN={SECRET}\r\nKERYU_LOCATION="Main gate"\r\n# a comment\r\n'.encode()
    )

    result = boot(root)

    assert not boot_env.exists()
    assert (root / "boot/firmware/keryu.env.sample").exists()
    installed = root / "etc/keryu/keryu.env"
    assert stat.S_IMODE(installed.stat().st_mode) == 0o600
    assert installed.stat().st_uid == os.getuid()
    assert "\r" not in installed.read_text() and "\ufeff" not in installed.read_text()
    assert env_lines(root) == [
        f"WHATSAPP_ACCESS_TOKEN={SECRET}",
        'KERYU_LOCATION="Main gate"',
        "KERYU_DATA_DIR=/var/lib/keryu",
        "KERYU_WEB_PORT=80",
        "KERYU_CAMERA=auto",
    ]
    assert SECRET not in result.stdout + result.stderr
    # the app reads the merged file as the device's configuration
    settings = load_settings(_env_file=installed)
    assert (settings.whatsapp_access_token, settings.location, settings.web_port) == (SECRET, "Main gate", 80)
    assert str(settings.data_dir) == "/var/lib/keryu"


def test_settings_in_the_file_win_over_device_defaults(root: Path) -> None:
    (root / "boot/firmware/keryu.env").write_text(
        "KERYU_WEB_PORT=8080\nexport KERYU_CAMERA=dir:/var/lib/keryu/camera\n"
    )
    boot(root)
    assert env_lines(root) == [
        "KERYU_WEB_PORT=8080",
        "export KERYU_CAMERA=dir:/var/lib/keryu/camera",
        "KERYU_DATA_DIR=/var/lib/keryu",
    ]


def test_a_boot_without_files_changes_nothing(root: Path) -> None:
    before = (root / "etc/keryu/keryu.env").read_text()
    result = boot(root)
    assert (root / "etc/keryu/keryu.env").read_text() == before
    assert not (root / "etc/wpa_supplicant").exists()
    assert not enabled(root, "ssh.service") and not list((root / "etc/ssh").iterdir())
    assert result.stdout == ""


def test_wifi_from_keryu_env_without_the_passphrase_in_clear(root: Path) -> None:
    (root / "boot/firmware/keryu.env").write_text(
        "KERYU_WIFI_SSID=IEEE\nKERYU_WIFI_PASSWORD=password\nKERYU_WIFI_COUNTRY=mx\n"
    )
    boot(root)
    conf = root / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    text = conf.read_text()
    assert "country=MX" in text
    assert f"ssid={b'IEEE'.hex()}" in text
    # IEEE 802.11i-2004, annex H.4 test vector: passphrase "password", SSID "IEEE"
    assert "psk=f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e" in text
    assert "password" not in text.replace("psk=", "")
    assert (root / "etc/systemd/system/multi-user.target.wants/wpa_supplicant@wlan0.service").is_symlink()


@pytest.mark.parametrize(
    ("lines", "configured", "expected"),
    [
        ("KERYU_WIFI_SSID=Cafe\n", True, "key_mgmt=NONE"),
        (
            'KERYU_WIFI_SSID="Sala de maestros"\nKERYU_WIFI_PASSWORD="con espacios y \\"comillas\\""\n',
            True,
            "psk=" + hashlib.pbkdf2_hmac("sha1", b'con espacios y "comillas"', b"Sala de maestros", 4096, 32).hex(),
        ),
        ("KERYU_WIFI_SSID=Lab\nKERYU_WIFI_PASSWORD=short\n", False, None),
        ("KERYU_WIFI_SSID=Lab\nKERYU_WIFI_PASSWORD=longenough\nKERYU_WIFI_COUNTRY=Mexico\n", True, "psk="),
        ("KERYU_WIFI_PASSWORD=longenough\n", False, None),
    ],
    ids=["open-network", "spaces-and-quotes", "password-too-short", "bad-country", "no-ssid"],
)
def test_wifi_settings_table(root: Path, lines: str, configured: bool, expected: str | None) -> None:
    (root / "boot/firmware/keryu.env").write_text(lines)
    result = boot(root)
    conf = root / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf"
    assert conf.exists() is configured
    if configured:
        assert expected in conf.read_text()
        assert "country=" not in conf.read_text() or "country=MX" in conf.read_text()
    if "short" in lines:
        assert "8 to 63 characters" in result.stdout


def test_ssh_file_turns_on_key_only_ssh_with_new_host_keys(root: Path) -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq6ZcHGJ1mFUVkRkT7IQ4mLq7kEybY5a0aQnS0W1c6K owner@laptop"
    (root / "boot/firmware/ssh").write_text("")
    (root / "boot/firmware/authorized_keys").write_text(key + "\r\n")

    boot(root)

    keys = root / "root/.ssh/authorized_keys"
    assert keys.read_text() == key + "\n" and stat.S_IMODE(keys.stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "root/.ssh").stat().st_mode) == 0o700
    host_keys = sorted(p.name for p in (root / "etc/ssh").glob("ssh_host_*_key"))
    assert "ssh_host_ed25519_key" in host_keys
    assert enabled(root, "ssh.service")
    assert not (root / "boot/firmware/ssh").exists()


def test_each_device_gets_its_own_host_keys(tmp_path: Path, root: Path) -> None:
    fingerprints = []
    for name in ("kiosk-a", "kiosk-b"):
        device = tmp_path / name
        subprocess.run(["cp", "-a", str(root), str(device)], check=True)
        (device / "boot/firmware/ssh.txt").write_text("")
        boot(device)
        fingerprints.append((device / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[1])
    assert fingerprints[0] != fingerprints[1]
