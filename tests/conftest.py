"""Shared fixtures: real SQLite files, a real redis-server, real worker/beat subprocesses,
a real PostgreSQL cluster, and the loopback provider stand-in.

Everything binds to 127.0.0.1 on free ports and is stopped at the end of its scope.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.config import Settings, load_settings
from appliance.services.kiosk import Kiosk
from appliance.store.db import Store
from appliance.store.migrate import upgrade
from tests.fakes import FakeClock

REPO = Path(__file__).resolve().parents[1]
KERYU = str(Path(sys.executable).with_name("keryu"))
SHARED_CORPUS = REPO.parent / "shared" / "corpus"
DEAD_REDIS = "redis://127.0.0.1:9/0"  # port 9 (discard) is never a Redis: "Redis is down"
_CONFIG_PREFIXES = ("KERYU_", "WHATSAPP_", "TWILIO_", "REDIS_", "CELERY_", "GPIOZERO_")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"):
    """Poll `predicate` until it returns something truthy, or fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# --- configuration and database -------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's .env, /etc/keryu or KERYU_* variables."""
    for name in list(os.environ):
        if name.startswith(_CONFIG_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    monkeypatch.setattr(Settings, "model_config", {**Settings.model_config, "env_file": None})


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def _postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free port; yields a server URL without a database."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bins:
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    bindir = bins[-1].parent
    root = Path(tempfile.mkdtemp(prefix="keryu-pg-"))  # outside pytest's 0700 root: postgres must reach it
    cluster, port = root / "cluster", free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_user, bindir / "initdb", "-D", cluster, "-A", "trust", "-U", "postgres"], check=True, capture_output=True
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*as_user, bindir / "pg_ctl", "-D", cluster, "-o", options, "-l", root / "log", "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_user, bindir / "pg_ctl", "-D", cluster, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, data_dir: Path) -> str:
    """SQLite by default; modules that prove portability parametrize it with "postgres" too."""
    if request.param == "sqlite":
        return f"sqlite:///{data_dir / 'keryu.db'}"
    server = request.getfixturevalue("_postgres_server")
    import psycopg

    name = f"keryu_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(server.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


@pytest.fixture
def settings(request: pytest.FixtureRequest, data_dir: Path, database_url: str) -> Settings:
    """Settings for an in-process kiosk; wired to the live Redis and stand-in when the test uses them.

    A test changes some with `@pytest.mark.parametrize("settings", [{...}], indirect=True)`.
    """
    overrides: dict[str, object] = {
        "KERYU_DATA_DIR": str(data_dir),
        "KERYU_DATABASE_URL": database_url,
        "KERYU_LOCATION": "Test gate",
        "KERYU_CAMERA": "none",
        "REDIS_URL": DEAD_REDIS,
    }
    if "kiosk_env" in request.fixturenames:
        overrides.update(request.getfixturevalue("kiosk_env"))
    overrides.update(getattr(request, "param", {}))
    return load_settings(**overrides)


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock that moves only when the test says so; the `kiosk` of a test that asks for it uses it."""
    return FakeClock()


@pytest.fixture
def kiosk(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Kiosk]:
    """A Kiosk on a fresh, migrated database (on `fake_clock` when the test uses that)."""
    clock = request.getfixturevalue("fake_clock") if "fake_clock" in request.fixturenames else None
    kiosk = Kiosk.from_settings(settings, clock=clock)
    upgrade(kiosk.store)
    yield kiosk
    kiosk.close()


@pytest.fixture
def store(kiosk: Kiosk) -> Store:
    return kiosk.store


# --- GPIO -------------------------------------------------------------------------------------

GREEN, RED, BUZZER = 17, 27, 22  # the contract's default BCM pins


@pytest.fixture
def pins():
    """gpiozero's own MockFactory: pins that record every state they take."""
    from gpiozero.pins.mock import MockFactory

    return MockFactory()


@pytest.fixture
def feedback(pins):
    """The real LED/buzzer feedback on mock pins."""
    from appliance.feedback import GpioFeedback

    fb = GpioFeedback(GREEN, RED, BUZZER, pin_factory=pins)
    yield fb
    fb.close()


# --- Redis -----------------------------------------------------------------------------------


class RedisServer:
    """A real redis-server process that a test may stop and start again (same port, same data)."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_until(self.ping, timeout=10, what="redis-server to answer")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.2).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def flush(self) -> None:
        import redis

        redis.Redis(port=self.port).flushall()


@pytest.fixture(scope="session")
def _redis_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_control(_redis_process: RedisServer) -> Iterator[RedisServer]:
    """The Redis server, emptied for this test, which the test may stop and restart."""
    if _redis_process.process is None:
        _redis_process.start()
    _redis_process.flush()
    yield _redis_process
    if _redis_process.process is None:
        _redis_process.start()


@pytest.fixture
def redis_server(redis_control: RedisServer) -> str:
    """URL of a real, empty Redis."""
    return redis_control.url


# --- provider stand-in, environment, worker, beat ----------------------------------------------


@pytest.fixture
def standin():
    """The loopback stand-in for Meta's Graph API and Twilio's REST API."""
    from tests.standins.providers import ProviderStandIn

    with ProviderStandIn() as server:
        yield server


@pytest.fixture
def kiosk_env(data_dir: Path, database_url: str, redis_server: str, standin) -> dict[str, str]:
    """Configuration variables for a kiosk wired to the real Redis and the stand-in."""
    return {
        "KERYU_DATA_DIR": str(data_dir),
        "KERYU_DATABASE_URL": database_url,
        "KERYU_LOCATION": "Test gate",
        "KERYU_CAMERA": "none",
        "KERYU_TIMEZONE": "America/Mexico_City",
        "KERYU_WEB_PORT": str(free_port()),
        "REDIS_URL": redis_server,
        "GPIOZERO_PIN_FACTORY": "mock",
        **standin.env(),
    }


# What the systemd units and ./startup.sh run the services with (tests/systemd/test_units.py).
SERVICE_ENVIRONMENT = {"MALLOC_ARENA_MAX": "2", "PYTHONOPTIMIZE": "2"}


class ServiceProcess:
    """A `keryu <command>` subprocess with its log, stopped (TERM, then KILL) at teardown."""

    def __init__(self, command: str, env: dict[str, str], cwd: Path, ready_text: str | None):
        self.command, self.env, self.cwd, self.ready_text = command, env, cwd, ready_text
        self.log_path = cwd / f"{command}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> ServiceProcess:
        full_env = {key: value for key, value in os.environ.items() if not key.startswith(_CONFIG_PREFIXES)}
        full_env.update(SERVICE_ENVIRONMENT, **self.env)
        log = self.log_path.open("ab")
        offset = self.log_path.stat().st_size
        self.process = subprocess.Popen([KERYU, self.command], env=full_env, cwd=self.cwd, stdout=log, stderr=log)
        if self.ready_text:
            wait_until(lambda: self._ready(offset), timeout=timeout, what=f"keryu {self.command} to be ready")
        return self

    def _ready(self, offset: int) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"keryu {self.command} exited early:\n{self.log()}")
        return self.ready_text in self.log_path.read_text(errors="replace")[offset:]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: a power cut for this process."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker(kiosk_env: dict[str, str], kiosk: Kiosk, tmp_path: Path) -> Iterator[ServiceProcess]:
    """A real `keryu worker` (solo pool) on the test's database, Redis and stand-in."""
    process = ServiceProcess("worker", kiosk_env, tmp_path, ready_text=" ready.").start()
    yield process
    process.stop()


@pytest.fixture
def beat(kiosk_env: dict[str, str], kiosk: Kiosk, tmp_path: Path) -> Iterator[ServiceProcess]:
    """A real `keryu beat` (sweeps the outbox every 15 s)."""
    process = ServiceProcess("beat", kiosk_env, tmp_path, ready_text="beat: Starting").start()
    yield process
    process.stop()


@pytest.fixture
def service_process(kiosk_env: dict[str, str], kiosk: Kiosk, tmp_path: Path):
    """Factory for other `keryu` services (web, scanner) with the test's environment."""
    started: list[ServiceProcess] = []

    def start(command: str, ready_text: str | None = None, **extra_env: str) -> ServiceProcess:
        process = ServiceProcess(command, {**kiosk_env, **extra_env}, tmp_path, ready_text).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def chatty_worker(service_process) -> ServiceProcess:
    """A `keryu worker` at KERYU_LOG_LEVEL=DEBUG, which logs every task run (at INFO it logs none
    of the routine ones): for tests that wait until a task has run."""
    return service_process("worker", " ready.", KERYU_LOG_LEVEL="DEBUG")
