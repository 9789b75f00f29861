#!/usr/bin/env bash
# startup.sh: set up and run the Keryu kiosk from a checkout (development and demo; a device
# runs the same services under systemd instead).
#
#   ./startup.sh [start]       install what is missing, start Redis (if local), worker (with
#                              the beat), scanner and web, print a health summary and admin URL
#   ./startup.sh stop          stop everything this script started, Redis included
#   ./startup.sh status        which services run, then `keryu status`
#   ./startup.sh restart       stop, then start
#   ./startup.sh test [ARGS]   install the test needs, then ruff, lint-imports and pytest ARGS
#   ./startup.sh i18n          extract, update, fill English and compile the translation catalogs
#   sudo ./startup.sh install  install the kiosk as systemd services (Debian, Raspberry Pi OS)
#   sudo ./startup.sh uninstall  remove them again; the data and keryu.env are kept
#
# Settings come from the environment, then .env, then /etc/keryu/keryu.env (the contract's
# order). Pid files, the lock and logs live under $KERYU_DATA_DIR/run and $KERYU_DATA_DIR/logs.
# KERYU_SKIP_INSTALL=1 skips the apt and pip steps (the venv must exist); KERYU_STOP_TIMEOUT
# (20 s) bounds a graceful stop; KERYU_HEALTH_WAIT (30 s) bounds the wait for a healthy kiosk.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
# shellcheck source=scripts/startup/common.sh
source scripts/startup/common.sh
# shellcheck source=scripts/startup/install.sh
source scripts/startup/install.sh
# shellcheck source=scripts/startup/services.sh
source scripts/startup/services.sh
# shellcheck source=scripts/startup/i18n.sh
source scripts/startup/i18n.sh
# shellcheck source=scripts/startup/system.sh
source scripts/startup/system.sh

STARTED=()
STARTUP_FAILED=()

usage() {
	printf 'usage:\n'
	sed -n '5,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# setup_environment: load the env files and settle the paths every service must agree on.
setup_environment() {
	load_env_file .env
	load_env_file /etc/keryu/keryu.env
	# Absolute, so that every service and a later `stop` mean the same directory.
	KERYU_DATA_DIR=$(realpath -m "${KERYU_DATA_DIR:-./data}")
	export KERYU_DATA_DIR
	RUN_DIR=$KERYU_DATA_DIR/run
	LOG_DIR=$KERYU_DATA_DIR/logs
	# The data folder holds the database and its secrets: the owner's alone (keryu init checks it too).
	mkdir -p "$KERYU_DATA_DIR"
	chmod 0700 "$KERYU_DATA_DIR" || warn "cannot make $KERYU_DATA_DIR readable by its owner only (chmod 0700)"
	mkdir -p "$RUN_DIR" "$LOG_DIR"
}

# take_lock: one startup.sh at a time per data directory. The lock is fd 9, held until this
# script exits; services are started with fd 9 closed, so they never hold it.
take_lock() {
	[[ -n ${LOCKED:-} ]] && return 0
	exec 9>"$RUN_DIR/startup.lock"
	flock -n 9 || die "another ./startup.sh is already running for $KERYU_DATA_DIR (lock $RUN_DIR/startup.lock); wait for it to finish"
	LOCKED=1
}

# pi_camera_present: libcamera lists a camera (Raspberry Pi camera modules are not /dev/video0).
pi_camera_present() {
	local tool
	for tool in rpicam-hello libcamera-hello; do
		command -v "$tool" >/dev/null || continue
		timeout 10 "$tool" --list-cameras 2>/dev/null | grep -qE '^[[:space:]]*[0-9]+ :' && return 0
	done
	return 1
}

# choose_hardware: without a camera the scanner watches an inbox folder of image files, and off
# the Pi gpiozero uses its mock pins, so that the whole kiosk runs on any machine.
choose_hardware() {
	if [[ ${KERYU_CAMERA:-auto} == auto ]] && ! compgen -G '/dev/video*' >/dev/null && ! pi_camera_present; then
		export KERYU_CAMERA="dir:$KERYU_DATA_DIR/inbox"
		mkdir -p "$KERYU_DATA_DIR/inbox"
		say "no camera found (no /dev/video*, no Pi camera): using KERYU_CAMERA=$KERYU_CAMERA; image files put there are scanned"
	fi
	if [[ -z ${GPIOZERO_PIN_FACTORY:-} ]] && ! on_raspberry_pi; then
		export GPIOZERO_PIN_FACTORY=mock
		say "not a Raspberry Pi: using GPIOZERO_PIN_FACTORY=mock (LED and buzzer are simulated)"
	fi
}

# running_services: the services whose pid file points to a live process of ours.
running_services() {
	local svc pid
	for svc in "${SERVICES[@]}"; do
		pid=$(read_pid "$RUN_DIR/$svc.pid") && is_ours "$pid" "keryu $svc" && printf '%s\n' "$svc"
	done
	return 0
}

# components_ok NAME...: `keryu status --json` reports each named component "ok".
components_ok() {
	{ "$KERYU" status --json 2>/dev/null 9>&- || true; } | .venv/bin/python -c '
import json, sys
try:
    components = json.load(sys.stdin)["components"]
except (ValueError, KeyError, TypeError):
    sys.exit(1)
sys.exit(0 if all(components.get(name, {}).get("status") == "ok" for name in sys.argv[1:]) else 1)
' "$@"
}

# health_summary: wait until the database, Redis and the running services report ok (a worker
# answers pings and the beat ticks a few seconds after they start), then print `keryu status`.
health_summary() {
	local wanted components deadline=$((SECONDS + ${KERYU_HEALTH_WAIT:-30}))
	if ! has_command status; then
		say "health: \`keryu status\` is not available in this checkout yet; processes:"
		print_process_table || true
		return 0
	fi
	mapfile -t wanted < <(running_services)
	components=("${wanted[@]}")
	# The worker runs the beat, whose heartbeat comes with the first job it schedules.
	[[ " ${wanted[*]} " == *" worker "* ]] && components+=(beat)
	say "waiting up to ${KERYU_HEALTH_WAIT:-30} s for database, redis ${components[*]} to report ok"
	until components_ok database redis "${components[@]}"; do
		# Stop waiting at the deadline, or as soon as a service has died.
		if ((SECONDS >= deadline)) || [[ $(running_services | wc -l) -ne ${#wanted[@]} ]]; then
			break
		fi
		sleep 2
	done
	say "health summary (keryu status):"
	"$KERYU" status 9>&- || warn "keryu status reports a problem; see above and the logs in $LOG_DIR"
}

# admin_url: where to open the admin page from another machine on the LAN.
admin_url() {
	local host=${KERYU_WEB_HOST:-0.0.0.0} port=${KERYU_WEB_PORT:-8080}
	if [[ $host == 0.0.0.0 || $host == "::" ]]; then
		host=$(hostname -I 2>/dev/null | awk '{print $1}')
		host=${host:-$(hostname)}
	fi
	if running_services | grep -qx web; then
		say "admin page: http://$host:$port/ (on this machine: http://localhost:$port/)"
	else
		say "admin page: not running (would be http://$host:$port/)"
	fi
	setup_code_hint "http://$host:$port"
}

# setup_code_hint URL: before an admin password exists, the code that claims the kiosk on /setup
# (`keryu setup-code` fails once a password is set, and then nothing is shown).
setup_code_hint() {
	local code
	has_command setup-code || return 0
	code=$("$KERYU" setup-code 2>/dev/null 9>&-) || return 0
	say "first-run setup: open $1/setup and type the setup code $code"
}

cmd_start() {
	take_lock
	install_everything run
	choose_hardware
	# init needs no Redis, and checks the configuration: a wrong setting stops here, before
	# anything has been started.
	if has_command init; then
		say "keryu init (create or migrate the database)"
		"$KERYU" init 9>&- || die "keryu init failed; see the message above"
	else
		warn "\`keryu init\` is not available in this checkout yet; database not initialised"
	fi
	start_redis
	local svc
	for svc in "${SERVICES[@]}"; do
		start_service "$svc"
	done
	check_started "${KERYU_START_GRACE:-2}"
	health_summary
	check_started
	admin_url
	((${#STARTUP_FAILED[@]} == 0)) || die "did not start: ${STARTUP_FAILED[*]} (logs in $LOG_DIR)"
}

cmd_stop() {
	take_lock
	stop_all
	say "stopped"
}

cmd_status() {
	local rc=0
	say "processes (pid files in $RUN_DIR):"
	print_process_table || rc=1
	if [[ -x $KERYU ]] && has_command status; then
		"$KERYU" status || rc=1
	fi
	return "$rc"
}

cmd_restart() {
	take_lock
	stop_all
	cmd_start
}

# cmd_test ARGS: what CI runs. Every step runs even if an earlier one failed, so one CI log shows
# all problems; the exit status is non-zero if any failed (pytest's 5, no tests collected, too).
cmd_test() {
	local ruff_rc=0 imports_rc=0 pytest_rc=0
	install_everything test
	add_postgres_to_path
	mkdir -p test-artifacts
	say "ruff check ."
	.venv/bin/ruff check . || ruff_rc=$?
	say "lint-imports (layers contract from pyproject.toml)"
	.venv/bin/lint-imports || imports_rc=$?
	say "pytest $*"
	.venv/bin/pytest -ra --durations=15 --junitxml=test-artifacts/junit.xml "$@" || pytest_rc=$?
	((pytest_rc == 5)) && warn "pytest collected no tests; that counts as a failure"
	say "summary: ruff $ruff_rc, lint-imports $imports_rc, pytest $pytest_rc (0 = passed; JUnit XML in test-artifacts/junit.xml)"
	((ruff_rc == 0 && imports_rc == 0 && pytest_rc == 0))
}

main() {
	local command=${1:-start}
	(($#)) && shift
	case $command in
	start | stop | status | restart)
		(($# == 0)) || {
			usage >&2
			exit 2
		}
		setup_environment
		"cmd_$command"
		;;
	i18n)
		install_everything run
		cmd_i18n
		;;
	install | uninstall)
		(($# == 0)) || {
			usage >&2
			exit 2
		}
		"cmd_$command"
		;;
	test)
		# The suite sets its own environment; a developer's .env (real tokens) is not loaded.
		cmd_test "$@"
		;;
	-h | --help | help) usage ;;
	*)
		printf 'startup: unknown command %q\n' "$command" >&2
		usage >&2
		exit 2
		;;
	esac
}

main "$@"
