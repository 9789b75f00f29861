# shellcheck shell=bash
# `sudo ./startup.sh install|uninstall`: the kiosk as systemd services on an existing Debian or
# Raspberry Pi OS (bookworm or newer), with the SD image's units, user and paths. This is the
# path for Raspberry Pi Camera Module owners: Raspberry Pi OS has the Pi's camera stack
# (libcamera, python3-picamera2) that Debian's own packages lack, and the venv is made with
# --system-site-packages so that it sees it. Sourced by startup.sh; expects `set -euo pipefail`.

SYSTEM_VENV=/opt/keryu/venv
SYSTEM_ENV=/etc/keryu/keryu.env
SYSTEM_DATA=/var/lib/keryu
SYSTEM_UNIT_DIR=/etc/systemd/system
IMAGE_ROOTFS=image/files/rootfs
# The image's units an installed system runs. Not the first-boot units of the SD image:
# keryu-growfs would repartition the owner's card, keryu-boot-config would take over Wi-Fi and
# SSH that the owner's system already manages, keryu-setup-code writes to the image's boot
# partition (the install prints the code instead).
SYSTEM_UNITS=(keryu.target keryu-init.service keryu-web.service keryu-scanner.service keryu-worker.service
	keryu-beat.service keryu-power@.service keryu-power-restart.path keryu-power-reboot.path)
ENABLED_UNITS=(keryu.target keryu-init.service keryu-web.service keryu-scanner.service keryu-worker.service
	keryu-power-restart.path keryu-power-reboot.path)
# Files copied from the image's root file system, by their path on the target.
SYSTEM_FILES=(
	/usr/lib/sysusers.d/keryu.conf     # the keryu user and the gpio group
	/usr/lib/tmpfiles.d/keryu.conf     # /var/lib/keryu and its camera folder
	/usr/local/bin/keryu               # `keryu` for the administrator, run as user keryu
	/etc/redis/keryu.conf              # Redis as the kiosk's broker, loopback only
	/etc/avahi/services/keryu-http.service # the admin page in network browsers
	/etc/udev/rules.d/60-keryu-gpio.rules  # GPIO chips to group gpio
)
SYSTEM_PACKAGES=(python3 python3-venv redis-server avahi-daemon libnss-mdns)

# system_preflight: root, systemd as init, apt: what the install needs, each refusal one sentence.
system_preflight() {
	[[ $EUID -eq 0 ]] || die "run it as root: sudo ./startup.sh $1"
	[[ -d /run/systemd/system ]] || die "systemd is not running as init here; the kiosk's services need it"
	command -v apt-get >/dev/null || die "apt-get not found: install works on Debian and Raspberry Pi OS only"
}

# first_available PKG...: the first package name apt knows (libzbar0 was renamed libzbar0t64 in trixie).
first_available() {
	local pkg
	for pkg in "$@"; do
		apt-cache show "$pkg" >/dev/null 2>&1 && {
			printf '%s\n' "$pkg"
			return 0
		}
	done
	return 1
}

# system_packages: Debian's Python, Redis, Avahi and zbar; the Pi camera's Python bindings
# where the release has them (Raspberry Pi OS: python3-picamera2; Debian: python3-libcamera only).
system_packages() {
	local wanted=("${SYSTEM_PACKAGES[@]}") pkg
	export DEBIAN_FRONTEND=noninteractive
	say "apt-get update and install: ${wanted[*]} (and zbar, the Pi camera stack where available)"
	apt-get update -q
	pkg=$(first_available libzbar0t64 libzbar0) || die "neither libzbar0t64 nor libzbar0 is known to apt"
	wanted+=("$pkg")
	for pkg in python3-picamera2 python3-libcamera; do
		apt-cache show "$pkg" >/dev/null 2>&1 && wanted+=("$pkg")
	done
	apt-get install -y -q --no-install-recommends "${wanted[@]}"
}

# system_venv: /opt/keryu/venv from this checkout (not editable: the checkout may go away),
# seeing the system's site-packages so that picamera2 from apt imports.
system_venv() {
	local spec=.
	on_raspberry_pi && spec=".[pi]"
	say "creating $SYSTEM_VENV (--system-site-packages) and installing keryu from $(pwd) (a few minutes)"
	install -d -m 0755 "$(dirname "$SYSTEM_VENV")"
	python3 -m venv --clear --system-site-packages "$SYSTEM_VENV"
	"$SYSTEM_VENV/bin/python" -m pip install --disable-pip-version-check --no-cache-dir --progress-bar off "$spec" ||
		die "pip install into $SYSTEM_VENV failed; see the messages above"
	# The units run the services at -OO from a read-only /opt and /usr: their bytecode is written
	# now, the venv's and the system Python's standard library's (Debian compiles only the plain
	# level), as the SD image does.
	"$SYSTEM_VENV/bin/python" -m compileall -q -j 0 -o 2 "$SYSTEM_VENV/lib" >/dev/null ||
		warn "some modules of $SYSTEM_VENV did not compile to -OO bytecode"
	"$SYSTEM_VENV/bin/python" -m compileall -q -j 0 -o 2 -x '/(test|tests|idlelib|lib2to3)/' \
		"$("$SYSTEM_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')" >/dev/null ||
		warn "some modules of the standard library did not compile to -OO bytecode"
	"$SYSTEM_VENV/bin/keryu" --version >/dev/null
}

# system_files: the image's files, the keryu user and folders, the env file (kept if present).
system_files() {
	local path
	for path in "${SYSTEM_FILES[@]}"; do
		install -D -m 0644 "$IMAGE_ROOTFS$path" "$path"
	done
	chmod 0755 /usr/local/bin/keryu
	systemd-sysusers /usr/lib/sysusers.d/keryu.conf
	systemd-tmpfiles --create /usr/lib/tmpfiles.d/keryu.conf
	# A reinstall finds the data of an earlier one, maybe from a keryu user with another uid.
	chown -R keryu:keryu "$SYSTEM_DATA"
	udevadm control --reload 2>/dev/null || true
	udevadm trigger --subsystem-match=gpio 2>/dev/null || true
	grep -q '^include /etc/redis/keryu.conf' /etc/redis/redis.conf ||
		echo 'include /etc/redis/keryu.conf' >>/etc/redis/redis.conf
	install -d -m 0755 "$(dirname "$SYSTEM_ENV")"
	if [[ -e $SYSTEM_ENV ]]; then
		say "keeping the existing $SYSTEM_ENV"
	else
		install -m 0640 "$IMAGE_ROOTFS/usr/share/keryu/device.env" "$SYSTEM_ENV"
		say "wrote $SYSTEM_ENV (the SD image's defaults: port 80, KERYU_CAMERA=auto); add your tokens there"
	fi
	chown root:keryu "$SYSTEM_ENV"
	chmod 0640 "$SYSTEM_ENV"
	install -d -m 0755 /usr/share/doc/keryu
	install -m 0644 docs/appliance.md docs/security.md /usr/share/doc/keryu/
}

# system_units: the repository's own unit files, enabled and started.
system_units() {
	local unit
	for unit in "${SYSTEM_UNITS[@]}"; do
		install -m 0644 "systemd/$unit" "$SYSTEM_UNIT_DIR/$unit"
	done
	systemctl daemon-reload
	systemctl enable redis-server.service avahi-daemon.service "${ENABLED_UNITS[@]}"
	systemctl restart redis-server.service
	systemctl restart keryu.target
}

# system_answers: `keryu status --json` (exit 1 while any part is not ok) reports the web page,
# the database and Redis ok.
system_answers() {
	{ /usr/local/bin/keryu status --json 2>/dev/null || true; } | python3 -c '
import json, sys
parts = json.load(sys.stdin)["components"]
sys.exit(0 if all(parts.get(name, {}).get("status") == "ok" for name in ("web", "database", "redis")) else 1)
'
}

cmd_install() {
	system_preflight install
	local started=$SECONDS code
	system_packages
	system_venv
	system_files
	system_units
	say "waiting up to 120 s for the admin page and the database to answer"
	for _ in $(seq 60); do
		system_answers && break
		sleep 2
	done
	# Without a camera (or its tokens) some parts stay degraded; the status says which.
	/usr/local/bin/keryu status || warn "not every part is ok yet; see the list above and: journalctl -u 'keryu-*'"
	say "installed in $((SECONDS - started)) s; the services run as user keryu (systemctl status keryu.target)"
	say "settings: $SYSTEM_ENV, data: $SYSTEM_DATA; remove with: sudo ./startup.sh uninstall"
	if code=$(/usr/local/bin/keryu setup-code 2>/dev/null); then
		say "first-run setup: open http://$(hostname).local/setup and type the setup code $code"
	fi
}

cmd_uninstall() {
	system_preflight uninstall
	local unit path
	say "stopping and disabling the kiosk's services"
	systemctl disable --now "${ENABLED_UNITS[@]}" keryu-beat.service 2>/dev/null || true
	for unit in "${SYSTEM_UNITS[@]}"; do
		rm -f "$SYSTEM_UNIT_DIR/$unit"
	done
	systemctl daemon-reload
	systemctl reset-failed 'keryu*' 2>/dev/null || true
	for path in "${SYSTEM_FILES[@]}"; do
		rm -f "$path"
	done
	sed -i '\|^include /etc/redis/keryu.conf$|d' /etc/redis/redis.conf 2>/dev/null || true
	systemctl try-restart redis-server.service avahi-daemon.service 2>/dev/null || true
	rm -rf /opt/keryu /usr/share/doc/keryu
	if id keryu >/dev/null 2>&1; then
		userdel keryu 2>/dev/null || warn "could not remove the user keryu (a process of it still runs?)"
	fi
	say "removed: the keryu services and units, $SYSTEM_VENV, the keryu user, the keryu command and its system files"
	say "kept (your data): $SYSTEM_DATA (the database keryu.db with subjects, cards and alarms) and $SYSTEM_ENV (your settings and tokens)"
	say "delete them too with: sudo rm -r $SYSTEM_DATA /etc/keryu"
	say "Debian packages installed for the kiosk stay (${SYSTEM_PACKAGES[*]}); remove with apt-get if nothing else uses them"
}
