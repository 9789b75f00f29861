# shellcheck shell=bash
# Helpers shared by startup.sh: messages, env files and "is this pid really ours?".
# Sourced, never run; expects `set -euo pipefail` from the caller.

say() { printf 'startup: %s\n' "$*"; }
warn() { printf 'startup: warning: %s\n' "$*" >&2; }
die() {
	printf 'startup: error: %s\n' "$*" >&2
	exit 1
}

# load_env_file FILE: export the KEY=VALUE lines of FILE whose KEY is not set yet, so that the
# process environment wins over .env, which wins over /etc/keryu/keryu.env (the contract's order).
# Parsed, not sourced: an env file is data, and a stray `$(...)` in it must not run.
load_env_file() {
	local file=$1 line key value
	[[ -r $file ]] || return 0
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line%$'\r'}
		[[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=[[:space:]]*(.*)$ ]] || continue
		key=${BASH_REMATCH[2]}
		value=${BASH_REMATCH[3]}
		if [[ $value =~ ^\"(.*)\"[[:space:]]*(#.*)?$ || $value =~ ^\'(.*)\'[[:space:]]*(#.*)?$ ]]; then
			value=${BASH_REMATCH[1]}
		else
			value=${value%%[[:space:]]#*}          # an unquoted value ends at " #", as python-dotenv reads it
			value=${value%"${value##*[![:space:]]}"} # and loses its trailing blanks
		fi
		[[ -v $key ]] && continue
		export "$key=$value"
	done <"$file"
}

# read_pid FILE: print the pid stored in FILE, or fail when there is none.
read_pid() {
	local pid
	[[ -r $1 ]] && read -r pid <"$1" && [[ $pid =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
}

# is_ours PID WORD: PID is alive, its command line contains WORD and it belongs to our data
# directory: started with our KERYU_DATA_DIR in its environment, or (redis-server, whose process
# title overwrites its environment) working in a folder under it. A pid file can outlive its
# process and the pid be reused by anything else; only a process passing these checks is signalled.
is_ours() {
	local pid=$1 word=$2 cwd
	[[ -r /proc/$pid/cmdline ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$word" || return 1
	tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF -- "KERYU_DATA_DIR=$KERYU_DATA_DIR" && return 0
	cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) && [[ $cwd == "$KERYU_DATA_DIR"/* ]]
}

# group_alive PGID: some process of the process group PGID still exists (zombies excluded).
group_alive() {
	# /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces, so cut at the last ")".
	cat /proc/[0-9]*/stat 2>/dev/null |
		awk -v pgid="$1" '{ sub(/^.*\) /, ""); if ($3 == pgid && $1 != "Z") found = 1 } END { exit !found }'
}

# stop_pidfile NAME PIDFILE WORD: TERM the process group in PIDFILE when it is ours, wait up to
# KERYU_STOP_TIMEOUT seconds (a worker finishes the send it holds), then KILL what is left.
stop_pidfile() {
	local name=$1 pidfile=$2 word=$3 pid deadline
	if ! pid=$(read_pid "$pidfile"); then
		rm -f "$pidfile"
		return 0
	fi
	if ! is_ours "$pid" "$word"; then
		say "$name: clearing stale pid file (pid $pid is not our $name)"
		rm -f "$pidfile"
		return 0
	fi
	say "stopping $name (pid $pid)"
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	deadline=$((SECONDS + ${KERYU_STOP_TIMEOUT:-20}))
	while group_alive "$pid" || is_ours "$pid" "$word"; do
		if ((SECONDS >= deadline)); then
			warn "$name did not stop within ${KERYU_STOP_TIMEOUT:-20} s; killing it"
			kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
			sleep 0.5
			break
		fi
		sleep 0.2
	done
	rm -f "$pidfile"
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	# shellcheck disable=SC2016 # $0 expands in the inner bash, on purpose
	timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" 2>/dev/null
}
