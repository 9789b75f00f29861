#!/bin/bash -e
# Boot the built SD image in qemu-system-aarch64 -M virt (the image's own kernel, initrd and
# cmdline) the way a new owner uses a card, and check what the appliance promises:
#   keryu.env, ssh and authorized_keys on the boot partition are taken in on first boot, and
#   the one-time setup code is written there;
#   keryu.target active with no failed unit; /api/health ok through a port on 127.0.0.1;
#   keryu.local announced; the root file system grown to the card;
#   a card image dropped into the camera folder becomes one alarm delivered to the provider
#   stand-in (tests/standins/providers.py, running inside the guest on its loopback);
#   a second scan, then the power pulled (qemu killed), then a reboot: both alarms are there,
#   the second is delivered, and SQLite's integrity check is ok;
#   an alarm recorded before the clock is set says "time unknown" and has its time corrected
#   after the sync; Raspberry Pi Imager's firstrun.sh is answered; a wrong setting in a later
#   keryu.env is named by the admin page while the other services wait (last: it breaks the kiosk);
#   the scanner on a V4L2 webcam (the kernel's vivid driver) read without OpenCV, its preview
#   showing the picture, with the services' memory so;
#   all of it in 512 MiB (a Pi Zero 2 W, with the image's compressed swap in RAM);
#   with KERYU_BOOT_FIELD=1 (passed whole on 2026-11-29 in 19 min; outside CI for its time):
#   idle writes to the card and a burst of 200 alarms with no OOM kill.
#   Updates: the security suite in the APT sources and unattended-upgrades enabled; with
#   KERYU_BOOT_UPDATES=1 (passed whole on 2026-11-29; an update makes its venv in 74 s) also a bundle of
#   this checkout with a bumped version installed through the admin page's upload (new version in
#   /api/health); a bundle whose worker cannot start rolled back on its own, a card still
#   delivered; a third update cut short by the power cut above, and the next boot healthy on the
#   version before it.
# Network: qemu user networking with restrict=on (the guest reaches nothing outside) and
# host forwards bound to 127.0.0.1 only. Every wait has a timeout.
#
#   image/test-boot.sh [IMAGE.img]      (default: the newest image/out/keryu-*-arm64.img)
#   image/test-boot.sh --raspi3b [IMAGE.img]
#       the Pi's own boot path instead: qemu's Raspberry Pi 3B model with the firmware
#       partition's device tree and the image's cmdline.txt unchanged; SSH over qemu's usb-net
#       (the Pi 3B's USB), the kiosk's services running, and `keryu selftest --json` driving
#       BCM 17, 27 and 22 as real lines of the header's gpiochip (qemu emulates the BCM2835 GPIO
#       block), with the board found from the device-tree model as on Debian's kernel.
set -o pipefail

RASPI=0
if [ "${1:-}" = --raspi3b ]; then
    RASPI=1
    shift
fi

IMAGE_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_DIR=$(dirname "$IMAGE_DIR")
IMG="${1:-$(find "$IMAGE_DIR/out" -maxdepth 1 -name 'keryu-*-arm64.img' -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n1 | cut -d' ' -f2)}"
BOOT_TIMEOUT="${KERYU_BOOT_TIMEOUT:-600}" # seconds; emulated arm64 on a busy 2-core host is slow
STANDIN_PORT=8099
UPDATE_GRACE=300 # seconds: services start slowly under emulation; a broken update waits this long
# The guest has a Pi Zero 2 W's 512 MiB (with the image's compressed swap in RAM) unless
# KERYU_BOOT_MEMORY says otherwise: the smallest board the kiosk supports, and under emulation
# no slower to boot than 1536 MiB (first boot finished after 193 s and 188 s on 2026-11-29).
# The field checks of issues 11 and 12 that take the most time (KERYU_BOOT_FIELD=1): idle
# writes to the card and a burst of alarms, about 5.5 more minutes (a whole run passed on
# 2026-11-29 in 1148 s; the boot without them took 821 s). CI skips them to keep a cold run
# under an hour; run them by hand when memory, the units or the image's writes change.
FIELD="${KERYU_BOOT_FIELD:-}"
[ "$FIELD" = 0 ] && FIELD=""
GUEST_MEMORY="${KERYU_BOOT_MEMORY:-512}" # MiB
BURST=200 # alarms recorded at once in the memory check
if [ -z "$IMG" ] || [ ! -f "$IMG" ]; then
    echo "test-boot.sh: no image; build one with image/build.sh --no-xz" >&2
    exit 2
fi
for tool in qemu-system-aarch64 mcopy sfdisk ssh ssh-keygen curl python3; do
    command -v "$tool" >/dev/null || { echo "test-boot.sh: $tool is missing" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/keryu-boot.XXXXXX)
QEMU_PID=""
cleanup() {
    if [ -n "$QEMU_PID" ]; then kill -9 "$QEMU_PID" 2>/dev/null || true; fi
    if [ -n "${KERYU_KEEP_BOOT_DIR:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
started=$(date +%s)
# shellcheck source=lib/checks.sh
. "$IMAGE_DIR/lib/checks.sh" # say, fail, wait_for, the stand-in, the card drop (shared with test-install.sh)
machine_down() { [ -n "$QEMU_PID" ] && ! kill -0 "$QEMU_PID" 2>/dev/null && echo "qemu exited"; }
diagnostics() {
    echo "--- last console lines ---"
    grep -v ' audit' "$WORK/console.log" 2>/dev/null | tail -n 40
    # What the kiosk itself says, when the guest still answers (guest's SSH gives up on a dead one).
    if guest true 2>/dev/null; then
        echo "--- the guest: failed units, newest alarms, the worker's last lines ---"
        guest 'systemctl --failed --no-legend --plain; keryu alarms --json --limit 3;
            journalctl -u keryu-worker.service -n 40 --no-pager -o cat' || true
    fi
}
WEB_PORT=$(free_port)
SSH_PORT=$(free_port)

# --- The card: a copy of the image on a larger "SD card" (first boot must grow into it) ------
cp --sparse=always "$IMG" "$WORK/card.img"
image_bytes=$(stat -c %s "$WORK/card.img")
truncate -s +1G "$WORK/card.img"
read -r boot_start boot_sectors < <(sfdisk -J "$WORK/card.img" |
    python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"][0]; print(p["start"], p["size"])')
FAT="$WORK/card.img@@$((boot_start * 512))"

# The kernel, initrd and cmdline the Pi's firmware would use, read from the FAT partition.
kernel=$(mdir -b -i "$FAT" :: | grep -o 'vmlinuz-[^ /]*' | sort | tail -n1)
initrd=$(mdir -b -i "$FAT" :: | grep -o 'initrd.img-[^ /]*' | sort | tail -n1)
mcopy -n -i "$FAT" "::$kernel" "$WORK/vmlinuz"
mcopy -n -i "$FAT" "::$initrd" "$WORK/initrd"
mcopy -n -i "$FAT" ::cmdline.txt "$WORK/cmdline.txt"
# -M virt has a PL011 UART (ttyAMA0) where the Pi's header console would be.
cmdline="$(tr -s ' \n' ' ' <"$WORK/cmdline.txt" | sed 's/console=[^ ]*//g') console=ttyAMA0"


# --- What a new owner puts on the boot partition -----------------------------------------
ssh-keygen -q -t ed25519 -N "" -C keryu-test-boot -f "$WORK/id"
meta_token="EAAGtest$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
meta_id=104857600000042
twilio_sid="AC$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
twilio_token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
api_token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
wifi_password="school wifi $(python3 -c 'import secrets; print(secrets.token_hex(4))')"
cat >"$WORK/keryu.env" <<ENV
KERYU_LOCATION="qemu test bench"
KERYU_CAMERA=dir:/var/lib/keryu/camera
KERYU_API_TOKEN=$api_token
$([ "$RASPI" = 1 ] || echo GPIOZERO_PIN_FACTORY=mock)
KERYU_UPDATE_GRACE=$UPDATE_GRACE
WHATSAPP_API_URL=http://127.0.0.1:$STANDIN_PORT/v23.0
WHATSAPP_PHONE_NUMBER_ID=$meta_id
WHATSAPP_ACCESS_TOKEN=$meta_token
TWILIO_API_URL=http://127.0.0.1:$STANDIN_PORT
TWILIO_ACCOUNT_SID=$twilio_sid
TWILIO_AUTH_TOKEN=$twilio_token
TWILIO_PHONE_NUMBER=+15005550006
TWILIO_WHATSAPP_NUMBER=+14155238886
KERYU_WIFI_SSID="Keryu Lab"
KERYU_WIFI_PASSWORD=$wifi_password
KERYU_WIFI_COUNTRY=mx
ENV
: >"$WORK/ssh"
mcopy -i "$FAT" "$WORK/keryu.env" "$WORK/ssh" ::
mcopy -i "$FAT" "$WORK/id.pub" ::authorized_keys

boot_guest() {
    qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m "$GUEST_MEMORY" \
        -kernel "$WORK/vmlinuz" -initrd "$WORK/initrd" -append "$cmdline" \
        -drive if=none,file="$WORK/card.img",format=raw,id=card -device virtio-blk-pci,drive=card \
        -netdev "user,id=lan,restrict=on,hostfwd=tcp:127.0.0.1:$WEB_PORT-:80,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22" \
        -device virtio-net-pci,netdev=lan \
        -display none -monitor none -serial "file:$WORK/console.log" -no-reboot &
    QEMU_PID=$!
}
power_cut() {
    kill -9 "$QEMU_PID"
    wait "$QEMU_PID" 2>/dev/null || true
    QEMU_PID=""
}
guest() {
    ssh -q -i "$WORK/id" -p "$SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 -o ServerAliveInterval=10 root@127.0.0.1 "$@"
}
# guest_post URL JSON: an HTTP POST of a JSON body inside the guest
guest_post() {
    printf '%s' "$2" | guest python3 -c "'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], sys.stdin.buffer.read(), {\"Content-Type\": \"application/json\"}), timeout=5)'" "$1"
}
# health_component NAME PYTHON-CONDITION: the full /api/health (with the API token) has component
# NAME (as `c`) meeting the condition
health_component() {
    curl -fsS --max-time 20 -H "Authorization: Bearer $api_token" "http://127.0.0.1:$WEB_PORT/api/health" |
        python3 -c "import json,sys; c=json.load(sys.stdin)['components']['$1']; sys.exit(not ($2))"
}
services_rss() { # a line "worker|scanner|web MiB" per service: its RSS in the guest, from smaps_rollup
    # shellcheck disable=SC2016 # expanded in the guest
    guest 'for u in keryu-worker keryu-scanner keryu-web; do
        pid=$(systemctl show -p MainPID --value $u.service)
        echo "${u#keryu-} $(awk "/^Rss:/ {printf \"%.1f\", \$2 / 1024}" /proc/$pid/smaps_rollup)"
    done'
}

# --- Raspberry Pi 3B model: the kiosk's services and real GPIO lines -----------------------
if [ "$RASPI" = 1 ]; then
    # qemu's SD card model takes only power-of-two sizes; the card grows on first boot anyway.
    truncate -s 4G "$WORK/card.img"
    mcopy -n -i "$FAT" ::bcm2837-rpi-3-b.dtb "$WORK/pi3.dtb"
    say "booting $(basename "$IMG") on qemu's raspi3b (serial: the mini UART, ttyS1; SSH over usb-net on 127.0.0.1:$SSH_PORT)"
    # usb-net: the Pi 3B's USB (dwc2) with a CDC Ethernet device, the kiosk's only network here.
    # A universally administered MAC, as a real USB Ethernet adapter has: cdc_ether then names
    # it eth0 (with qemu's default 52:54:... it would be usb0, which the image's
    # 20-wired.network does not match, with net.ifnames=0 on the Pi's cmdline).
    qemu-system-aarch64 -M raspi3b -m 1G -kernel "$WORK/vmlinuz" -initrd "$WORK/initrd" -dtb "$WORK/pi3.dtb" \
        -append "$(tr -s ' \n' ' ' <"$WORK/cmdline.txt")" -drive if=sd,format=raw,file="$WORK/card.img" \
        -netdev "user,id=lan,restrict=on,hostfwd=tcp:127.0.0.1:$WEB_PORT-:80,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22" \
        -device usb-net,netdev=lan,mac=40:54:00:12:34:57 \
        -serial null -serial "file:$WORK/console.log" -display none -monitor none -no-reboot &
    QEMU_PID=$!
    RASPI_TIMEOUT=$((BOOT_TIMEOUT * 2)) # four emulated Cortex-A53 cores without KVM: slower than -M virt
    wait_for "$RASPI_TIMEOUT" "login prompt on the Pi's serial console" grep -q "keryu login:" "$WORK/console.log"
    grep -q "Kernel panic" "$WORK/console.log" && fail "kernel panic"
    wait_for "$RASPI_TIMEOUT" "SSH over usb-net with the key from the boot partition" guest true
    wait_for "$RASPI_TIMEOUT" "boot finished" system_settled
    [ "$(guest cat /proc/device-tree/model | tr -d '\0')" = "Raspberry Pi 3 Model B" ] || fail "not the Pi 3B's device tree"
    for unit in keryu-web keryu-scanner keryu-worker; do
        wait_for 300 "$unit running" guest systemctl is-active --quiet "$unit.service"
    done
    failed=$(guest systemctl list-units --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')
    [ -z "$failed" ] || say "note: failed units on the Pi model: $failed"
    case " $failed " in *" keryu"*) fail "a Keryu unit failed: $failed" ;; esac
    # The scanner reports its pins in health: real ones, with no feedback fault.
    wait_for 300 "health: feedback ok on real GPIO" health_component feedback 'c["status"] == "ok" and c.get("pins") == "gpio"'
    # The scanner holds the pins; the self-test needs them, as when a person assembles a kiosk.
    guest systemctl stop keryu-scanner.service
    guest keryu selftest --json --camera none >"$WORK/selftest.json" || true # exit 1: no camera in qemu
    python3 - "$WORK/selftest.json" <<'PY' || fail "selftest does not report real lines for BCM 17, 27 and 22: $(cat "$WORK/selftest.json")"
import json, sys
outputs = json.load(open(sys.argv[1]))["outputs"]
steps = {step["bcm_pin"]: step for step in outputs["steps"]}
assert outputs["status"] == "ok" and not outputs["simulated"], outputs
for pin in (17, 27, 22):
    step = steps[pin]
    assert step["real"] and step["chip"].startswith("/dev/gpiochip") and step["line"] == pin, step
    assert step["chip_label"] == "pinctrl-bcm2835" and step["requested"] and step["output"], step
print("selftest lines:", ", ".join(f"BCM {p} = {steps[p]['chip']} line {steps[p]['line']}" for p in (17, 27, 22)))
PY
    guest systemctl start keryu-scanner.service
    say "ok: keryu selftest drove BCM 17, 27 and 22 as real lines of the header's gpiochip"
    say "PASS: $(basename "$IMG") runs the kiosk on the Raspberry Pi 3B model with real GPIO"
    exit 0
fi

# --- First boot ----------------------------------------------------------------------------
say "booting $(basename "$IMG") with $GUEST_MEMORY MiB (web on 127.0.0.1:$WEB_PORT, ssh on 127.0.0.1:$SSH_PORT)"
boot_guest
wait_for "$BOOT_TIMEOUT" "SSH with the key from the boot partition" guest true
wait_for "$BOOT_TIMEOUT" "boot finished" system_settled
failed=$(guest systemctl list-units --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')
[ -z "$failed" ] || { guest journalctl -b --no-pager -n 60 -u "${failed%% *}" || true; fail "failed units: $failed"; }
say "ok: no failed unit"
[ "$(guest systemctl is-active keryu.target)" = active ] || fail "keryu.target is not active"
say "ok: keryu.target active"
# The first boot's preset-all (machine-id "uninitialized") enabled nothing behind the build's back.
enabled=$(guest systemctl is-enabled keryu-beat.service systemd-journald-audit.socket 2>/dev/null | tr '\n' ' ' || true)
[ "$enabled" = "disabled disabled " ] || fail "the first boot enabled units the image did not (keryu-beat, audit socket): $enabled"
say "ok: the first boot enabled no unit the image did not"

[ "$(guest stat -c %a:%U:%G /etc/keryu/keryu.env)" = "640:root:keryu" ] || fail "/etc/keryu/keryu.env is not root:keryu 0640"
mdir -b -i "$FAT" :: | grep -q '/keryu.env$' && fail "keryu.env is still on the boot partition"
guest grep -q "^WHATSAPP_ACCESS_TOKEN=$meta_token$" /etc/keryu/keryu.env || fail "tokens not imported"
guest runuser -u keryu -- test -r /etc/keryu/keryu.env || fail "user keryu cannot read /etc/keryu/keryu.env"
# A deleted FAT file keeps its clusters: the token must not be left in the partition's free space.
if grep -aqF "$meta_token" < <(dd if="$WORK/card.img" bs=512 skip="$boot_start" count="$boot_sectors" status=none); then
    fail "the token is still readable in the boot partition's free space"
fi
say "ok: keryu.env moved to /etc/keryu/keryu.env (root:keryu 0640) and erased from the FAT partition"
# The owner reads the one-time setup code where they put keryu.env (no admin password is set yet).
# It is read from the card image as the owner would, without asking the guest to sync first:
# keryu-setup-code.service fsyncs it, so it must already be on the "card".
code_alphabet=23456789ABCDEFGHJKMNPQRSTVWXYZ
setup_code_on_card() {
    mtype -i "$FAT" ::keryu-setup-code.txt >"$WORK/setup-code.txt" 2>/dev/null &&
        grep -Eq "\b[$code_alphabet]{4}(-[$code_alphabet]{4}){3}\b" "$WORK/setup-code.txt"
}
code_deadline=$(($(date +%s) + 120))
until setup_code_on_card || [ "$(date +%s)" -ge "$code_deadline" ]; do sleep 3; done
if ! setup_code_on_card; then
    # What each side sees, so that a failure here can be told apart: the unit, the guest's view
    # of the file, and the card's.
    guest systemctl status --no-pager keryu-setup-code.service >&2 || true
    guest journalctl -b --no-pager -u keryu-setup-code.service >&2 || true
    guest od -c /boot/firmware/keryu-setup-code.txt 2>&1 | head -n 8 >&2 || true
    od -c "$WORK/setup-code.txt" 2>&1 | head -n 8 >&2 || true
    fail "keryu-setup-code.txt on the boot partition holds no setup code"
fi
grep -q "http://keryu.local/setup" "$WORK/setup-code.txt" || fail "keryu-setup-code.txt does not say where to type the code"
say "ok: keryu-setup-code.txt on the boot partition"
guest test -s /etc/ssh/ssh_host_ed25519_key || fail "no per-device SSH host key"
guest "grep -qv uninitialized /etc/machine-id" || fail "machine id not made"
say "ok: per-device machine id and SSH host keys"
root_bytes=$(guest findmnt -bno SIZE /)
[ "$root_bytes" -gt "$image_bytes" ] || fail "root file system not grown ($root_bytes bytes)"
say "ok: root file system grown to $((root_bytes / 1048576)) MiB"
# --- Wi-Fi from keryu.env (issue 11: the Zero 2 W and the Pi 3) -------------------------------
# No radio here: the configuration the kiosk writes, the firmware Debian has for the Pi 3 and
# Zero 2 W chips, and systemd-networkd taking a wl* interface (a dummy link) with its file.
wifi_psk=$(python3 -c 'import hashlib, sys; print(hashlib.pbkdf2_hmac("sha1", sys.argv[1].encode(), b"Keryu Lab", 4096, 32).hex())' "$wifi_password")
guest cat /etc/wpa_supplicant/wpa_supplicant-wlan0.conf >"$WORK/wpa.conf" || fail "no wpa_supplicant configuration for wlan0"
grep -qx "country=MX" "$WORK/wpa.conf" || fail "Wi-Fi country not set"
grep -qx "    ssid=$(printf 'Keryu Lab' | od -An -tx1 | tr -d ' \n')" "$WORK/wpa.conf" || fail "Wi-Fi SSID not set"
grep -qx "    psk=$wifi_psk" "$WORK/wpa.conf" || fail "Wi-Fi key is not the WPA2 key of the passphrase"
grep -qF "$wifi_password" "$WORK/wpa.conf" && fail "the Wi-Fi passphrase is in clear in the configuration"
[ "$(guest stat -c %a:%U /etc/wpa_supplicant/wpa_supplicant-wlan0.conf)" = "600:root" ] || fail "wpa_supplicant configuration readable by others"
[ "$(guest systemctl is-enabled wpa_supplicant@wlan0.service)" = enabled ] || fail "wpa_supplicant@wlan0 not enabled"
for blob in brcmfmac43430-sdio.bin brcmfmac43430-sdio.raspberrypi,3-model-b.txt brcmfmac43430-sdio.raspberrypi,model-zero-2-w.txt \
    brcmfmac43455-sdio.bin brcmfmac43455-sdio.clm_blob brcmfmac43455-sdio.raspberrypi,3-model-b-plus.txt; do
    guest test -r "/lib/firmware/brcm/$blob" || fail "Wi-Fi firmware $blob missing"
done
guest "ip link add wltest0 type dummy && ip link set wltest0 up"
wait_for 60 "systemd-networkd manages a wl* link with 25-wireless.network" \
    guest "networkctl status wltest0 --no-pager | grep -q 'Network File: /etc/systemd/network/25-wireless.network'"
guest ip link del wltest0
say "ok: Wi-Fi configured from keryu.env (wpa_supplicant, networkd, Pi 3 / Zero 2 W firmware)"

wait_for 120 "keryu.local announced by avahi" \
    guest "journalctl -b -u avahi-daemon --no-pager | grep -q 'Server startup complete. Host name is keryu.local'"
wait_for 300 "/api/health ok on 127.0.0.1:$WEB_PORT" health_ok

# --- A card shown to the camera becomes one delivered alarm -----------------------------------
guest install -d -m 0700 /root/standin
scp -q -i "$WORK/id" -P "$SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    "$REPO_DIR/tests/standins/providers.py" root@127.0.0.1:/root/providers.py
start_standin
first=$(show_card "Ana Prueba" +5215512345678 | tail -n1)
[ -n "$first" ] || fail "no alarm for the first card"
wait_for 120 "alarm $first delivered to the stand-in" delivered "$first"
[ "$(standin_sends_to "Ana Prueba")" = 1 ] || fail "the stand-in did not get exactly one message for alarm $first"
say "ok: alarm $first sent once ($(alarm_field "$first" channel), status $(alarm_field "$first" notification_status))"

# --- The services run at -OO from the image's bytecode, and what they hold (issue 12) ---------
# The build checked that their imports compile nothing; here, that the units start them so.
# shellcheck disable=SC2016 # expanded in the guest
not_optimized=$(guest 'for u in keryu-worker keryu-scanner keryu-web; do
    tr "\0" "\n" </proc/$(systemctl show -p MainPID --value $u.service)/environ | grep -qx PYTHONOPTIMIZE=2 || echo "$u"
done') || fail "could not read the services' environment"
[ -z "$not_optimized" ] || fail "a service runs without PYTHONOPTIMIZE=2: $not_optimized"
idle_rss=$(services_rss | tr '\n' ' ') || fail "could not read the services' memory"
say "ok: the services run at -OO; RSS in the guest, MiB: $idle_rss"

# --- Updates: security sources, a Keryu bundle through the admin page, an automatic rollback --
update_started=$(date +%s)
guest grep -q -- "-security" /etc/apt/sources.list.d/debian.sources || fail "the APT sources lack the security suite"
guest grep -q -- "-updates" /etc/apt/sources.list.d/debian.sources || fail "the APT sources lack the -updates suite"
guest dpkg-query -W unattended-upgrades >/dev/null || fail "unattended-upgrades is not installed"
[ "$(guest systemctl is-enabled apt-daily-upgrade.timer)" = enabled ] || fail "apt-daily-upgrade.timer is not enabled"
guest "apt-config dump | grep -qx 'Unattended-Upgrade::Automatic-Reboot \"false\";'" || fail "unattended-upgrades may reboot"
guest "apt-config dump | grep -qx 'APT::Periodic::Unattended-Upgrade \"1\";'" || fail "unattended-upgrades is not enabled"
say "ok: security and -updates suites in the sources; unattended-upgrades enabled, never rebooting on its own"
version=$(basename "$IMG" | sed -n 's/^keryu-\(.*\)-arm64\.img$/\1/p')
[ "$(guest readlink /opt/keryu/venv)" = "venvs/$version" ] || fail "/opt/keryu/venv is not a link to venvs/$version"

# The whole update story (three bundles built here, each update installing only the changed
# wheel into a venv linked from the running one; a broken one rolled back once its worker keeps
# crashing) has not yet run through: run with KERYU_BOOT_UPDATES=1.
UPDATES="${KERYU_BOOT_UPDATES:-}"
if [ -n "$UPDATES" ]; then
# Bundles of this checkout with a bumped version, signed with a key the guest is given, the
# device's wheels taken from the image build's wheelhouse.
openssl genpkey -algorithm ed25519 -out "$WORK/update.key" 2>/dev/null
openssl pkey -in "$WORK/update.key" -pubout -out "$WORK/update.pub"
scp -q -i "$WORK/id" -P "$SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    "$WORK/update.pub" root@127.0.0.1:/etc/keryu/update-keys/test-boot.pub
make_bundle() { # make_bundle VERSION [broken]: prints the bundle's path
    local src="$WORK/src-$1"
    mkdir -p "$src"
    tar -C "$REPO_DIR" --exclude=./.venv --exclude=./.git --exclude=./data --exclude=./image/out --exclude=./build \
        --exclude="./*.egg-info" --exclude=./test-artifacts -cf - . | tar -C "$src" -xf -
    sed -i "s/^version = \".*\"/version = \"$1\"/" "$src/pyproject.toml"
    if [ "${2:-}" = broken ]; then
        echo 'raise SystemExit("broken on purpose by image/test-boot.sh")' >>"$src/appliance/worker/runtime.py"
    fi
    "$REPO_DIR/.venv/bin/keryu" bundle --source "$src" --wheelhouse "$(dirname "$IMG")/wheelhouse" \
        --key "$WORK/update.key" --out "$WORK/keryu-$1.kup" >&2
    echo "$WORK/keryu-$1.kup"
}
# The admin page, as a browser: the first-run setup with the code from the boot partition, then
# a login and the settings page's upload form (each with its CSRF token).
admin="http://127.0.0.1:$WEB_PORT"
admin_password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')
csrf_of() { curl -fsS -b "$WORK/cookies" -c "$WORK/cookies" "$admin$1" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1; }
admin_post() { # admin_post PAGE FIELD=VALUE...: a form posted with the page's CSRF token
    local page=$1 token args=()
    shift
    token=$(csrf_of "$page")
    for field in "$@"; do args+=(--data-urlencode "$field"); done
    curl -fsS -o /dev/null -b "$WORK/cookies" -c "$WORK/cookies" --data-urlencode "csrf_token=$token" "${args[@]}" "$admin$page"
}
setup_code=$(grep -Eo "[$code_alphabet]{4}(-[$code_alphabet]{4}){3}" "$WORK/setup-code.txt" | head -n1)
admin_post /setup "setup_code=$setup_code" "password=$admin_password" "confirm=$admin_password" || fail "first-run setup"
admin_upload() { # admin_upload FILE: log in and upload FILE on the settings page
    admin_post /login "password=$admin_password" "next=/settings" || fail "admin login"
    local token
    token=$(csrf_of /settings)
    curl -fsS -o /dev/null -b "$WORK/cookies" -c "$WORK/cookies" -F "csrf_token=$token" \
        -F "bundle=@$1;type=application/octet-stream" "$admin/settings/update" || fail "upload of $(basename "$1")"
}
update_state() { guest cat /var/lib/keryu-update/status.json 2>/dev/null | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["state"], s["version"])'; }
update_message() { guest cat /var/lib/keryu-update/status.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["message"])'; }
update_done() { case "$(update_state)" in "installed $1" | "rolled-back $1") return 0 ;; *) return 1 ;; esac; }
health_version() {
    curl -fsS --max-time 10 -H "Authorization: Bearer $api_token" "$admin/api/health" |
        python3 -c 'import json,sys; print(json.load(sys.stdin).get("version"))'
}

# How long the updater took to make the new venv (its own log line), for docs/appliance.md.
made_in() { guest journalctl -u keryu-update.service --no-pager -o cat | grep "Keryu $1 made from" | tail -n1; }

good="$version.1"
bundle=$(make_bundle "$good" | tail -n1)
say "bundle $(basename "$bundle"): $(du -h "$bundle" | cut -f1)"
admin_upload "$bundle"
uploaded_at=$(date +%s)
# The next two bundles are made on the host while the guest installs this one.
broken="$version.2"
cut="$version.3"
(make_bundle "$broken" broken && make_bundle "$cut") >/dev/null &
bundles_pid=$!
wait_for 1800 "update to $good finished" update_done "$good"
[ "$(update_state)" = "installed $good" ] || fail "update to $good: $(guest cat /var/lib/keryu-update/status.json)"
say "update to $good: $(($(date +%s) - uploaded_at)) s from the upload to healthy; $(made_in "$good")"
wait_for 300 "/api/health ok after the update" health_ok
[ "$(health_version)" = "$good" ] || fail "/api/health reports version $(health_version), not $good"
say "ok: Keryu $good installed through the admin page; /api/health reports it"

wait "$bundles_pid" || fail "the bundles of $broken and $cut were not made"
admin_upload "$WORK/keryu-$broken.kup"
broken_at=$(date +%s)
wait_for 1800 "update to $broken finished" update_done "$broken"
[ "$(update_state)" = "rolled-back $broken" ] || fail "the broken update was not rolled back: $(guest cat /var/lib/keryu-update/status.json)"
say "rolled back $(($(date +%s) - broken_at)) s after the upload (grace $UPDATE_GRACE s): $(update_message)"
admin_post /login "password=$admin_password" "next=/settings" || fail "admin login"
# Read whole before grep: `curl | grep -q` under pipefail fails when grep stops reading early.
settings_page=$(curl -fsS -H "Accept-Language: en" -b "$WORK/cookies" "$admin/settings") || fail "the settings page did not load"
grep -qF "update to $broken failed and was rolled back: " <<<"$settings_page" ||
    fail "the settings page does not say the update was rolled back"
[ "$(guest readlink /opt/keryu/venv)" = "venvs/$good" ] || fail "not back on $good after the rollback"
wait_for 300 "/api/health ok after the rollback" health_ok
[ "$(health_version)" = "$good" ] || fail "/api/health reports $(health_version) after the rollback, not $good"
third=$(show_card "Carla Prueba" +5215511112222 | tail -n1)
[ -n "$third" ] || fail "no alarm for the card shown after the rollback"
wait_for 120 "alarm $third delivered after the rollback" delivered "$third"
say "ok: the broken update rolled back on its own, the page says so, and a card still delivers"
fi

# The stand-in holds its answers, so the worker is mid-send when the power goes: the alarm can
# only be delivered after the reboot, by the kiosk picking up what it was doing.
for provider in meta twilio; do
    guest_post "http://127.0.0.1:$STANDIN_PORT/_standin/script" \
        "{\"provider\": \"$provider\", \"responses\": [{\"hang\": 900}, {\"hang\": 900}, {\"hang\": 900}]}"
done
second=$(show_card "Beto Prueba" +5215587654321 | tail -n1)
[ -n "$second" ] || fail "no alarm for the second card"
if [ -n "$UPDATES" ]; then
    # The power cut also lands in the middle of an update (the new venv being made, or the kiosk
    # stopping for it: the worker is mid-send to the held stand-in).
    admin_upload "$WORK/keryu-$cut.kup"
    wait_for 600 "update to $cut in progress" guest test -f /var/lib/keryu-update/journal.json
    say "alarm $second acknowledged and the update to $cut under way; pulling the power"
fi
power_cut
boot_guest
wait_for "$BOOT_TIMEOUT" "SSH after the power cut" guest true
wait_for "$BOOT_TIMEOUT" "boot after the power cut finished" system_settled
[ "$(guest runuser -u keryu -- sqlite3 /var/lib/keryu/keryu.db "'PRAGMA integrity_check'")" = ok ] || fail "integrity check after the power cut"
say "ok: database integrity check after the power cut"
if [ -z "$(alarm_field "$first" id)" ] || [ -z "$(alarm_field "$second" id)" ]; then
    fail "an alarm was lost in the power cut"
fi
say "ok: both alarms survived the power cut"
start_standin
wait_for 600 "alarm $second delivered after the reboot" delivered "$second"
[ "$(standin_sends_to "Beto Prueba")" = 1 ] || fail "alarm $second not sent exactly once"
failed=$(guest systemctl list-units --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')
[ -z "$failed" ] || fail "failed units after the reboot: $failed"
say "ok: alarm $second delivered once after the reboot; no failed unit"

# --- Idle writes to the card (issue 11: fewer writes) ----------------------------------------
# Bytes written to the root partition, and by Keryu's services and Redis (their processes'
# write_bytes), over a few idle minutes, scaled to an hour; the figure is in docs/appliance.md.
if [ -n "$FIELD" ]; then
    IDLE_SECONDS="${KERYU_IDLE_WRITE_SECONDS:-120}" # a 4 KiB write in 120 s is 120 KiB per hour: fine enough for a 1 MiB goal
    # Both counters are read by one script in the guest's RAM, run twice in ONE SSH session with
    # the idle time between: an SSH login makes journald, PAM and audit write to the card, and a
    # login per reading would be counted as the kiosk's (it was: 34-38 MiB per hour before).
    # `sync` at each reading puts what was written before it (the login's journal lines too) on
    # the disk, so the window holds only what the idle kiosk writes.
    # shellcheck disable=SC2016 # expanded by the guest's shell
    guest 'cat >/run/keryu-idle-counters.sh' <<'SCRIPT'
sync
set -- $(cat "/sys/class/block/$(basename "$(findmnt -no SOURCE /)")/stat")
echo "$(($7 * 512))" # bytes written to the root partition since boot (field 7: sectors written)
for unit in keryu-web keryu-worker keryu-scanner keryu-beat redis-server; do
    cg=$(systemctl show -P ControlGroup "$unit.service"); [ -n "$cg" ] || continue
    for pid in $(cat "/sys/fs/cgroup$cg/cgroup.procs" 2>/dev/null); do
        sed -n "s/^write_bytes: //p" "/proc/$pid/io" 2>/dev/null
    done
done | awk '{s += $1} END {printf "%d\n", s}' # bytes written by the kiosk's processes and Redis
SCRIPT
    idle_writes() { # idle_writes LABEL: measure, print, and leave the per-hour figures in disk_per_hour, kiosk_per_hour
        local counters
        read -r -d '' -a counters < <(guest "sleep 30; sh /run/keryu-idle-counters.sh; sleep $IDLE_SECONDS; sh /run/keryu-idle-counters.sh") || true
        [ "${#counters[@]}" = 4 ] || fail "idle writes: the guest gave '${counters[*]}', not four counters"
        disk_per_hour=$(((counters[2] - counters[0]) * 3600 / IDLE_SECONDS))
        kiosk_per_hour=$(((counters[3] - counters[1]) * 3600 / IDLE_SECONDS))
        say "idle writes ($1) over $IDLE_SECONDS s: root file system $((disk_per_hour / 1024)) KiB/h, Keryu's services and Redis $((kiosk_per_hour / 1024)) KiB/h"
    }
    idle_writes "as shipped"
    # What the idle kiosk holds in RAM and in compressed swap (bench/README.md, "Boot test at 512 MiB").
    guest "free -m; zramctl; for u in keryu-worker keryu-scanner keryu-web redis-server; do echo \$u \$(systemctl show -p MemoryCurrent -p MemorySwapCurrent -p MemoryPeak \$u.service | tr '\n' ' '); done" >&2 || true
    [ "$kiosk_per_hour" -lt 1048576 ] || fail "Keryu's services write $((kiosk_per_hour / 1024)) KiB per idle hour (goal: under 1 MiB)"
    if [ -n "${KERYU_IDLE_WRITE_BEFORE:-}" ]; then
        # For docs/appliance.md's "before" figure: the files in the data folder and Redis persisting,
        # as the image did before (then back to the shipped settings).
        guest "sed -i 's|^KERYU_RUNTIME_DIR=.*|KERYU_RUNTIME_DIR=/var/lib/keryu/run|' /etc/keryu/keryu.env &&
            redis-cli config set appendonly yes >/dev/null && redis-cli config set save '900 1 300 10' >/dev/null &&
            systemctl restart keryu-scanner keryu-worker keryu-web"
        wait_for 300 "/api/health ok with the old settings" health_ok
        idle_writes "before: data folder and Redis persistence"
        guest "sed -i 's|^KERYU_RUNTIME_DIR=.*|KERYU_RUNTIME_DIR=/run/keryu|' /etc/keryu/keryu.env &&
            redis-cli config set appendonly no >/dev/null && redis-cli config set save '' >/dev/null &&
            systemctl restart keryu-scanner keryu-worker keryu-web"
        wait_for 300 "/api/health ok with the shipped settings" health_ok
    fi
fi

# --- Times before the clock is set (issue 11: power cuts) ------------------------------------
# qemu's guest has no network time (restrict=on), as a Pi after a power cut before its network
# is up: alarms are marked clock_synced false and their message says "time unknown". Then the
# clock is set forward an hour and timesyncd's synchronized flag appears: the alarm's time is
# corrected from the monotonic clock (within the beat's 15 s sweep).
guest test -d /run/systemd/timesync || fail "systemd-timesyncd is not running"
guest test -e /run/systemd/timesync/synchronized && fail "the guest has network time; this check needs none"
third=$(show_card "Caro Prueba" +5215500000003 | tail -n1)
[ "$(alarm_field "$third" clock_synced)" = False ] || fail "alarm $third recorded before the sync is not marked clock_synced false"
wait_for 120 "alarm $third delivered" delivered "$third"
guest_get "http://127.0.0.1:$STANDIN_PORT/_standin/requests" | python3 -c '
import json, sys
bodies = [json.dumps(r["body"]) for r in json.load(sys.stdin) if r["accepted"] and "Caro Prueba" in json.dumps(r["body"])]
sys.exit(0 if bodies and all("hora desconocida" in b for b in bodies) else 1)' || fail "the message sent before the sync does not say time unknown (hora desconocida: the kiosk speaks Spanish)"
before_sync=$(alarm_field "$third" created_at)
# shellcheck disable=SC2016 # expanded by the guest's shell
guest 'date -s @$(($(date +%s) + 3600)) >/dev/null && touch /run/systemd/timesync/synchronized'
shifted() {
    python3 -c 'import sys; from datetime import datetime as d; s = (d.fromisoformat(sys.argv[2]) - d.fromisoformat(sys.argv[1])).total_seconds(); sys.exit(0 if 3500 < s < 3700 else 1)' \
        "$before_sync" "$(alarm_field "$third" created_at)"
}
wait_for 90 "alarm $third's time corrected after the sync" shifted
# shellcheck disable=SC2016 # expanded by the guest's shell
guest 'rm /run/systemd/timesync/synchronized; date -s @$(($(date +%s) - 3600)) >/dev/null'
say "ok: alarm $third marked clock_synced false, sent as 'time unknown', its time corrected after the sync"

# --- Updates: the update the power cut interrupted was undone at boot ---------------------------
if [ -n "$UPDATES" ]; then
    [ "$(guest readlink /opt/keryu/venv)" = "venvs/$good" ] || fail "after the cut mid-update the link is not venvs/$good"
    guest test ! -e /var/lib/keryu-update/journal.json || fail "the update journal is still there after the boot"
    guest "ls /opt/keryu/venvs | grep -q '^$cut'" && fail "the interrupted version's venv is still there"
    [ "$(update_state)" = "rolled-back $cut" ] || fail "the interrupted update is not reported as rolled back"
    wait_for 300 "/api/health ok after the cut mid-update" health_ok
    [ "$(health_version)" = "$good" ] || fail "/api/health reports $(health_version) after the cut, not $good"
    say "ok: the update cut short by the power was undone at boot; healthy on $good (updates took $(($(date +%s) - update_started)) s of this run)"
fi

# --- Memory: a burst of alarms in a Pi Zero 2 W's 512 MiB ----------------------------------
# One card scanned BURST times by `keryu scan` (the CLI has no cooldown: each file is a new
# presentation), so the worker delivers BURST messages back to back while the scanner and the
# web page run. The kernel must kill nothing (no OOM kill, no unit's MemoryMax reached), every
# message reaches the stand-in once, and the kiosk answers healthy afterwards.
if [ -n "$FIELD" ]; then
    # The image's compressed swap in RAM (systemd-zram-generator) is up on Debian's kernel.
    guest "swapon --show=NAME --noheadings | grep -qx /dev/zram0" || fail "no zram swap: $(guest 'swapon --show; systemctl status --no-pager systemd-zram-setup@zram0' 2>&1)"
    say "ok: compressed swap in RAM: $(guest zramctl --noheadings --output NAME,ALGORITHM,DISKSIZE,DATA,COMPR | tr -s ' ')"
    oom_kills() { guest "journalctl _TRANSPORT=kernel --no-pager | grep -i 'out of memory\|oom-kill'" || true; }
    burst_sent() { # burst_sent NAME: how many of NAME's alarms are SENT or DELIVERED
        guest keryu alarms --json --limit 500 | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin) if a["subject_name"] == sys.argv[1] and a["notification_status"] in ("SENT", "DELIVERED")))' "$1"
    }
    burst_done() { [ "$(burst_sent "Carla Rafaga")" -ge "$BURST" ]; }
    burst_started=$(date +%s)
    burst_card=$(guest keryu subject add --name "'Carla Rafaga'" --phone +5215511112222 | python3 -c 'import json,sys; print(json.load(sys.stdin)["card_uuid"])')
    guest keryu card image "$burst_card" --out /var/lib/keryu/burst.png
    accepted=$(guest "keryu scan $(printf '/var/lib/keryu/burst.png %.0s' $(seq "$BURST"))" | grep -c '"outcome": "accepted"' || true)
    [ "$accepted" = "$BURST" ] || fail "the burst recorded $accepted alarms, not $BURST"
    say "ok: $BURST alarms recorded in $(($(date +%s) - burst_started)) s"
    wait_for 900 "$BURST alarms of the burst sent" burst_done
    [ "$(standin_sends_to "Carla Rafaga")" = "$BURST" ] || fail "the stand-in did not get exactly $BURST messages of the burst"
    say "ok: the burst delivered once each in $(($(date +%s) - burst_started)) s"
    killed=$(oom_kills)
    [ -z "$killed" ] || fail "OOM kill in the kernel log: $killed"
    failed=$(guest systemctl list-units --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')
    [ -z "$failed" ] || fail "failed units after the burst: $failed"
    wait_for 120 "/api/health ok after the burst" health_ok
    guest "free -m; zramctl; for u in keryu-worker keryu-scanner keryu-web redis-server; do echo \$u \$(systemctl show -p MemoryCurrent -p MemorySwapCurrent -p MemoryPeak -p NRestarts \$u.service | tr '\n' ' '); done" >&2 || true
    # A service systemd restarted on its own (a crash, a missed watchdog, MemoryMax) is not healthy.
    restarted=$(guest "for u in keryu-worker keryu-scanner keryu-web; do [ \"\$(systemctl show -p NRestarts --value \$u.service)\" = 0 ] || echo \$u; done" | tr '\n' ' ')
    if [ -n "${restarted// /}" ]; then
        for unit in $restarted; do
            guest "journalctl -b --no-pager -o short-monotonic -u $unit.service | grep -iE 'watchdog|exited|killed|restart|traceback|error' | tail -n 30" >&2 || true
        done
        fail "restarted by systemd since this boot: $restarted"
    fi
    say "ok: no OOM kill with $GUEST_MEMORY MiB, no service restarted; the kiosk healthy after the burst ($(($(date +%s) - burst_started)) s for this check)"
fi

# --- A USB camera read through V4L2 on the kernel's vivid driver (issue 12) --------------------
# vivid is a V4L2 capture device the kernel itself makes (a webcam input with raw formats such as
# YUYV; it has no MJPEG). With KERYU_CAMERA=opencv:0 the scanner unit opens it as it would a USB
# webcam: through its device policy and the video group, the mode chosen from uvc_modes.py's
# enumeration ioctls, frames streamed by camera/v4l2.py through memory-mapped buffers. Checked:
# frames flow, OpenCV is not loaded, and the picture is right (the preview the admin page shows
# has vivid's colour bars as their luma, brightest on the left). The services' RSS is read as a
# webcam kiosk's, then the folder camera comes back for the checks below.
guest "modprobe vivid n_devs=1 node_types=0x1 input_types=0x0 && udevadm settle && test -c /dev/video0" ||
    fail "the vivid driver gave no /dev/video0: $(guest 'dmesg | tail -n 5' 2>&1)"
guest "sed -i 's|^KERYU_CAMERA=.*|KERYU_CAMERA=opencv:0|' /etc/keryu/keryu.env && systemctl restart keryu-scanner.service"
webcam_frames() { health_component scanner 'c["status"] == "ok" and str(c.get("camera", "")).startswith("opencv:0") and (c.get("fps") or 0) > 0'; }
wait_for 300 "the scanner reads frames from /dev/video0" webcam_frames
webcam=$(curl -fsS --max-time 20 -H "Authorization: Bearer $api_token" "http://127.0.0.1:$WEB_PORT/api/health" |
    python3 -c 'import json,sys; c=json.load(sys.stdin)["components"]["scanner"]; print(c["camera"], "at", c["fps"], "frames/s,", c.get("cpu_percent"), "% CPU")')
# shellcheck disable=SC2016 # expanded in the guest
guest 'grep -q cv2 /proc/$(systemctl show -p MainPID --value keryu-scanner.service)/maps' &&
    fail "the scanner loaded OpenCV to read the webcam"
guest "runuser -u keryu -- sh -c 'mkdir -p /run/keryu/desk && touch /run/keryu/desk/preview-wanted'"
webcam_preview() { guest test -s /run/keryu/desk/preview.jpg; }
wait_for 60 "the scanner's preview of the webcam" webcam_preview
# The preview is read with the scanner's own JPEG decoder (simplejpeg's arm64 build, whole and at
# 1/8 as the change gate reads a webcam's MJPEG), and with simplejpeg itself, not Pillow's fallback.
bars=$(guest "/opt/keryu/venv/bin/python -c '
import numpy as np, simplejpeg
from pathlib import Path
from appliance.scanner.pixels import decode_jpeg
data = Path(\"/run/keryu/desk/preview.jpg\").read_bytes()
simplejpeg.decode_jpeg(data, colorspace=\"GRAY\")
grey = decode_jpeg(data, \"preview\")
height, width = grey.shape
assert decode_jpeg(data, \"preview\", reduce=8).shape == ((height + 7) // 8, (width + 7) // 8)
rows = grey[height // 2 : height * 7 // 8]
print(width, height, *(int(np.median(rows[:, (2 * i + 1) * width // 16])) for i in range(8)))
'") || fail "the webcam preview could not be read"
read -r -a bar_figures <<<"$bars"
python3 -c 'import sys; w, h, *y = map(int, sys.argv[1:]); sys.exit(not (w * 9 == h * 16 and y[0] > 150 and y[-1] < 40 and all(a > b + 5 for a, b in zip(y, y[1:]))))' "${bar_figures[@]}" ||
    fail "the webcam preview is not vivid's colour bars from bright to dark (width, height, luma of each bar: $bars)"
sleep 20 # frames flowing for a while: the buffers and decoder state a running webcam keeps
webcam_rss=$(services_rss | awk '{printf "%s %s ", $1, $2; sum += $2} END {printf "sum %.1f", sum}') ||
    fail "could not read the services' memory with the webcam"
scanner_cgroup=$(guest systemctl show -p MemoryCurrent -p MemoryHigh -p MemorySwapCurrent keryu-scanner.service |
    awk -F= '{printf "%s %.1f MiB ", $1, $2 / 1048576}')
# The scanner's RSS split: its own heap (Anonymous), and the driver's frame buffers mapped from /dev/video0
# shellcheck disable=SC2016 # expanded in the guest
scanner_split=$(guest 'pid=$(systemctl show -p MainPID --value keryu-scanner.service)
    awk "/^Anonymous:/ {a += \$2} /^[0-9a-f]+-/ {video = index(\$0, \"/dev/video\") > 0} video && /^Rss:/ {v += \$2}
         END {printf \"Anonymous %.1f MiB, camera buffers %.1f MiB\", a / 1024, v / 1024}" /proc/$pid/smaps')
say "ok: $webcam, no OpenCV loaded; the preview shows the colour bars (luma $bars); RSS in the guest, MiB: $webcam_rss; scanner: $scanner_split; scanner unit: $scanner_cgroup"
guest "sed -i 's|^KERYU_CAMERA=.*|KERYU_CAMERA=dir:/var/lib/keryu/camera|' /etc/keryu/keryu.env && systemctl restart keryu-scanner.service"
wait_for 120 "/api/health ok on the folder camera again" health_ok

# --- Raspberry Pi Imager's OS customisation (issue 11) ----------------------------------------
# What Imager leaves on a card (firstrun.sh and systemd.run=/boot/firstrun.sh in cmdline.txt),
# answered by the image's own /boot/firstrun.sh as on that first boot: settings applied, the
# script erased, cmdline.txt as it was. Late in the test: the time zone changes.
guest "cp /boot/firmware/cmdline.txt /root/cmdline.orig &&
    sed -i '1s|\$| systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot systemd.unit=kernel-command-line.target|' /boot/firmware/cmdline.txt"
printf '%s\n' '#!/bin/bash' 'set +e' \
    "/usr/lib/raspberrypi-sys-mods/imager_custom set_timezone 'America/Mexico_City'" \
    'rm -f /boot/firstrun.sh' "sed -i 's| systemd.run.*||g' /boot/cmdline.txt" 'exit 0' |
    guest "cat >/boot/firmware/firstrun.sh"
guest /boot/firstrun.sh || fail "/boot/firstrun.sh did not exit 0 (the Pi would not reboot into the kiosk)"
guest test ! -e /boot/firmware/firstrun.sh || fail "Imager's firstrun.sh is still on the boot partition"
# Compared as the words the firmware reads, so that a difference in blanks alone is no failure
# (the rewrite keeps the file byte for byte; tests/image/test_boot_config.py checks that).
cmdline_now="$(guest "cat /boot/firmware/cmdline.txt" | xargs)"
cmdline_before="$(guest "cat /root/cmdline.orig" | xargs)"
[ "$cmdline_now" = "$cmdline_before" ] ||
    fail "cmdline.txt still differs from the image's after Imager's parameters were removed: '$cmdline_now' (was '$cmdline_before')"
[ "$(guest readlink /etc/localtime)" = /usr/share/zoneinfo/America/Mexico_City ] || fail "Imager's time zone not applied"
say "ok: Raspberry Pi Imager's firstrun.sh answered: time zone applied, script erased, cmdline.txt restored"

# --- A wrong setting in a later keryu.env: the admin page names it, nothing else runs ----------
# The owner copies a keryu.env with one bad value onto the card; here the import and the restart
# that a reboot would do run in place (no third boot): boot-config merges it and writes
# keryu-import.txt on the card, `keryu web` starts and names the variable, the rest waits.
guest "printf 'KERYU_LOCATION=\"qemu test bench\"\\nKERYU_SCAN_COOLDOWN=soon\\n' >/boot/firmware/keryu.env"
guest systemctl restart keryu-boot-config.service
guest test ! -e /boot/firmware/keryu.env || fail "keryu.env not taken from the boot partition"
guest cat /boot/firmware/keryu-import.txt >"$WORK/keryu-import.txt" || fail "no keryu-import.txt on the boot partition"
grep -q "Imported (2): KERYU_LOCATION, KERYU_SCAN_COOLDOWN" "$WORK/keryu-import.txt" || fail "keryu-import.txt: $(cat "$WORK/keryu-import.txt")"
grep -q soon "$WORK/keryu-import.txt" && fail "keryu-import.txt repeats a value"
guest grep -q "^WHATSAPP_ACCESS_TOKEN=$meta_token$" /etc/keryu/keryu.env || fail "the merge dropped a setting the new file does not name"
say "ok: keryu.env merged; keryu-import.txt on the boot partition names the variables, no value"
guest systemctl restart keryu.target
wait_for 300 "/api/health: config down naming KERYU_SCAN_COOLDOWN" \
    health_component config 'c["status"] == "down" and "KERYU_SCAN_COOLDOWN" in c["error"]'
admin_page=$(curl -fsSL --max-time 20 "http://127.0.0.1:$WEB_PORT/" || true)
grep -q "KERYU_SCAN_COOLDOWN" <<<"$admin_page" || fail "the admin page does not name the wrong setting"
for unit in keryu-init keryu-worker keryu-scanner; do
    state=$(guest systemctl is-active "$unit.service") || true
    [ "$state" = inactive ] || fail "$unit.service is $state with a wrong setting (should wait)"
done
[ "$(guest systemctl is-active keryu-config-led.service)" = active ] || fail "no configuration-error LED pattern"
failed=$(guest systemctl list-units --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')
[ -z "$failed" ] || fail "failed units with a wrong setting: $failed"
say "ok: a wrong setting shows on the admin page and in health; init, worker and scanner wait, none failed"

guest "systemd-analyze security --no-pager \$(cd /usr/lib/systemd/system && echo keryu*.service)" |
    grep -E '^(UNIT|keryu)' || true
say "PASS: $(basename "$IMG") boots into a working kiosk"
