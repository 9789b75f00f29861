"""First boot, headless: the boot partition's keryu.env, Wi-Fi and SSH settings, and the setup
code, applied by /usr/local/lib/keryu/boot-config against a fake root and a fake FAT folder."""

from __future__ import annotations

import hashlib
import os
import pwd
import re
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
# The kiosk's user, whose group may read keryu.env: as root, one that is not root's own group.
KIOSK_USER = "nobody" if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
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


def run_boot_config(root: Path, command: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KERYU_ROOT=str(root), KERYU_OWNER=KIOSK_USER)
    return subprocess.run([sys.executable, str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=60)


def boot(root: Path) -> subprocess.CompletedProcess[str]:
    result = run_boot_config(root, "import")
    assert result.returncode == 0, result.stderr
    return result


def env_lines(root: Path) -> list[str]:
    return [line for line in (root / "etc/keryu/keryu.env").read_text().splitlines() if line and line[0] != "#"]


def enabled(root: Path, unit: str) -> bool:
    return (root / "etc/systemd/system/multi-user.target.wants" / unit).is_symlink()


def test_keryu_env_moves_off_the_card_into_a_file_only_root_and_the_kiosk_group_read(root: Path) -> None:
    boot_env = root / "boot/firmware/keryu.env"
    # as Windows Notepad saves it: a byte-order mark and CRLF line ends
    boot_env.write_bytes(
        f'\ufeffWHATSAPP_ACCESS_TOKEN={SECRET}\r\nKERYU_LOCATION="Main gate"\r\n# a comment\r\n'.encode()
    )

    result = boot(root)

    assert not boot_env.exists()
    assert (root / "boot/firmware/keryu.env.sample").exists()
    installed = root / "etc/keryu/keryu.env"
    # root:keryu 0640 on the device: systemd reads it as root, the `keryu` CLI through the group
    assert stat.S_IMODE(installed.stat().st_mode) == 0o640
    assert installed.stat().st_uid == os.getuid()
    assert installed.stat().st_gid == pwd.getpwnam(KIOSK_USER).pw_gid
    assert "\r" not in installed.read_text() and "\ufeff" not in installed.read_text()
    assert env_lines(root) == [
        "KERYU_DATA_DIR=/var/lib/keryu",
        "KERYU_WEB_PORT=80",
        "KERYU_CAMERA=auto",
        "KERYU_TIMEZONE=America/Mexico_City",
        "KERYU_RUNTIME_DIR=/run/keryu",
        f"WHATSAPP_ACCESS_TOKEN={SECRET}",
        'KERYU_LOCATION="Main gate"',
    ]
    assert SECRET not in result.stdout + result.stderr
    # the app reads the merged file as the device's configuration
    settings = load_settings(_env_file=installed)
    assert (settings.whatsapp_access_token, settings.location, settings.web_port) == (SECRET, "Main gate", 80)
    assert str(settings.data_dir) == "/var/lib/keryu"


def test_keryu_env_is_overwritten_with_zeros_before_it_is_deleted(root: Path) -> None:
    boot_env = root / "boot/firmware/keryu.env"
    content = f"WHATSAPP_ACCESS_TOKEN={SECRET}\nKERYU_WIFI_PASSWORD=correct horse battery\n".encode()
    boot_env.write_bytes(content)
    # a second name for the same data, as the card's free clusters keep a deleted file's bytes
    clusters = root / "clusters-of-the-deleted-file"
    os.link(boot_env, clusters)

    boot(root)

    assert not boot_env.exists()
    assert clusters.read_bytes() == bytes(len(content))


def test_settings_in_the_file_win_over_device_defaults(root: Path) -> None:
    (root / "boot/firmware/keryu.env").write_text(
        "KERYU_WEB_PORT=8080\nexport KERYU_CAMERA=dir:/var/lib/keryu/camera\n"
    )
    boot(root)
    assert env_lines(root) == [
        "KERYU_DATA_DIR=/var/lib/keryu",
        "KERYU_TIMEZONE=America/Mexico_City",
        "KERYU_RUNTIME_DIR=/run/keryu",
        "KERYU_WEB_PORT=8080",
        "KERYU_CAMERA=dir:/var/lib/keryu/camera",
    ]


def test_a_later_keryu_env_replaces_only_the_variables_it_names(root: Path) -> None:
    boot_env = root / "boot/firmware/keryu.env"
    boot_env.write_text(f'WHATSAPP_ACCESS_TOKEN={SECRET}\nKERYU_LOCATION="Main gate"\n')
    boot(root)
    # months later the owner fixes one value with a one-line keryu.env
    boot_env.write_text('KERYU_LOCATION="Back door"\n')
    boot(root)
    settings = load_settings(_env_file=root / "etc/keryu/keryu.env")
    assert (settings.location, settings.whatsapp_access_token, settings.web_port) == ("Back door", SECRET, 80)
    assert sum(line.startswith("KERYU_LOCATION=") for line in env_lines(root)) == 1


def test_the_card_says_what_was_imported_and_refused_without_a_value(root: Path) -> None:
    (root / "boot/firmware/keryu.env").write_text(
        f"WHATSAPP_ACCESS_TOKEN={SECRET}\n"
        "KERYU_SCAN_COOLDOWN=half a minute\n"  # a wrong value: imported, the admin page names it
        "LD_PRELOAD=/boot/firmware/evil.so\n"
        "this line is not a setting\n"
        'KERYU_LOCATION="Main gate\n'
    )
    result = boot(root)

    report = (root / "boot/firmware/keryu-import.txt").read_text()
    assert "Imported (2): WHATSAPP_ACCESS_TOKEN, KERYU_SCAN_COOLDOWN" in report
    assert "LD_PRELOAD (line 3): not a Keryu setting" in report
    assert "line 4: not a NAME=value line" in report
    assert "KERYU_LOCATION (line 5): its value opens a quote and does not close it" in report
    for value in (SECRET, "half a minute", "evil.so", "Main gate"):
        assert value not in report and value not in result.stdout + result.stderr
    installed = (root / "etc/keryu/keryu.env").read_text()
    assert "KERYU_SCAN_COOLDOWN=half a minute" in installed and "LD_PRELOAD" not in installed
    assert "KERYU_LOCATION" not in installed


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


SETUP_CODE = "7K3M-Q9TZ-4HWA-2CXR"
NO_PASSWORD_YET = f"echo {SETUP_CODE}"
PASSWORD_SET = "echo 'An admin password is already set; the setup code is no longer valid.' >&2; exit 1"


def fake_keryu(root: Path, answer: str) -> None:
    """/usr/local/bin/keryu as `keryu setup-code` answers on the device."""
    cli = root / "usr/local/bin/keryu"
    cli.parent.mkdir(parents=True, exist_ok=True)
    cli.write_text(f'#!/bin/sh\n[ "$*" = setup-code ] || exit 64\n{answer}\n')
    cli.chmod(0o755)


def publish(root: Path) -> subprocess.CompletedProcess[str]:
    return run_boot_config(root, "publish-setup-code")


def test_the_setup_code_is_on_the_boot_partition_while_no_admin_password_is_set(root: Path) -> None:
    fake_keryu(root, NO_PASSWORD_YET)

    result = publish(root)

    assert result.returncode == 0, result.stdout + result.stderr
    raw = (root / "boot/firmware/keryu-setup-code.txt").read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") > 1, "CRLF: readable in any editor"
    text = raw.decode()
    assert re.search(rf"\b{SETUP_CODE}\b", text.splitlines()[0])
    assert "open http://keryu.local/setup" in text.lower()
    assert SETUP_CODE not in result.stdout + result.stderr, "the code never goes to the journal"


def test_an_unchanged_setup_code_is_not_written_again(root: Path) -> None:
    fake_keryu(root, NO_PASSWORD_YET)
    publish(root)
    written = (root / "boot/firmware/keryu-setup-code.txt").stat()

    assert publish(root).returncode == 0

    again = (root / "boot/firmware/keryu-setup-code.txt").stat()
    assert (again.st_ino, again.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)


def test_the_setup_code_file_is_removed_once_an_admin_password_is_set(root: Path) -> None:
    fake_keryu(root, NO_PASSWORD_YET)
    publish(root)
    fake_keryu(root, PASSWORD_SET)

    first, second = publish(root), publish(root)

    assert (first.returncode, second.returncode) == (0, 0), first.stdout + second.stdout
    assert not (root / "boot/firmware/keryu-setup-code.txt").exists()
    assert "removed keryu-setup-code.txt" in first.stdout and second.stdout == ""


@pytest.mark.parametrize(
    "answer",
    [
        "echo 'Traceback (most recent call last):' >&2; echo '  sqlite3.OperationalError' >&2; exit 1",
        "echo 'KERYU_WEB_PORT: not a number' >&2; exit 2",
        "echo 'a code of two words'",
        "echo",
    ],
    ids=["crash", "configuration-error", "unexpected-output", "empty-output"],
)
def test_a_failing_keryu_fails_the_unit_and_keeps_the_code_on_the_card(root: Path, answer: str) -> None:
    fake_keryu(root, NO_PASSWORD_YET)
    publish(root)
    before = (root / "boot/firmware/keryu-setup-code.txt").read_text()
    fake_keryu(root, answer)

    result = publish(root)

    assert result.returncode == 1
    assert "`keryu setup-code` failed" in result.stdout
    assert (root / "boot/firmware/keryu-setup-code.txt").read_text() == before


# --- Raspberry Pi Imager's OS customisation (firstrun.sh) --------------------------------------

IMAGER_PSK = hashlib.pbkdf2_hmac("sha1", b"clave de la escuela", b"Escuela Norte", 4096, 32).hex()
IMAGER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0e8Qm3hZ2oVt1Yx9sKpLw4JrN6cDfGaUe7iTq5MzB owner@laptop"
# Debian's raspi-firmware writes cmdline.txt with a blank at each end and two between two words;
# Imager appends its parameters to the line.
IMAGE_CMDLINE = " console=tty0 root=LABEL=RASPIROOT rw fsck.repair=yes net.ifnames=0  rootwait \n"
IMAGER_CMDLINE = IMAGE_CMDLINE.replace(
    "rootwait \n",
    "rootwait  systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot"
    " systemd.unit=kernel-command-line.target\n",
)
# What Imager's "OS customisation" writes (its firstrun.sh format): each setting through
# Raspberry Pi OS's imager_custom tool, with a fallback for systems without it.
IMAGER_FIRSTRUN = f"""#!/bin/bash

set +e

CURRENT_HOSTNAME=`cat /etc/hostname | tr -d " \\t\\n\\r"`
if [ -f /usr/lib/raspberrypi-sys-mods/imager_custom ]; then
   /usr/lib/raspberrypi-sys-mods/imager_custom set_hostname puerta-norte
else
   echo puerta-norte >/etc/hostname
   sed -i "s/127.0.1.1.*$CURRENT_HOSTNAME/127.0.1.1\\tpuerta-norte/g" /etc/hosts
fi
FIRSTUSER=`getent passwd 1000 | cut -d: -f1`
FIRSTUSERHOME=`getent passwd 1000 | cut -d: -f6`
if [ -f /usr/lib/raspberrypi-sys-mods/imager_custom ]; then
   /usr/lib/raspberrypi-sys-mods/imager_custom enable_ssh -k '{IMAGER_KEY}'
else
   install -o "$FIRSTUSER" -m 700 -d "$FIRSTUSERHOME/.ssh"
   install -o "$FIRSTUSER" -m 600 <(printf "{IMAGER_KEY}") "$FIRSTUSERHOME/.ssh/authorized_keys"
   echo 'PasswordAuthentication no' >>/etc/ssh/sshd_config
   systemctl enable ssh
fi
if [ -f /usr/lib/userconf-pi/userconf ]; then
   /usr/lib/userconf-pi/userconf 'admin' '$5$Zq0L3bXw$N1JxVb0d8bq9yqVqkIhW2uZ6Q2sDxk9QdT0oXn4pQ.5'
else
   echo "$FIRSTUSER:"'$5$Zq0L3bXw$N1JxVb0d8bq9yqVqkIhW2uZ6Q2sDxk9QdT0oXn4pQ.5' | chpasswd -e
fi
if [ -f /usr/lib/raspberrypi-sys-mods/imager_custom ]; then
   /usr/lib/raspberrypi-sys-mods/imager_custom set_wlan 'Escuela Norte' '{IMAGER_PSK}' 'MX'
else
cat >/etc/wpa_supplicant/wpa_supplicant.conf <<'WPAEOF'
country=MX
ctrl_interface=DIR=/var/run/wpa_supplicant GROUP=netdev
ap_scan=1

update_config=1
network={{
\tssid="Escuela Norte"
\tpsk={IMAGER_PSK}
}}

WPAEOF
   chmod 600 /etc/wpa_supplicant/wpa_supplicant.conf
   rfkill unblock wifi
fi
if [ -f /usr/lib/raspberrypi-sys-mods/imager_custom ]; then
   /usr/lib/raspberrypi-sys-mods/imager_custom set_keymap 'latam'
   /usr/lib/raspberrypi-sys-mods/imager_custom set_timezone 'America/Monterrey'
else
   rm -f /etc/localtime
   echo "America/Monterrey" >/etc/timezone
   dpkg-reconfigure -f noninteractive tzdata
fi
rm -f /boot/firstrun.sh
sed -i 's| systemd.run.*||g' /boot/cmdline.txt
exit 0
"""


@pytest.fixture
def imager_card(root: Path) -> Path:
    """A card the owner wrote with Raspberry Pi Imager and its OS customisation."""
    (root / "boot/firmware/firstrun.sh").write_text(IMAGER_FIRSTRUN)
    (root / "boot/firmware/cmdline.txt").write_text(IMAGER_CMDLINE)
    (root / "etc/hostname").write_text("keryu\n")
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\tkeryu\n::1\t\tlocalhost ip6-localhost\n")
    (root / "usr/share/zoneinfo/America").mkdir(parents=True)
    (root / "usr/share/zoneinfo/America/Monterrey").write_bytes(b"TZif2")
    return root


def test_imager_first_boot_honours_wifi_host_name_ssh_key_and_time_zone(imager_card: Path) -> None:
    result = run_boot_config(imager_card, "imager-firstrun")
    assert result.returncode == 0, result.stderr
    boot_dir = imager_card / "boot/firmware"

    wpa = (imager_card / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf").read_text()
    assert f"ssid={b'Escuela Norte'.hex()}" in wpa and f"psk={IMAGER_PSK}" in wpa and "country=MX" in wpa
    assert enabled(imager_card, "wpa_supplicant@wlan0.service")
    assert (imager_card / "etc/hostname").read_text() == "puerta-norte\n"
    assert "127.0.1.1\tpuerta-norte" in (imager_card / "etc/hosts").read_text()
    assert "keryu" not in (imager_card / "etc/hosts").read_text()
    assert (imager_card / "root/.ssh/authorized_keys").read_text() == IMAGER_KEY + "\n"
    assert enabled(imager_card, "ssh.service")
    assert os.readlink(imager_card / "etc/localtime") == "/usr/share/zoneinfo/America/Monterrey"
    # the boot goes on normally from now on, and the Wi-Fi key and password hash are off the card
    assert (boot_dir / "cmdline.txt").read_bytes() == IMAGE_CMDLINE.encode()  # as it was, byte for byte
    assert not (boot_dir / "firstrun.sh").exists()
    assert "not used: the kiosk has no login user" in result.stdout
    assert "host name, SSH keys, Wi-Fi, time zone" in result.stdout
    assert IMAGER_PSK not in result.stdout + result.stderr


def test_a_normal_boot_still_clears_imager_leftovers(imager_card: Path) -> None:
    """If the wrapper never ran (a card customised after its first boot), the next boot does it."""
    boot(imager_card)

    assert "systemd.run" not in (imager_card / "boot/firmware/cmdline.txt").read_text()
    assert not (imager_card / "boot/firmware/firstrun.sh").exists()
    assert (imager_card / "etc/hostname").read_text() == "puerta-norte\n"
    assert (imager_card / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf").is_file()


def test_imager_ssh_with_a_password_only_leaves_ssh_off(imager_card: Path) -> None:
    script = imager_card / "boot/firmware/firstrun.sh"
    script.write_text(script.read_text().replace(f"enable_ssh -k '{IMAGER_KEY}'", "enable_ssh"))

    result = run_boot_config(imager_card, "imager-firstrun")

    assert not enabled(imager_card, "ssh.service")
    assert "takes keys only; SSH stays off" in result.stdout


def test_a_hidden_imager_network_is_searched_for(imager_card: Path) -> None:
    script = imager_card / "boot/firmware/firstrun.sh"
    script.write_text(script.read_text().replace("set_wlan 'Escuela", "set_wlan -h 'Escuela"))

    run_boot_config(imager_card, "imager-firstrun")

    assert "scan_ssid=1" in (imager_card / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf").read_text()


def test_the_image_runs_its_own_firstrun_wrapper_where_imager_points() -> None:
    wrapper = FILES / "boot/firstrun.sh"
    assert os.access(wrapper, os.X_OK)
    text = wrapper.read_text()
    assert "/usr/local/lib/keryu/boot-config imager-firstrun" in text
    assert text.rstrip().endswith("exit 0")  # success, whatever happened: systemd.run_success_action reboots


def test_a_card_without_imager_keeps_its_cmdline(root: Path) -> None:
    cmdline = root / "boot/firmware/cmdline.txt"
    cmdline.write_text("console=tty0 root=LABEL=RASPIROOT rw rootwait\n")
    before = cmdline.stat().st_mtime_ns

    boot(root)

    assert cmdline.stat().st_mtime_ns == before
