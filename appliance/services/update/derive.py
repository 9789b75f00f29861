"""Make venvs/<version> from the running venv instead of from nothing: on a Pi (and under
emulation) creating a venv and installing ~60 wheels takes minutes and writes the whole app to the
card again, while an update usually changes one wheel, Keryu's own.

The running venv is hard-linked into the new folder (no data copied), the few files that name the
venv's path are rewritten as new files, and pip removes and installs only what the bundle changes
(`delta`), from the verified wheels, without dependencies or an index. Nothing ever writes into a
linked file: pip and Python replace files by unlinking or renaming, and so does this module; the
running venv is never modified. The result is checked before the updater may switch to it: its
`keryu --version` names the new version and `pip check` finds every requirement met.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.utils import canonicalize_name

from appliance.services.update.delta import Delta, installed, site_packages
from appliance.services.update.journal import write_atomic
from appliance.services.update.venvs import MANIFEST_COPY

PIP_FLAGS = ("--disable-pip-version-check", "--no-input")


class BrokenVenv(Exception):
    """The new venv is not complete or does not run; the update is undone with this reason."""


def derive(
    running: Path, target: Path, wheels: Path, changes: Delta, manifest: bytes = b"", timeout: float = 1800
) -> None:
    """Make `target` from `running` plus `changes` (the wheels in `wheels`)."""
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(running, target, symlinks=True, copy_function=os.link, ignore=_own_files(running))
    relocate(target, running)
    pip = _pip(target)
    if changes.remove:
        _run([*pip, "uninstall", "--yes", *PIP_FLAGS, *changes.remove], "removing old projects", timeout)
    if changes.install:
        files = [str(wheels / name) for name in sorted(changes.install)]
        _run([*pip, "install", "--quiet", "--no-deps", "--no-index", "--no-cache-dir", "--force-reinstall",
              *PIP_FLAGS, *files], "installing the new wheels", timeout)  # fmt: skip
        # The services run with PYTHONOPTIMIZE=2 on a read-only file system: their -OO bytecode is
        # made now (pip made the plain one); the linked files' is current and left as it is.
        _run([str(target / "bin/python"), "-m", "compileall", "-q", "-o", "2", str(site_packages(target))],
             "compiling the new wheels for the services", timeout)  # fmt: skip
    if manifest:  # what this version knows (its schemas), for a later rollback to it (never linked)
        write_atomic(target / MANIFEST_COPY, manifest)
    os.sync()  # all of it on the card before the journal says "installed" and the link may point here


def check(target: Path, version: str, timeout: float = 600) -> None:
    """The venv's `keryu` is the new version's and imports, and its own projects' requirements are met."""
    answer = _run([str(target / "bin/keryu"), "--version"], "keryu --version in the new venv", timeout)
    if answer.split() != ["keryu", version]:
        raise BrokenVenv(f"the new venv's keryu --version answered {answer.strip()[:80]!r}, not {version}")
    ours = set(installed(target))
    # pip check also reads Debian's packages (--system-site-packages); only the venv's own count.
    result = subprocess.run([*_pip(target), "check", *PIP_FLAGS], capture_output=True, text=True, timeout=timeout)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    problems = [line for line in lines if _project(line) in ours]
    if problems:
        raise BrokenVenv(f"pip check in the new venv: {problems[0]}")
    if result.returncode != 0 and not lines:  # pip itself did not run
        said = result.stderr.strip().splitlines() or ["no answer"]
        raise BrokenVenv(f"pip check in the new venv: {said[-1][:200]}")


def relocate(target: Path, source: Path) -> None:
    """Rewrite the files that name `source`'s path (console scripts' #! lines, activate scripts,
    pyvenv.cfg) for `target`, each as a new file renamed into place (the old one stays linked)."""
    old = re.compile(re.escape(os.fsencode(source)) + rb"(?![\w.+-])")
    new = os.fsencode(target)
    candidates = [path for path in (target / "bin").iterdir() if not path.is_symlink() and path.is_file()]
    for path in [*candidates, target / "pyvenv.cfg"]:
        data = path.read_bytes()
        if b"\0" not in data and old.search(data):  # scripts only: a binary's strings keep their length
            write_atomic(path, old.sub(new, data), mode=path.stat().st_mode & 0o7777)


def _own_files(running: Path):
    def ignore(folder: str, names: list[str]) -> list[str]:
        return [MANIFEST_COPY] if Path(folder) == running and MANIFEST_COPY in names else []

    return ignore


def _pip(target: Path) -> list[str]:
    """pip as the new venv runs it (its own pip, else this one's pointed at the venv)."""
    if (site_packages(target) / "pip").is_dir():
        return [str(target / "bin/python"), "-m", "pip"]
    return [sys.executable, "-m", "pip", "--python", str(target / "bin/python")]


def _run(argv: list[str], what: str, timeout: float) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        raise BrokenVenv(f"{what}: {lines[-1][:200] if lines else f'exit status {result.returncode}'}")
    return result.stdout


def _project(line: str) -> str:
    """The project a `pip check` line is about ("foo 1.0 requires bar, ..." -> "foo")."""
    return canonicalize_name(line.split(" ", 1)[0]) if line.strip() else ""
