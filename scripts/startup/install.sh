# shellcheck shell=bash
# What startup.sh installs: Debian packages (only as root; otherwise it says what to install)
# and the virtual environment at .venv, reinstalled only when pyproject.toml changes.

# Packages the kiosk runs with: the Celery broker and the zbar library behind pyzbar.
RUN_PACKAGES=(redis-server libzbar0)
# What the test suite adds: a throwaway PostgreSQL cluster, the browser for the admin-page
# tests and a font for it to lay text out with (chromium does not depend on one), an HTTP load
# generator for the benchmarks, shellcheck for this script, an MQTT broker for the Home
# Assistant publishing tests, and a C compiler with the kernel's headers to check the webcam's
# V4L2 structures against videodev2.h.
TEST_PACKAGES=(postgresql chromium fonts-dejavu-core wrk shellcheck mosquitto gcc libc6-dev)

# pick_python: the interpreter for the venv (PYTHON overrides), which must be 3.11 or newer.
pick_python() {
	local py=${PYTHON:-python3}
	command -v "$py" >/dev/null || die "$py not found; install Python 3.11 or newer (apt-get install python3)"
	"$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
		die "$("$py" --version 2>&1) is too old; Keryu needs Python 3.11 or newer (set PYTHON=...)"
	printf '%s\n' "$py"
}

# missing_packages PKG...: print the Debian packages of the list that are not installed.
missing_packages() {
	local pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$pkg"
	done
}

# ensure_system_packages MODE PYTHON: install the Debian packages MODE (run or test) needs.
ensure_system_packages() {
	local mode=$1 py=$2 missing=()
	local wanted=("${RUN_PACKAGES[@]}")
	[[ $mode == test ]] && wanted+=("${TEST_PACKAGES[@]}")
	# The venv needs ensurepip, which Debian ships apart from its python3.
	"$py" -c 'import ensurepip, venv' 2>/dev/null || wanted+=(python3-venv)
	# The Pi camera's Python bindings come from Debian, where the release has them.
	on_raspberry_pi && apt-cache show python3-libcamera >/dev/null 2>&1 && wanted+=(python3-libcamera)
	# systemd-analyze checks the unit files in the tests.
	[[ $mode == test ]] && ! command -v systemd-analyze >/dev/null && wanted+=(systemd)
	if ! command -v dpkg-query >/dev/null; then
		warn "not a Debian system: make sure these are installed: ${wanted[*]}"
		return 0
	fi
	mapfile -t missing < <(missing_packages "${wanted[@]}")
	((${#missing[@]})) || return 0
	if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
		say "installing Debian packages: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	else
		warn "missing Debian packages: ${missing[*]}"
		warn "install them with: sudo apt-get install -y ${missing[*]}"
	fi
}

# on_raspberry_pi: this machine is a Raspberry Pi (its device tree says so).
on_raspberry_pi() {
	grep -qs 'Raspberry Pi' /proc/device-tree/model
}

# database_url: KERYU_DATABASE_URL as the kiosk will see it (the process environment first,
# then ./.env, then /etc/keryu/keryu.env), empty for the default SQLite file.
database_url() {
	local file line
	if [[ -n ${KERYU_DATABASE_URL:-} ]]; then
		printf '%s\n' "$KERYU_DATABASE_URL"
		return
	fi
	for file in .env /etc/keryu/keryu.env; do
		line=$(grep -s '^[[:space:]]*KERYU_DATABASE_URL=' "$file" | tail -n 1) || continue
		line=${line#*=}
		line=${line%\"}
		line=${line#\"}
		printf '%s\n' "${line//\'/}"
		return
	done
}

# wanted_extras MODE: the pyproject extras MODE needs, comma-separated, "-" for none.
wanted_extras() {
	local extras=()
	[[ $1 == test ]] && extras+=(test)
	on_raspberry_pi && extras+=(pi)
	# A fleet's shared database (docs/fleet.md) needs the PostgreSQL driver.
	[[ $(database_url) == postgresql* ]] && extras+=(postgres)
	((${#extras[@]})) || extras=(-)
	(
		IFS=,
		printf '%s\n' "${extras[*]}"
	)
}

# extras_cover HAVE WANT: every extra of WANT was installed with HAVE.
extras_cover() {
	local item
	for item in ${2//,/ }; do
		[[ $item == - || ",$1," == *",$item,"* ]] || return 1
	done
}

# ensure_venv MODE PYTHON: .venv with keryu installed editable, with the extras MODE needs.
# A stamp in .venv holds the hash of pyproject.toml and setup.py (the install writes the version
# module and the catalogs) and the extras it was installed with, so an unchanged checkout starts
# in seconds.
ensure_venv() {
	local mode=$1 py=$2 stamp=.venv/.keryu-install-stamp want extras have_hash have_extras spec=. venv_flags=()
	want=$(cat pyproject.toml setup.py | sha256sum | cut -d' ' -f1)
	extras=$(wanted_extras "$mode")
	# On a Pi the camera stack (python3-libcamera) is a Debian package: the venv must see it.
	on_raspberry_pi && venv_flags+=(--system-site-packages)
	if ! .venv/bin/python -c 'import sys' 2>/dev/null; then
		say "creating the virtual environment .venv with $("$py" --version 2>&1)"
		"$py" -m venv --clear "${venv_flags[@]}" .venv || die "could not create .venv (on Debian: apt-get install python3-venv)"
	fi
	if [[ -r $stamp ]] && read -r have_hash have_extras <"$stamp" && [[ $have_hash == "$want" && -x .venv/bin/keryu ]] &&
		extras_cover "$have_extras" "$extras"; then
		say ".venv is up to date with pyproject.toml and setup.py"
		return 0
	fi
	[[ $extras != - ]] && spec=".[$extras]"
	say "installing keryu into .venv (pip install -e '$spec'; the first time takes a few minutes)"
	.venv/bin/python -m pip install --disable-pip-version-check --progress-bar off -e "$spec" ||
		die "pip install failed; see the messages above"
	compile_bytecode .venv/lib
	printf '%s %s\n' "$want" "$extras" >"$stamp"
}

# install_everything MODE: system packages, then the venv; KERYU_SKIP_INSTALL=1 only checks the venv.
install_everything() {
	local mode=$1 py
	if [[ ${KERYU_SKIP_INSTALL:-0} == 1 ]]; then
		[[ -x .venv/bin/keryu ]] || die "KERYU_SKIP_INSTALL=1 but .venv/bin/keryu is missing; run ./startup.sh once without it"
		compile_catalogs
		compile_bytecode appliance
		return 0
	fi
	py=$(pick_python)
	ensure_system_packages "$mode" "$py"
	ensure_venv "$mode" "$py"
	# A catalog edited since the venv was installed (the editable install compiled it then).
	compile_catalogs
	# And code edited since: the venv's own was compiled when it was installed.
	compile_bytecode appliance
}

# compile_bytecode DIR...: the plain and the -OO bytecode of what is under DIR, written now.
# The services run at -OO (PYTHONOPTIMIZE=2, as the units run them); pip writes only the plain
# level, and where PYTHONDONTWRITEBYTECODE is set (CI) a service would compile every module from
# source at each start: seconds of CPU, and about 30 MiB of RSS it keeps. Only what changed is
# compiled: the venv takes 40 s on two cores after an install, the checkout 0.1 s at each start.
compile_bytecode() {
	.venv/bin/python -m compileall -q -j 0 -o 0 -o 2 "$@" >/dev/null ||
		warn "some modules under $* did not compile to bytecode; the services compile them at each start"
}

# add_postgres_to_path: put the newest /usr/lib/postgresql/N/bin on PATH, where Debian keeps
# initdb and pg_ctl (the PostgreSQL tests start a throwaway cluster with them).
add_postgres_to_path() {
	local dir
	dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
	if [[ -n $dir ]]; then
		export PATH="$dir:$PATH"
	else
		warn "PostgreSQL not found under /usr/lib/postgresql; its tests will be skipped"
	fi
}
