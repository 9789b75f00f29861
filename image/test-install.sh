#!/bin/bash -e
# The install path for Camera Module owners, tested on plain Debian: a base system without
# Keryu (mmdebstrap, cached) booted with systemd in a systemd-nspawn container, then
#   `sudo ./startup.sh install` from a copy of this checkout: keryu user, /opt/keryu/venv,
#   /etc/keryu/keryu.env (root:keryu 0640), /var/lib/keryu (0700, as keryu init and the units
#   make it), the units, Redis and Avahi, and keryu.target active with no failed unit;
#   /api/health ok;
#   the image's scan check: a card image dropped into the camera folder (a `dir:` camera)
#   becomes one alarm delivered to the provider stand-in (tests/standins/providers.py);
#   the Tools page on the real units: self-test answered by the scanner, the log download
#   read from the journal with the token hidden, and "Restart the services" carried out by
#   keryu-power@restart.service (the web service's invocation changes);
#   `sudo ./startup.sh uninstall`: units, venv, user and command gone, the database kept and named.
# The container shares the host's network (apt and pip need it): ports 80 and 6379 on the host
# must be free. Run as root; systemd-nspawn (systemd-container) and mmdebstrap are installed if
# missing. About 7.5 minutes on a busy 2-core machine with no cached base, 5 to 6.5 with one
# (docs/install.md).
#
#   image/test-install.sh              (KERYU_INSTALL_SUITE=trixie; KERYU_INSTALL_BASE=FILE.tar
#                                       caches the base system, made once by mmdebstrap)
set -o pipefail

IMAGE_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_DIR=$(dirname "$IMAGE_DIR")
SUITE=${KERYU_INSTALL_SUITE:-trixie}
ARCH=$(dpkg --print-architecture)
BASE=${KERYU_INSTALL_BASE:-/var/tmp/keryu-install-base-$SUITE-$ARCH.tar}
MIRROR=${KERYU_INSTALL_MIRROR:-http://deb.debian.org/debian}
NAME=keryu-install-test

[ "$(id -u)" = 0 ] || { echo "test-install.sh: run as root" >&2; exit 2; }
need=()
for pair in systemd-nspawn:systemd-container mmdebstrap:mmdebstrap nsenter:util-linux curl:curl python3:python3 git:git; do
    command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "test-install.sh: installing ${need[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

started=$(date +%s)
# shellcheck source=lib/checks.sh
. "$IMAGE_DIR/lib/checks.sh" # say, fail, wait_for, the stand-in, the card drop (shared with test-boot.sh)
WORK=$(mktemp -d /var/tmp/keryu-install-test.XXXXXX)
ROOT=$WORK/root
NSPAWN_PID=""
LEADER=""
cleanup() {
    if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
        kill -TERM "$NSPAWN_PID" 2>/dev/null || true # nspawn asks the container's systemd to halt
        for _ in $(seq 30); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 1; done
        kill -KILL "$NSPAWN_PID" 2>/dev/null || true
    fi
    if [ -n "${KERYU_KEEP_INSTALL_DIR:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
machine_down() { [ -n "$NSPAWN_PID" ] && ! kill -0 "$NSPAWN_PID" 2>/dev/null && echo "the container stopped"; }
diagnostics() { [ -z "$LEADER" ] || guest journalctl --no-pager -n 60 -u "'keryu*'"; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# guest COMMAND...: a shell command line run as root in the booted container with a clean
# environment, read by its shell as ssh would (the host's CA bundle is bound in, for pip behind
# a TLS-inspecting proxy).
guest() {
    nsenter --target "$LEADER" --mount --uts --ipc --net --pid --cgroup -- \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        PIP_CERT=/etc/ssl/certs/host-ca.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/host-ca.crt /bin/sh -c "$*"
}
for port in 80 6379; do
    port_free "$port" || { echo "test-install.sh: port $port is in use on this host; the container shares its network" >&2; exit 2; }
done

# --- A plain Debian base system, without Keryu ----------------------------------------------
if [ ! -s "$BASE" ]; then
    say "making the base system ($SUITE, $ARCH) with mmdebstrap into $BASE"
    mkdir -p "$(dirname "$BASE")"
    mmdebstrap --format=tar --variant=minbase --include=systemd,systemd-sysv,dbus,ca-certificates,python3,curl,iproute2,procps \
        "$SUITE" "$BASE.part" "$MIRROR"
    mv "$BASE.part" "$BASE"
fi
mkdir "$ROOT"
tar -C "$ROOT" -xf "$BASE"
echo "$NAME" >"$ROOT/etc/hostname"
# The checkout as the owner would have it: the committed files of HEAD (no venv, no data).
git -C "$REPO_DIR" archive --prefix=keryu/ HEAD | tar -C "$ROOT/root" -xf -
install -m 0644 "$REPO_DIR/tests/standins/providers.py" "$ROOT/root/providers.py"
ca=/etc/ssl/certs/ca-certificates.crt
[ -n "${PIP_CERT:-}" ] && ca=$PIP_CERT

# --- Boot it with systemd ---------------------------------------------------------------------
say "booting $SUITE in systemd-nspawn"
SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn --quiet --boot --directory="$ROOT" --machine="$NAME" \
    --register=no --keep-unit --bind-ro="$ca:/etc/ssl/certs/host-ca.crt" --capability=CAP_NET_BIND_SERVICE \
    >"$WORK/console.log" 2>&1 </dev/null &
NSPAWN_PID=$!
find_leader() {
    local pid
    for pid in $(pgrep -P "$NSPAWN_PID"); do
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ]; then LEADER=$pid; return 0; fi
    done
    return 1
}
wait_for 60 "the container's systemd" find_leader
wait_for 120 "the container finished booting" system_settled
boot_seconds=$(($(date +%s) - started))

# --- sudo ./startup.sh install ----------------------------------------------------------------
install_started=$(date +%s)
guest 'cd /root/keryu && ./startup.sh install' >"$WORK/install.log" 2>&1 || {
    tail -n 40 "$WORK/install.log" >&2
    fail "startup.sh install failed"
}
install_seconds=$(($(date +%s) - install_started))
say "ok: startup.sh install took $install_seconds s"
grep -q "installed in" "$WORK/install.log" || fail "the install did not say it finished"
[ "$(guest stat -c %a:%U:%G /etc/keryu/keryu.env)" = "640:root:keryu" ] || fail "/etc/keryu/keryu.env is not root:keryu 0640"
guest id keryu >/dev/null || fail "no keryu user"
guest /opt/keryu/venv/bin/python -c "'import sys; assert sys.base_prefix != sys.prefix'" || fail "no /opt/keryu/venv"
grep -q '^include-system-site-packages = true' "$ROOT/opt/keryu/venv/pyvenv.cfg" || fail "the venv does not see the system's packages (picamera2)"
# The services run at -OO from read-only files: their bytecode was written at install.
guest env PYTHONOPTIMIZE=2 /opt/keryu/venv/bin/python -c "'import appliance, os, importlib.util as u; raise SystemExit(not all(os.path.isfile(u.cache_from_source(m.__file__)) for m in (appliance, os)))'" ||
    fail "no -OO bytecode for the services in /opt/keryu/venv or the standard library"
[ "$(guest stat -c %a:%U /var/lib/keryu)" = 700:keryu ] || fail "/var/lib/keryu is not the keryu user's alone (0700)"
[ "$(guest systemctl is-active keryu.target)" = active ] || fail "keryu.target is not active"
guest systemctl is-enabled keryu.target redis-server.service avahi-daemon.service >/dev/null || fail "not enabled"
say "ok: user, venv (system site packages), keryu.env 0640, /var/lib/keryu 0700, keryu.target active and enabled"
wait_for 120 "/api/health answers on port 80 (the device's default)" curl -fsS --max-time 5 http://127.0.0.1:80/api/health

# --- The image's checks: settings as an owner writes them, health ok, a card becomes an alarm ---
WEB_PORT=$(free_port)
STANDIN_PORT=$(free_port)
meta_token="EAAGtest$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
meta_id=104857600000042
twilio_sid="AC$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
twilio_token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
cat >>"$ROOT/etc/keryu/keryu.env" <<ENV
KERYU_WEB_PORT=$WEB_PORT
KERYU_LOCATION="nspawn install test"
KERYU_CAMERA=dir:/var/lib/keryu/camera
GPIOZERO_PIN_FACTORY=mock
WHATSAPP_API_URL=http://127.0.0.1:$STANDIN_PORT/v23.0
WHATSAPP_PHONE_NUMBER_ID=$meta_id
WHATSAPP_ACCESS_TOKEN=$meta_token
TWILIO_API_URL=http://127.0.0.1:$STANDIN_PORT
TWILIO_ACCOUNT_SID=$twilio_sid
TWILIO_AUTH_TOKEN=$twilio_token
TWILIO_PHONE_NUMBER=+15005550006
ENV
start_standin
guest systemctl restart keryu.target
wait_for 180 "/api/health ok on port $WEB_PORT" health_ok
failed=$(guest systemctl list-units --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')
[ -z "$failed" ] || fail "failed units: $failed"
say "ok: no failed unit"
# systemd warns at each start when a unit's StateDirectoryMode= is not the folder's (keryu init's).
guest journalctl -b --no-pager | grep "already exists but the mode is different" >&2 && fail "the units and keryu init disagree on /var/lib/keryu's mode"
first=$(show_card "Ana Prueba" +5215512345678 | tail -n1)
[ -n "$first" ] || fail "no alarm for the card"
wait_for 120 "alarm $first delivered to the stand-in" delivered "$first"
[ "$(standin_sends_to "Ana Prueba")" = 1 ] || fail "the stand-in did not get exactly one message for alarm $first"
say "ok: one card shown to the camera, one message sent"

# --- The Tools page on the real units --------------------------------------------------------
jar=$WORK/cookies
site=http://127.0.0.1:$WEB_PORT
csrf() { curl -fsS -b "$jar" -c "$jar" "$site$1" | grep -o 'name="csrf_token" value="[^"]*"' | head -n1 | cut -d'"' -f4; }
code=$(guest keryu setup-code)
token=$(csrf /setup)
curl -fsS -o /dev/null -b "$jar" -c "$jar" --data-urlencode "csrf_token=$token" --data-urlencode "setup_code=$code" \
    --data-urlencode "password=install test password" --data-urlencode "confirm=install test password" "$site/setup"
token=$(csrf /login)
curl -fsS -o /dev/null -b "$jar" -c "$jar" --data-urlencode "csrf_token=$token" --data-urlencode "password=install test password" "$site/login"
token=$(csrf /tools)
[ -n "$token" ] || fail "not logged in: no form on /tools"
curl -sS -b "$jar" -c "$jar" --data-urlencode "csrf_token=$token" "$site/tools/selftest" >"$WORK/selftest.html"
# No GPIO in a container: the scanner answers, and says its pins are simulated (a failed self-test).
grep -q 'data-field="selftest"' "$WORK/selftest.html" || fail "the scanner did not answer the self-test"
grep -q 'data-field="simulated"' "$WORK/selftest.html" || fail "the self-test does not say the pins are simulated"
grep -q 'data-field="snapshot"' "$WORK/selftest.html" || fail "the self-test shows no snapshot"
say "ok: self-test from the page answered by the scanner, with its snapshot"
curl -fsS -b "$jar" -c "$jar" --data-urlencode "csrf_token=$token" "$site/tools/logs" >"$WORK/logs.txt"
grep -q "From the systemd journal" "$WORK/logs.txt" || fail "the log download did not read the journal"
grep -q "keryu-web" "$WORK/logs.txt" || fail "the log download holds no keryu-web lines"
grep -qF "$meta_token" "$WORK/logs.txt" && fail "the log download shows the WhatsApp token"
grep -q "5512345678" "$WORK/logs.txt" && fail "the log download shows a whole phone number"
say "ok: logs of the day from the journal ($(wc -l <"$WORK/logs.txt") lines), no token, no whole phone number"
before=$(guest systemctl show -p InvocationID --value keryu-web.service)
curl -fsS -o /dev/null -b "$jar" -c "$jar" --data-urlencode "csrf_token=$token" "$site/tools/power/restart"
restarted() { [ "$(guest systemctl show -p InvocationID --value keryu-web.service)" != "$before" ] && health_ok; }
wait_for 120 "Restart the services carried out by keryu-power@restart.service" restarted
guest test ! -e /run/keryu-power/restart || fail "the restart request was left behind"

# --- sudo ./startup.sh uninstall ----------------------------------------------------------------
guest 'cd /root/keryu && ./startup.sh uninstall' >"$WORK/uninstall.log" 2>&1 || {
    cat "$WORK/uninstall.log" >&2
    fail "startup.sh uninstall failed"
}
[ -z "$(guest systemctl list-unit-files --no-legend "'keryu*'")" ] || fail "keryu units left after uninstall"
guest test ! -e /opt/keryu || fail "/opt/keryu left after uninstall"
guest test ! -e /usr/local/bin/keryu || fail "the keryu command left after uninstall"
guest id keryu >/dev/null 2>&1 && fail "the keryu user left after uninstall"
guest test -s /var/lib/keryu/keryu.db || fail "uninstall removed the database"
grep -q "kept (your data): /var/lib/keryu" "$WORK/uninstall.log" || fail "uninstall did not name the data it kept"
say "ok: uninstall removed units, venv, user and command; kept and named /var/lib/keryu"
say "PASS: install on plain Debian $SUITE (boot ${boot_seconds} s, install ${install_seconds} s, total $(($(date +%s) - started)) s)"
