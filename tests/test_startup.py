"""startup.sh as a user runs it: start, status, stop and restart on a private data directory,
Redis port and web port, leaving no process behind and never signalling a process it did not start.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import KERYU, REPO, free_port, wait_until
from tests.process_memory import MIB, NOTHING, memory_of

pytestmark = pytest.mark.integration

STARTUP = REPO / "startup.sh"
SERVICES = ("worker", "scanner", "web")  # the worker runs the beat as a thread
# The services' summed RSS, idle after startup, may not pass the budget: issue 12's goal is
# 250 MB (238.4 MiB), so that the kiosk, Redis and Debian fit a 512 MB Pi Zero 2 W with room to
# spare. A fresh clone measures 225.5-225.6 MiB, a checkout whose libraries are not all in the
# page cache about 2 MiB less (file pages counted by fault-around); the check fails 6.5 MiB
# above that. A library loaded where it is not used (Celery in the scanner or the web page:
# 7 MiB), a process more, or the services started without their -OO bytecode (20-30 MiB) fails here.
MEMORY_BUDGET_MIB = 232
MEMORY_GOAL_MIB = 250e6 / MIB
# Shared libraries that only one service may map: each is MiBs in every process that loads it.
# charset_normalizer is the compiled half of requests (and of the Twilio SDK above it): the
# worker's channels load it when they first send; the scanner and the web page never send.
ONLY_IN = {"cv2": "scanner", "numpy": "scanner", "aiohttp": "web", "charset_normalizer": "worker"}


def run_startup(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ./startup.sh from another directory, as a user would, without a terminal."""
    return subprocess.run(
        [str(STARTUP), *args],
        env=env,
        cwd="/",
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def processes_of(kiosk_dir: Path) -> list[int]:
    """Live processes that belong to this data directory: its KERYU_DATA_DIR in their environment,
    or (redis-server rewrites its environment with its title) their working directory inside it."""
    marker = f"KERYU_DATA_DIR={kiosk_dir}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            environ = (proc / "environ").read_bytes().split(b"\0")
            cwd = os.readlink(proc / "cwd")
        except (OSError, IndexError):
            continue
        if marker in environ or cwd == str(kiosk_dir) or cwd.startswith(f"{kiosk_dir}/"):
            found.append(int(proc.name))
    return found


def keryu(env: dict[str, str], *args: str) -> str:
    """Run a keryu command against the started kiosk; its stdout."""
    result = subprocess.run(
        [KERYU, *args], env=env, cwd="/", stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, output(result)
    return result.stdout


def pid_in(kiosk_dir: Path, name: str) -> int:
    return int((kiosk_dir / "run" / f"{name}.pid").read_text())


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def kiosk_dir(tmp_path: Path) -> Path:
    """A data directory that does not exist yet: startup.sh creates it."""
    return tmp_path / "kiosk-data"


@pytest.fixture
def startup_env(kiosk_dir: Path, standin) -> Iterator[dict[str, str]]:
    """The environment of a second kiosk beside anything else on this machine, its channels
    pointing at the provider stand-in; everything it started is stopped afterwards, and anything
    left is killed by pid (and fails the test)."""
    env = dict(os.environ)
    env.update(standin.env())
    env.update(
        KERYU_DATA_DIR=str(kiosk_dir),
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        KERYU_WEB_PORT=str(free_port()),
        KERYU_WEB_HOST="127.0.0.1",
        KERYU_SKIP_INSTALL="1",  # the suite runs inside the venv startup.sh test prepared
        KERYU_HEALTH_WAIT="20",
        KERYU_STOP_TIMEOUT="20",
    )
    if list(Path("/dev").glob("video*")):  # a real camera here: the scenario still shows cards to a folder
        env["KERYU_CAMERA"] = f"dir:{kiosk_dir}/inbox"
    yield env
    run_startup(env, "stop", timeout=120)
    leftovers = processes_of(kiosk_dir)
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert not leftovers, f"processes left behind: {leftovers}"


@pytest.fixture
def bystander() -> Iterator[int]:
    """A live process that is not ours; a stale pid file pointing at it must not get it killed."""
    proc = subprocess.Popen(["sleep", "600"])
    yield proc.pid
    proc.kill()
    proc.wait()


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_start_status_restart_stop_leaves_nothing_behind(
    startup_env: dict[str, str], kiosk_dir: Path, bystander: int, standin
) -> None:
    port = int(startup_env["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    web_port = int(startup_env["KERYU_WEB_PORT"])
    run_dir = kiosk_dir / "run"
    run_dir.mkdir(parents=True)
    # Left over from a crash: a dead pid, and pids since reused by an unrelated process.
    (run_dir / "worker.pid").write_text(f"{dead_pid()}\n")
    (run_dir / "scanner.pid").write_text(f"{bystander}\n")
    (run_dir / "redis.pid").write_text(f"{bystander}\n")

    started = run_startup(startup_env)

    assert started.returncode == 0, output(started)
    for name in ("worker", "scanner", "redis"):
        assert f"{name}: clearing stale pid file" in started.stdout, output(started)
    assert "Redis: starting redis-server" in started.stdout, output(started)
    assert f"admin page: http://127.0.0.1:{startup_env['KERYU_WEB_PORT']}/" in started.stdout
    code = keryu(startup_env, "setup-code").strip()
    setup_line = f"first-run setup: open http://127.0.0.1:{startup_env['KERYU_WEB_PORT']}/setup and type the setup code"
    assert f"{setup_line} {code}\n" in started.stdout, output(started)
    assert stat.S_IMODE(kiosk_dir.stat().st_mode) == 0o700  # the data folder is the owner's alone
    if not list(Path("/dev").glob("video*")):
        assert f"KERYU_CAMERA=dir:{kiosk_dir}/inbox" in started.stdout
    pids = {name: pid_in(kiosk_dir, name) for name in ("redis", *SERVICES)}
    assert "redis-server" in cmdline(pids["redis"])
    for name in SERVICES:
        assert f"keryu {name}" in cmdline(pids[name])
    assert bystander not in pids.values()
    assert redis.Redis.from_url(startup_env["REDIS_URL"]).ping()
    wait_until(lambda: port_open(web_port), what="the admin page to listen")
    assert set(pids.values()) <= set(processes_of(kiosk_dir))
    # The kiosk it started works end to end: a card shown to the (folder) camera reaches the provider.
    (kiosk_dir / "inbox").mkdir(exist_ok=True)
    card = json.loads(keryu(startup_env, "subject", "add", "--name", "Ana Startup", "--phone", "+5215512345678"))
    keryu(startup_env, "card", "image", card["card_uuid"], "--out", str(kiosk_dir / "inbox" / ".card.png"))
    os.replace(kiosk_dir / "inbox" / ".card.png", kiosk_dir / "inbox" / "card.png")  # appears whole
    [send] = standin.wait_for(1, timeout=30)
    assert send.provider == "meta" and "Ana Startup" in json.dumps(send.body)

    again = run_startup(startup_env)

    assert again.returncode == 0, output(again)
    for name in SERVICES:
        assert f"{name}: already running (pid {pids[name]})" in again.stdout, output(again)
    assert {name: pid_in(kiosk_dir, name) for name in pids} == pids

    status = run_startup(startup_env, "status")

    for name in SERVICES:
        assert re.search(rf"^\s+{name}\s+running \(pid {pids[name]}\)$", status.stdout, re.M), output(status)
    assert re.search(rf"^\s+redis\s+running \(pid {pids['redis']}, started by startup.sh\)$", status.stdout, re.M)

    restarted = run_startup(startup_env, "restart")

    assert restarted.returncode == 0, output(restarted)
    old_pids, pids = pids, {name: pid_in(kiosk_dir, name) for name in pids}
    assert not set(old_pids.values()) & set(pids.values())
    assert not set(old_pids.values()) & set(processes_of(kiosk_dir)), "an old process survived the restart"
    wait_until(lambda: port_open(web_port), what="the admin page to listen again")

    stopped = run_startup(startup_env, "stop")

    assert stopped.returncode == 0, output(stopped)
    assert processes_of(kiosk_dir) == []
    assert not port_open(port)
    assert not port_open(web_port)
    assert not list(run_dir.glob("*.pid"))
    assert Path(f"/proc/{bystander}").exists(), "startup.sh signalled a process it did not start"


def test_stop_clears_stale_pid_files_without_signalling_them(
    startup_env: dict[str, str], kiosk_dir: Path, bystander: int
) -> None:
    run_dir = kiosk_dir / "run"
    run_dir.mkdir(parents=True)
    for name in ("worker", "beat", "scanner", "web", "redis"):
        (run_dir / f"{name}.pid").write_text(f"{bystander}\n")

    stopped = run_startup(startup_env, "stop")

    assert stopped.returncode == 0, output(stopped)
    assert stopped.stdout.count("clearing stale pid file") == 5, output(stopped)
    assert not list(run_dir.glob("*.pid"))
    assert Path(f"/proc/{bystander}").exists()


def test_one_startup_at_a_time(startup_env: dict[str, str], kiosk_dir: Path) -> None:
    run_dir = kiosk_dir / "run"
    run_dir.mkdir(parents=True)
    with open(run_dir / "startup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another startup.sh at work
        began = time.monotonic()

        refused = run_startup(startup_env)

        assert time.monotonic() - began < 10, "startup.sh waited for the lock instead of refusing"
    assert refused.returncode == 1, output(refused)
    assert "another ./startup.sh is already running" in refused.stderr
    assert processes_of(kiosk_dir) == []
    assert not list(run_dir.glob("*.pid"))


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port where something accepts connections but never answers like Redis."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.mark.parametrize(
    ("case", "args", "settings", "exit_code", "message"),
    [
        ("unknown command", ["frobnicate"], {}, 2, "unknown command frobnicate"),
        ("extra argument", ["stop", "now"], {}, 2, "usage:"),
        ("Redis port taken", ["start"], {"REDIS_URL": "redis://localhost:{silent_port}/0"}, 1, "not Redis"),
        (
            "web port taken",
            ["start"],
            {"KERYU_WEB_PORT": "{silent_port}", "KERYU_HEALTH_WAIT": "0"},
            1,
            "port {silent_port} is already in use",
        ),
        ("bad setting", ["start"], {"KERYU_DECODER": "fastest"}, 1, "KERYU_DECODER"),
    ],
)
def test_bad_input_is_one_clear_error(
    startup_env: dict[str, str],
    kiosk_dir: Path,
    silent_port: int,
    case: str,
    args: list[str],
    settings: dict[str, str],
    exit_code: int,
    message: str,
) -> None:
    startup_env.update({name: value.format(silent_port=silent_port) for name, value in settings.items()})

    result = run_startup(startup_env, *args)

    assert result.returncode == exit_code, output(result)
    assert message.format(silent_port=silent_port) in result.stderr, output(result)
    assert "Traceback" not in result.stderr
    if case != "web port taken":  # the other services started; the fixture stops them
        assert processes_of(kiosk_dir) == []


def load_env_line(tmp_path: Path, line: str, name: str, preset: str | None) -> str:
    """What startup.sh's env-file reader makes of one line: the variable's value, or <unset>."""
    env_file = tmp_path / "test.env"
    env_file.write_bytes(line.encode() + b"\n")
    env = {"PATH": os.environ["PATH"]}
    if preset is not None:
        env[name] = preset
    script = (
        'set -euo pipefail; source "$1"; load_env_file "$2"; '
        'if [[ -v $3 ]]; then printf "%s" "${!3}"; else printf "<unset>"; fi'
    )
    result = subprocess.run(
        ["bash", "-c", script, "_", REPO / "scripts" / "startup" / "common.sh", env_file, name],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.mark.parametrize(
    ("case", "line", "name", "preset", "expected"),
    [
        ("plain", "KERYU_LOCATION=Gate", "KERYU_LOCATION", None, "Gate"),
        ("export prefix", "export KERYU_LOCATION=Front door", "KERYU_LOCATION", None, "Front door"),
        ("double quotes keep #", 'KERYU_LOCATION="Gate #2"', "KERYU_LOCATION", None, "Gate #2"),
        ("single quotes", "KERYU_LOCATION='Gate 3'", "KERYU_LOCATION", None, "Gate 3"),
        ("comment after a value", "KERYU_WEB_PORT=8080   # admin page", "KERYU_WEB_PORT", None, "8080"),
        ("spaces around =", "KERYU_WEB_PORT = 8081", "KERYU_WEB_PORT", None, "8081"),
        ("empty value", "WHATSAPP_ACCESS_TOKEN=", "WHATSAPP_ACCESS_TOKEN", None, ""),
        ("Windows line end", "KERYU_LOCATION=Gate\r", "KERYU_LOCATION", None, "Gate"),
        ("commented out", "# KERYU_LOCATION=Gate", "KERYU_LOCATION", None, "<unset>"),
        ("not an assignment", "KERYU_LOCATION Gate", "KERYU_LOCATION", None, "<unset>"),
        ("no command runs", "KERYU_LOCATION=$(echo run)", "KERYU_LOCATION", None, "$(echo run)"),
        (
            "the environment wins",
            "REDIS_URL=redis://file:6379/0",
            "REDIS_URL",
            "redis://env:6379/0",
            "redis://env:6379/0",
        ),
        ("set but empty wins", "REDIS_URL=redis://file:6379/0", "REDIS_URL", "", ""),
    ],
)
def test_env_file_lines(tmp_path: Path, case: str, line: str, name: str, preset: str | None, expected: str) -> None:
    assert load_env_line(tmp_path, line, name, preset) == expected


def test_stop_kills_a_service_that_ignores_term(startup_env: dict[str, str], kiosk_dir: Path) -> None:
    run_dir = kiosk_dir / "run"
    run_dir.mkdir(parents=True)
    # A hung worker: our data directory in its environment, "keryu worker" in its command line,
    # TERM ignored (an ignored signal stays ignored across exec), in its own process group.
    hung = subprocess.Popen(
        ["bash", "-c", 'trap "" TERM; exec -a "keryu worker" sleep 600'],
        env={**startup_env, "PATH": os.environ["PATH"]},
        start_new_session=True,
    )
    wait_until(lambda: "keryu worker" in cmdline(hung.pid), what="the hung worker to exec")
    (run_dir / "worker.pid").write_text(f"{hung.pid}\n")
    startup_env["KERYU_STOP_TIMEOUT"] = "1"

    stopped = run_startup(startup_env, "stop")

    assert stopped.returncode == 0, output(stopped)
    assert "worker did not stop within 1 s; killing it" in stopped.stderr, output(stopped)
    assert hung.wait(timeout=10) == -signal.SIGKILL
    assert not (run_dir / "worker.pid").exists()


@pytest.mark.skipif(
    shutil.which("shellcheck") is None, reason="shellcheck is not installed (apt-get install shellcheck)"
)
def test_the_shell_scripts_pass_shellcheck() -> None:
    scripts = [STARTUP, *sorted((REPO / "scripts" / "startup").glob("*.sh")), REPO / ".ci" / "run"]
    result = subprocess.run(["shellcheck", "-x", *map(str, scripts)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def mapped_packages(pid: int) -> set[str]:
    """The site-packages packages whose compiled libraries `pid` has mapped."""
    packages = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        _, _, path = line.partition("/site-packages/")
        if path:
            packages.add(path.split("/", 1)[0].removesuffix(".libs").split("_python")[0])
    return packages


def test_the_services_fit_the_memory_budget_idle_with_the_beat_inside_the_worker(
    startup_env: dict[str, str], kiosk_dir: Path
) -> None:
    started = run_startup(startup_env)
    assert started.returncode == 0, output(started)
    # Health reports the beat from the heartbeat the worker's scheduler thread writes.
    wait_until(lambda: json.loads(keryu_status(startup_env))["status"] == "ok", timeout=60, what="all ok")
    time.sleep(5)  # idle

    pids = {name: pid_in(kiosk_dir, name) for name in SERVICES}
    figures = {name: memory_of(pid) for name, pid in pids.items()}
    total = sum(figures.values(), NOTHING)
    report = ", ".join(f"{name} {memory.rss_mib:.0f}" for name, memory in figures.items())
    print(
        f"summed RSS {total.rss_mib:.1f} MiB ({report}); PSS {total.pss_mib:.1f} MiB; "
        f"{total.rss_mib / MEMORY_GOAL_MIB:.3f} x the 250 MB goal"
    )
    assert not (kiosk_dir / "run" / "beat.pid").exists()
    assert total.processes == len(SERVICES), "a service started a second process"
    assert total.rss_mib < MEMORY_BUDGET_MIB, f"summed RSS {total.rss_mib:.1f} MiB ({report})"
    for package, owner in ONLY_IN.items():
        loaded_by = {name for name, pid in pids.items() if package in mapped_packages(pid)}
        assert loaded_by <= {owner}, f"{package} is loaded by {sorted(loaded_by)}"


def keryu_status(env: dict[str, str]) -> str:
    result = subprocess.run([KERYU, "status", "--json"], env=env, cwd="/", capture_output=True, text=True, timeout=60)
    return result.stdout or "{}"
