"""A kiosk's update tree in a temporary folder: /opt/keryu with version 1.0.0 installed in
venvs/ and linked, a SQLite database, a trusted Ed25519 key, and bundles made of small real
wheels. Their `keryu` answers `init` (records its version in the database) and `status --json`
(healthy, or not when built broken), so every update runs real venvs, pip and subprocesses;
only systemd's start and stop are recorded instead of done."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from appliance.services.update import venvs
from appliance.services.update.bundle import Target, write_bundle
from appliance.services.update.engine import Updater
from appliance.services.update.paths import UpdatePaths

DEBIAN_WHEELS = Path("/usr/share/python-wheels")
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
DEVICE = Target(arch=platform.machine(), python=PYTHON)
SCHEMAS = ("0001", "0002", "0003")
PROBE = """
import json, os, sqlite3, sys
VERSION = {version!r}
BROKEN = {broken!r}
SCHEMA = {schema!r}  # the revision its migrations bring the database to (None: the one it has)


def main():
    command = sys.argv[1]
    if command == "--version":
        print("keryu", VERSION)
        return 0
    if command == "init":
        with sqlite3.connect(os.environ["UPDATE_PROBE_DB"]) as db:
            db.execute("CREATE TABLE IF NOT EXISTS migrated (version TEXT)")
            db.execute("INSERT INTO migrated VALUES (?)", (VERSION,))
            if SCHEMA:
                db.execute("UPDATE alembic_version SET version_num = ?", (SCHEMA,))
        return 0
    if command == "status":
        state = "down" if BROKEN else "ok"
        parts = {{"database": {{"status": "ok"}}, "worker": {{"status": state}}}}
        if os.environ.get("UPDATE_PROBE_NO_CAMERA"):  # a kiosk whose camera is missing, whatever the version
            parts["scanner"] = {{"status": "down"}}
        ok = all(part["status"] == "ok" for part in parts.values())
        print(json.dumps({{"status": "ok" if ok else "degraded", "version": VERSION, "components": parts}}))
        return 0 if ok else 1
    return 2
"""


class RecordingSystem:
    """The machine seam with systemd's part recorded; commands run for real, as this user."""

    def __init__(self, free: int | None = None) -> None:
        self.events: list[str] = []
        self.free = free
        self.looping_after_start: set[str] = set()
        self.while_running: Callable[[], None] = lambda: None  # what the new version does once started

    def stop_kiosk(self) -> None:
        self.events.append("stop")

    def start_kiosk(self) -> None:
        self.events.append("start")
        if self.events.count("start") == 1:
            self.while_running()

    def run_as_kiosk(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)

    def free_bytes(self, path: Path) -> int:
        if self.free is not None:
            return self.free
        stat = os.statvfs(path)
        return stat.f_bavail * stat.f_frsize

    def crash_looping(self) -> set[str]:
        """After a start, the units a test says the new version keeps crashing."""
        return set(self.looping_after_start) if "start" in self.events else set()


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(
    folder: Path, version: str, *, broken: bool = False, requires: tuple[str, ...] = (), project: str = "keryu",
    schema: str | None = None,
) -> Path:  # fmt: skip
    """A real, installable `keryu` wheel whose console script is the probe above (or a plain
    dependency `project` with one module)."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{project}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    files = {
        f"{info}/METADATA": metadata.encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    if project == "keryu":
        files["keryu_probe.py"] = PROBE.format(version=version, broken=broken, schema=schema).encode()
        files[f"{info}/entry_points.txt"] = b"[console_scripts]\nkeryu = keryu_probe:main\n"
    else:
        files[f"{project}.py"] = f"VERSION = {version!r}\n".encode()
    record = [_record_line(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = folder / f"{project}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def kiosk_tree(tmp_path: Path, signing_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch) -> UpdatePaths:
    """Version 1.0.0 installed and linked, its database migrated once, the signing key trusted."""
    paths = UpdatePaths.under(tmp_path / "root")
    paths.keys_dir.mkdir(parents=True)
    paths.state_dir.mkdir(parents=True)  # systemd makes it (StateDirectory=keryu-update)
    public = signing_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (paths.keys_dir / "project.pub").write_bytes(public)
    database = tmp_path / "root/var/lib/keryu/keryu.db"
    database.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE alembic_version (version_num TEXT)")
        db.execute("INSERT INTO alembic_version VALUES ('0003')")
        db.execute("CREATE TABLE alarms (id INTEGER PRIMARY KEY, note TEXT)")
        db.execute("INSERT INTO alarms (note) VALUES ('recorded before the update')")
    monkeypatch.setenv("UPDATE_PROBE_DB", str(database))
    wheels = [make_wheel(tmp_path / "wheels-1.0.0", "1.0.0", requires=("helper",)),
              make_wheel(tmp_path / "wheels-1.0.0", "1.0", project="helper")]  # fmt: skip
    paths.app_dir.mkdir(parents=True)
    image_venv(paths.venv("1.0.0"), wheels)
    venvs.switch(paths, "1.0.0")
    return paths


def image_venv(venv: Path, wheels: list[Path]) -> None:
    """The venv as the image build makes it (image/steps/30-appliance.sh): each wheel installed
    by path (pip records its hash), and pip for the next update."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = sorted(DEBIAN_WHEELS.glob("pip-*.whl"))[-1:]  # as the image; without it the updater's own pip serves
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install", "--quiet", "--no-index",
         "--no-compile", "--disable-pip-version-check", *map(str, wheels), *map(str, pip)],
        check=True, capture_output=True,
    )  # fmt: skip


@pytest.fixture
def database(kiosk_tree: UpdatePaths) -> Path:
    return kiosk_tree.app_dir.parents[1] / "var/lib/keryu/keryu.db"


@pytest.fixture
def make_bundle(tmp_path: Path, signing_key: Ed25519PrivateKey) -> Callable[..., Path]:
    """make_bundle(version, broken=False, key=None, target=DEVICE, requires=("helper",), extra={}, schema=None)
    -> a signed .kup of keryu `version` and the `helper` 1.0 the image has (its wheel byte for
    byte, as a bundle of the same dependencies holds), plus `extra` projects {name: version}."""

    def make(version: str, *, broken: bool = False, key: Ed25519PrivateKey | None = None, target: Target = DEVICE,
             requires: tuple[str, ...] = ("helper",), extra: dict[str, str] | None = None,
             schema: str | None = None) -> Path:  # fmt: skip
        wheels = tmp_path / f"bundle-{version}-{broken}-{target.arch}" / "wheels"
        make_wheel(wheels, version, broken=broken, requires=requires, schema=schema)
        shutil.copy2(tmp_path / "wheels-1.0.0/helper-1.0-py3-none-any.whl", wheels)
        for project, project_version in (extra or {}).items():
            make_wheel(wheels, project_version, project=project)
        out = tmp_path / f"keryu-{version}.kup"
        write_bundle(wheels, out, key or signing_key, target, SCHEMAS)
        return out

    return make


def scanned_while_running(database: Path, note: str) -> Callable[[], None]:
    """A card scanned while the new version runs: an alarm only the live database has."""

    def scan() -> None:
        with sqlite3.connect(database) as db:
            db.execute("INSERT INTO alarms (note) VALUES (?)", (note,))

    return scan


def alarm_notes(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        return [row[0] for row in db.execute("SELECT note FROM alarms ORDER BY id")]


@pytest.fixture
def updater(kiosk_tree: UpdatePaths, database: Path) -> Updater:
    return Updater(paths=kiosk_tree, database=database, system=RecordingSystem(), grace=3.0, poll=0.2)


@pytest.fixture
def linked_version(kiosk_tree: UpdatePaths) -> Callable[[], str]:
    """The version that the linked venv's own `keryu status --json` reports."""

    def ask() -> str:
        command = [str(kiosk_tree.link / "bin/keryu"), "status", "--json"]
        return json.loads(subprocess.run(command, capture_output=True, text=True, check=False).stdout)["version"]

    return ask
