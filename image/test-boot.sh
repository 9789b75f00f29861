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
#   the guest has 512 MiB (a Pi Zero 2 W) throughout, and a burst of 200 alarms is delivered
#   with no OOM kill in the kernel log and the kiosk healthy afterwards.
# Network: qemu user networking with restrict=on (the guest reaches nothing outside) and
# host forwards bound to 127.0.0.1 only. Every wait has a timeout.
#
#   image/test-boot.sh [IMAGE.img]      (default: the newest image/out/keryu-*-arm64.img)
#   image/test-boot.sh --raspi3b [IMAGE.img]
#       the Pi's own boot path instead: qemu's Raspberry Pi 3B model with the firmware
#       partition's device tree and the image's cmdline.txt unchanged, up to the login prompt
#       on the Pi's serial console (no network there; the kiosk checks are the -M virt run's).
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
GUEST_MEMORY=512 # MiB: a Raspberry Pi Zero 2 W's memory
BURST=200                                 # alarms recorded at once in the memory check
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
say() { echo "[$(($(date +%s) - started)) s] $*" >&2; }
fail() {
    say "FAIL: $*"
    echo "--- last console lines ---" >&2
    grep -v ' audit' "$WORK/console.log" 2>/dev/null | tail -n 40 >&2 || true
    exit 1
}

# wait_for SECONDS WHAT COMMAND...: poll until COMMAND succeeds
wait_for() {
    local limit=$1 what=$2
    shift 2
    local deadline=$(($(date +%s) + limit))
    until "$@" >/dev/null 2>&1; do
        [ -n "$QEMU_PID" ] && ! kill -0 "$QEMU_PID" 2>/dev/null && fail "qemu exited while waiting for $what"
        [ "$(date +%s)" -ge "$deadline" ] && fail "timed out after $limit s waiting for $what"
        sleep 3
    done
    say "ok: $what"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
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

if [ "$RASPI" = 1 ]; then
    # qemu's SD card model takes only power-of-two sizes; the card grows on first boot anyway.
    truncate -s 4G "$WORK/card.img"
    mcopy -n -i "$FAT" ::bcm2837-rpi-3-b.dtb "$WORK/pi3.dtb"
    say "booting $(basename "$IMG") on qemu's raspi3b (serial console: the mini UART, ttyS1)"
    qemu-system-aarch64 -M raspi3b -m 1G -kernel "$WORK/vmlinuz" -initrd "$WORK/initrd" -dtb "$WORK/pi3.dtb" \
        -append "$(tr -s ' \n' ' ' <"$WORK/cmdline.txt")" -drive if=sd,format=raw,file="$WORK/card.img" \
        -serial null -serial "file:$WORK/console.log" -display none -monitor none -no-reboot &
    QEMU_PID=$!
    wait_for "$BOOT_TIMEOUT" "login prompt on the Pi's serial console" grep -q "keryu login:" "$WORK/console.log"
    grep -q "Kernel panic" "$WORK/console.log" && fail "kernel panic"
    say "PASS: $(basename "$IMG") boots on the Raspberry Pi 3B model"
    exit 0
fi

# --- What a new owner puts on the boot partition -----------------------------------------
ssh-keygen -q -t ed25519 -N "" -C keryu-test-boot -f "$WORK/id"
meta_token="EAAGtest$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
meta_id=104857600000042
twilio_sid="AC$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
twilio_token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
api_token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
cat >"$WORK/keryu.env" <<ENV
KERYU_LOCATION="qemu test bench"
KERYU_CAMERA=dir:/var/lib/keryu/camera
KERYU_API_TOKEN=$api_token
GPIOZERO_PIN_FACTORY=mock
WHATSAPP_API_URL=http://127.0.0.1:$STANDIN_PORT/v23.0
WHATSAPP_PHONE_NUMBER_ID=$meta_id
WHATSAPP_ACCESS_TOKEN=$meta_token
TWILIO_API_URL=http://127.0.0.1:$STANDIN_PORT
TWILIO_ACCOUNT_SID=$twilio_sid
TWILIO_AUTH_TOKEN=$twilio_token
TWILIO_PHONE_NUMBER=+15005550006
TWILIO_WHATSAPP_NUMBER=+14155238886
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
# alarm_field ID FIELD: one field of one alarm from `keryu alarms --json`
alarm_field() {
    guest keryu alarms --json --limit 50 | python3 -c '
import json, sys
alarms = {a["id"]: a for a in json.load(sys.stdin)}
print(alarms[int(sys.argv[1])][sys.argv[2]] if int(sys.argv[1]) in alarms else "")' "$1" "$2"
}
delivered() { case "$(alarm_field "$1" notification_status)" in SENT | DELIVERED) return 0 ;; *) return 1 ;; esac; }
alarm_count() { guest keryu alarms --json --limit 50 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
# guest_get URL: an HTTP GET inside the guest (the image has python3, not curl)
guest_get() {
    guest python3 -c "'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())'" "$1"
}
# guest_post URL JSON: an HTTP POST of a JSON body inside the guest
guest_post() {
    printf '%s' "$2" | guest python3 -c "'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], sys.stdin.buffer.read(), {\"Content-Type\": \"application/json\"}), timeout=5)'" "$1"
}
# standin_sends_to TEXT: how many messages the stand-in accepted whose body mentions TEXT
standin_sends_to() {
    guest_get "http://127.0.0.1:$STANDIN_PORT/_standin/requests" | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin) if r["accepted"] and sys.argv[1] in json.dumps(r["body"])))' "$1"
}
start_standin() {
    guest systemd-run --unit=provider-standin --collect /usr/bin/python3 /root/providers.py \
        --port "$STANDIN_PORT" --meta-token "$meta_token" --meta-phone-number-id "$meta_id" \
        --twilio-sid "$twilio_sid" --twilio-token "$twilio_token" >/dev/null 2>&1
    wait_for 60 "provider stand-in in the guest" guest_get "http://127.0.0.1:$STANDIN_PORT/_standin/env"
}
system_settled() {
    local state
    state=$(guest systemctl is-system-running) || true
    case "$state" in running | degraded) return 0 ;; *) return 1 ;; esac
}
health_ok() { curl -fsS --max-time 10 "http://127.0.0.1:$WEB_PORT/api/health" | grep -q '"status": *"ok"'; }

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
mtype -i "$FAT" ::keryu-setup-code.txt >"$WORK/setup-code.txt" 2>/dev/null || fail "no keryu-setup-code.txt on the boot partition"
code_alphabet=23456789ABCDEFGHJKMNPQRSTVWXYZ
grep -Eq "\b[$code_alphabet]{4}(-[$code_alphabet]{4}){3}\b" "$WORK/setup-code.txt" || fail "keryu-setup-code.txt holds no setup code"
grep -q "http://keryu.local/setup" "$WORK/setup-code.txt" || fail "keryu-setup-code.txt does not say where to type the code"
say "ok: keryu-setup-code.txt on the boot partition"
guest test -s /etc/ssh/ssh_host_ed25519_key || fail "no per-device SSH host key"
guest "grep -qv uninitialized /etc/machine-id" || fail "machine id not made"
say "ok: per-device machine id and SSH host keys"
root_bytes=$(guest findmnt -bno SIZE /)
[ "$root_bytes" -gt "$image_bytes" ] || fail "root file system not grown ($root_bytes bytes)"
say "ok: root file system grown to $((root_bytes / 1048576)) MiB"
wait_for 120 "keryu.local announced by avahi" \
    guest "journalctl -b -u avahi-daemon --no-pager | grep -q 'Server startup complete. Host name is keryu.local'"
wait_for 300 "/api/health ok on 127.0.0.1:$WEB_PORT" health_ok

# --- A card shown to the camera becomes one delivered alarm -----------------------------------
guest install -d -m 0700 /root/standin
scp -q -i "$WORK/id" -P "$SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    "$REPO_DIR/tests/standins/providers.py" root@127.0.0.1:/root/providers.py
start_standin
show_card() { # show_card NAME PHONE -> prints the new alarm's id once it is recorded
    local card before
    card=$(guest keryu subject add --name "'$1'" --phone "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["card_uuid"])')
    before=$(alarm_count)
    guest "keryu card image $card --out /var/lib/keryu/.card-$card.png && mv /var/lib/keryu/.card-$card.png /var/lib/keryu/camera/card-$card.png"
    wait_for 120 "alarm for $1 recorded" test_count_above "$before"
    guest keryu alarms --json --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])'
}
test_count_above() { [ "$(alarm_count)" -gt "$1" ]; }
first=$(show_card "Ana Prueba" +5215512345678 | tail -n1)
[ -n "$first" ] || fail "no alarm for the first card"
wait_for 120 "alarm $first delivered to the stand-in" delivered "$first"
[ "$(standin_sends_to "Ana Prueba")" = 1 ] || fail "the stand-in did not get exactly one message for alarm $first"
say "ok: alarm $first sent once ($(alarm_field "$first" channel), status $(alarm_field "$first" notification_status))"

# --- Power cut right after the second scan, while its message is being sent ------------------
# The stand-in holds its answers, so the worker is mid-send when the power goes: the alarm can
# only be delivered after the reboot, by the kiosk picking up what it was doing.
for provider in meta twilio; do
    guest_post "http://127.0.0.1:$STANDIN_PORT/_standin/script" \
        "{\"provider\": \"$provider\", \"responses\": [{\"hang\": 900}, {\"hang\": 900}, {\"hang\": 900}]}"
done
second=$(show_card "Beto Prueba" +5215587654321 | tail -n1)
[ -n "$second" ] || fail "no alarm for the second card"
say "alarm $second acknowledged; pulling the power"
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
# --- Memory: a burst of alarms in a Pi Zero 2 W's 512 MiB ----------------------------------
# One card scanned BURST times by `keryu scan` (the CLI has no cooldown: each file is a new
# presentation), so the worker delivers BURST messages back to back while the scanner and the
# web page run. The kernel must kill nothing (no OOM kill, no unit's MemoryMax reached), every
# message reaches the stand-in once, and the kiosk answers healthy afterwards.
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
guest "free -m; for u in keryu-worker keryu-scanner keryu-web redis-server; do echo \$u \$(systemctl show -p MemoryCurrent -p MemoryPeak -p NRestarts \$u.service | tr '\n' ' '); done" >&2 || true
say "ok: no OOM kill with $GUEST_MEMORY MiB; the kiosk healthy after the burst ($(($(date +%s) - burst_started)) s for this check)"
guest "systemd-analyze security --no-pager \$(cd /usr/lib/systemd/system && echo keryu*.service)" |
    grep -E '^(UNIT|keryu)' || true
say "PASS: $(basename "$IMG") boots into a working kiosk"
