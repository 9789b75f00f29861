# shellcheck shell=bash
# The processes startup.sh manages: a local Redis when none answers, and the keryu services,
# each detached in its own session with a pid file in $RUN_DIR and a log in $LOG_DIR.

# Start order; stop runs it backwards so nothing is left without its broker. The worker runs the
# scheduler (beat) as a thread; a `keryu beat` that an older startup.sh started is still stopped.
SERVICES=(worker scanner web)
RETIRED_SERVICES=(beat)
KERYU=.venv/bin/keryu

# redis_local_port: print the port of REDIS_URL when it names this machine, fail otherwise.
redis_local_port() {
	local url=${REDIS_URL:-redis://localhost:6379/0}
	[[ $url =~ ^redis://([^@/]*@)?(localhost|127\.0\.0\.1)(:([0-9]+))?(/.*)?$ ]] || return 1
	printf '%s\n' "${BASH_REMATCH[4]:-6379}"
}

# redis_password: the password in REDIS_URL (redis://:PASSWORD@host...), if any.
redis_password() {
	[[ ${REDIS_URL:-} =~ ^redis://[^:@/]*:([^@/]*)@ ]] && printf '%s\n' "${BASH_REMATCH[1]}"
}

# redis_answers PORT: a Redis server answers PING on 127.0.0.1:PORT (+PONG, or an error such
# as -NOAUTH, which still proves it is Redis).
redis_answers() {
	# shellcheck disable=SC2016 # the script expands its own $0 and $reply
	timeout 3 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
		printf "PING\r\n" >&3
		IFS= read -r -t 2 reply <&3 || exit 1
		[[ $reply == [+-]* ]]' "$1" 2>/dev/null
}

# start_redis: when REDIS_URL is local and nothing answers, run redis-server bound to 127.0.0.1,
# its data and pid file under KERYU_DATA_DIR, so that `./startup.sh stop` can stop it again.
start_redis() {
	local port pid password
	if ! port=$(redis_local_port); then
		say "Redis: REDIS_URL is not redis://localhost or 127.0.0.1; not starting one here"
		return 0
	fi
	if pid=$(read_pid "$RUN_DIR/redis.pid") && is_ours "$pid" redis-server && redis_answers "$port"; then
		say "Redis: already running on port $port (pid $pid, started by startup.sh)"
		return 0
	fi
	if redis_answers "$port"; then
		say "Redis: a server already answers on port $port; using it"
		rm -f "$RUN_DIR/redis.pid"
		return 0
	fi
	port_open "$port" && die "port $port (from REDIS_URL) is taken by something that is not Redis"
	command -v redis-server >/dev/null ||
		die "nothing answers at REDIS_URL and redis-server is not installed: apt-get install redis-server, or point REDIS_URL at a running Redis"
	if [[ -e $RUN_DIR/redis.pid ]]; then
		say "redis: clearing stale pid file (pid ${pid:-?} is not our redis-server)"
		rm -f "$RUN_DIR/redis.pid"
	fi
	mkdir -p "$KERYU_DATA_DIR/redis"
	say "Redis: starting redis-server on 127.0.0.1:$port (log $LOG_DIR/redis.log)"
	# shellcheck disable=SC2094 # redis-server writes its log itself once daemonized; early errors go there too
	# The configuration comes on stdin ("-") so that a password never shows in `ps`.
	redis-server - --port "$port" --bind 127.0.0.1 --daemonize yes \
		--pidfile "$RUN_DIR/redis.pid" --logfile "$LOG_DIR/redis.log" --dir "$KERYU_DATA_DIR/redis" \
		< <(if password=$(redis_password); then printf 'requirepass "%s"\n' "$password"; fi) \
		>>"$LOG_DIR/redis.log" 2>&1 9>&- || die "redis-server failed to start; see $LOG_DIR/redis.log"
	for _ in {1..50}; do
		redis_answers "$port" && return 0
		sleep 0.2
	done
	die "redis-server does not answer on port $port after 10 s; see $LOG_DIR/redis.log"
}

# has_command CMD: `keryu CMD` exists in this checkout. Each keryu call costs a Python start
# (seconds on a Pi), so the command list of one `keryu --help` is read first and kept; a name
# missing there is still tried with `keryu CMD --help`, so a change of help layout costs time,
# never a wrongly skipped service.
declare -A COMMAND_AVAILABLE=()
has_command() {
	local cmd=$1
	if [[ -z ${HELP_COMMANDS+set} ]]; then
		local help
		if help=$("$KERYU" --help 2>&1); then
			HELP_COMMANDS=$(awk '/^    [a-z][-a-z]*( |$)/ {print $1}' <<<"$help")
		else
			HELP_COMMANDS=""
			warn "\`keryu --help\` fails (${help##*$'\n'}); every service that needs it is skipped"
		fi
	fi
	if [[ -z ${COMMAND_AVAILABLE[$cmd]:-} ]]; then
		if grep -qxF -- "$cmd" <<<"$HELP_COMMANDS" || "$KERYU" "$cmd" --help >/dev/null 2>&1; then
			COMMAND_AVAILABLE[$cmd]=yes
		else
			COMMAND_AVAILABLE[$cmd]=no
		fi
	fi
	[[ ${COMMAND_AVAILABLE[$cmd]} == yes ]]
}

# start_service SVC: run `keryu SVC` detached, unless it already runs. setsid makes it the
# leader of its own process group, so stop can signal it with everything it spawned; fd 9 (our
# lock) is closed so that a running service never holds the single-instance lock.
start_service() {
	local svc=$1 pidfile="$RUN_DIR/$1.pid" log="$LOG_DIR/$1.log" pid
	if pid=$(read_pid "$pidfile") && is_ours "$pid" "keryu $svc"; then
		say "$svc: already running (pid $pid)"
		return 0
	fi
	if [[ -e $pidfile ]]; then
		say "$svc: clearing stale pid file (pid ${pid:-?} is not running keryu $svc)"
		rm -f "$pidfile"
	fi
	if ! has_command "$svc"; then
		say "$svc: skipped, \`keryu $svc\` is not available in this checkout yet (keryu $svc --help fails)"
		return 0
	fi
	if [[ $svc == web ]] && port_open "${KERYU_WEB_PORT:-8080}"; then
		warn "web: port ${KERYU_WEB_PORT:-8080} is already in use; set KERYU_WEB_PORT to a free port"
		STARTUP_FAILED+=("web")
		return 0
	fi
	# Logs grow while the kiosk runs; one older generation is kept past 10 MB.
	if [[ -f $log ]] && (($(stat -c %s "$log") > 10485760)); then
		mv -f "$log" "$log.1"
	fi
	printf '\n=== %s startup.sh: keryu %s ===\n' "$(date -Is)" "$svc" >>"$log"
	# As the systemd units run them: two malloc arenas, -OO bytecode (no docstrings in memory).
	MALLOC_ARENA_MAX=2 PYTHONOPTIMIZE=2 setsid "$KERYU" "$svc" </dev/null >>"$log" 2>&1 9>&- &
	pid=$!
	printf '%s\n' "$pid" >"$pidfile"
	say "$svc: started (pid $pid, log $log)"
	STARTED+=("$svc")
}

# check_started [GRACE]: a service started by this run that has died since (after GRACE seconds)
# is reported with its log's tail and counted as failed; STARTED keeps the live ones.
check_started() {
	local svc pid alive=()
	((${#STARTED[@]})) || return 0
	sleep "${1:-0}"
	for svc in "${STARTED[@]}"; do
		if pid=$(read_pid "$RUN_DIR/$svc.pid") && is_ours "$pid" "keryu $svc"; then
			alive+=("$svc")
			continue
		fi
		warn "$svc exited after starting; the end of $LOG_DIR/$svc.log:"
		tail -n 15 "$LOG_DIR/$svc.log" >&2 || true
		rm -f "$RUN_DIR/$svc.pid"
		STARTUP_FAILED+=("$svc")
	done
	STARTED=("${alive[@]}")
}

# stop_all: the services in reverse order, then the Redis startup.sh started (never another one).
stop_all() {
	local i svc
	for svc in "${RETIRED_SERVICES[@]}"; do
		stop_pidfile "$svc" "$RUN_DIR/$svc.pid" "keryu $svc"
	done
	for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
		stop_pidfile "${SERVICES[i]}" "$RUN_DIR/${SERVICES[i]}.pid" "keryu ${SERVICES[i]}"
	done
	stop_pidfile redis "$RUN_DIR/redis.pid" redis-server
}

# print_process_table: one line per managed process, as the pid files and /proc see it.
# Returns 1 when a service that exists in this checkout is not running.
print_process_table() {
	local svc pid port rc=0
	for svc in "${SERVICES[@]}"; do
		if pid=$(read_pid "$RUN_DIR/$svc.pid") && is_ours "$pid" "keryu $svc"; then
			printf '  %-8s running (pid %s)\n' "$svc" "$pid"
		elif ! has_command "$svc"; then
			printf '  %-8s not available in this checkout\n' "$svc"
		else
			printf '  %-8s stopped%s\n' "$svc" "$([[ -e $RUN_DIR/$svc.pid ]] && echo ' (stale pid file)')"
			rc=1
		fi
	done
	if pid=$(read_pid "$RUN_DIR/redis.pid") && is_ours "$pid" redis-server; then
		printf '  %-8s running (pid %s, started by startup.sh)\n' redis "$pid"
	elif port=$(redis_local_port) && redis_answers "$port"; then
		printf '  %-8s answering on port %s (not started by startup.sh)\n' redis "$port"
	elif redis_local_port >/dev/null; then
		printf '  %-8s not answering\n' redis
		rc=1
	else
		# Without the credentials a URL may carry.
		printf '  %-8s remote (%s)\n' redis "$(sed -E 's#//[^@/]*@#//#' <<<"$REDIS_URL")"
	fi
	return "$rc"
}
