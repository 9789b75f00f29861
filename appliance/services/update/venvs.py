"""The versions side by side: /opt/keryu/venvs/<version>, and the /opt/keryu/venv link that
every unit starts through, switched with one atomic rename."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.version import InvalidVersion, Version

from appliance.services.update.journal import fsync_dir
from appliance.services.update.manifest import Manifest
from appliance.services.update.paths import KEEP_VERSIONS, UpdatePaths

DEBIAN_WHEELS = Path("/usr/share/python-wheels")  # Debian's pip wheel, as the image build uses it
MANIFEST_COPY = "keryu-bundle.json"


def current(paths: UpdatePaths) -> str | None:
    """The version the link points to (None: no link yet, or not the venvs/<version> layout)."""
    try:
        target = Path(os.readlink(paths.link))
    except OSError:
        return None
    return target.name if target.parent.name == paths.venvs.name else None


def switch(paths: UpdatePaths, version: str) -> None:
    """Point the link at venvs/<version>: a new link renamed over the old one (never a moment without one)."""
    fresh = paths.app_dir / f".venv-{version}.link"
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(Path(paths.venvs.name) / version)
    fresh.replace(paths.link)
    fsync_dir(paths.app_dir)


def _system_site_packages() -> bool:
    """Whether the running venv sees Debian's packages (python3-libcamera on the Pi): the new one does too."""
    config = Path(sys.prefix) / "pyvenv.cfg"
    return config.is_file() and "include-system-site-packages = true" in config.read_text()


def install(paths: UpdatePaths, version: str, wheels: Path, manifest: bytes = b"", timeout: float = 1800) -> Path:
    """Make venvs/<version> from the bundle's wheels only (no network), with pip for the next update.
    Made in place (its scripts and bytecode name their real path); until the journal says
    "installed", an interrupted one is removed by the undo."""
    target = paths.venv(version)
    shutil.rmtree(target, ignore_errors=True)
    paths.venvs.mkdir(parents=True, exist_ok=True)
    create = [sys.executable, "-m", "venv", "--without-pip", str(target)]
    if _system_site_packages():
        create.insert(-1, "--system-site-packages")
    subprocess.run(create, check=True, capture_output=True, timeout=timeout)
    # Every wheel of the bundle, as the image build installs its wheelhouse (device-only wheels
    # such as lgpio are no dependency of keryu), and pip for the next update.
    wanted = [str(path) for path in sorted(wheels.glob("*.whl"))]
    if not any(path.name.startswith("pip-") for path in wheels.glob("*.whl")):
        wanted += [str(path) for path in sorted(DEBIAN_WHEELS.glob("pip-*.whl"))[-1:]]
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(target / "bin" / "python"), "install", "--quiet",
         "--no-index", "--no-cache-dir", "--disable-pip-version-check", "--find-links", str(wheels), *wanted],
        check=True, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if manifest:  # what this version knows (its schemas), for a later rollback to it
        (target / MANIFEST_COPY).write_bytes(manifest)
    fsync_dir(paths.venvs)
    return target


def manifest(paths: UpdatePaths, version: str) -> Manifest | None:
    """The manifest of the bundle venvs/<version> came from (None for the image's own first venv)."""
    try:
        return Manifest.from_bytes((paths.venv(version) / MANIFEST_COPY).read_bytes())
    except (OSError, ValueError):
        return None


def remove(paths: UpdatePaths, version: str) -> None:
    shutil.rmtree(paths.venv(version), ignore_errors=True)
    if paths.venvs.is_dir():
        fsync_dir(paths.venvs)


def _order(name: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(name))
    except InvalidVersion:
        return (0, name)


def installed(paths: UpdatePaths) -> list[str]:
    """Complete versions in venvs/, oldest first."""
    if not paths.venvs.is_dir():
        return []
    names = [path.name for path in paths.venvs.iterdir() if path.is_dir()]
    return sorted(names, key=_order)


def prune(paths: UpdatePaths, keep: tuple[str, ...]) -> None:
    """Keep the versions in `keep` (the running one and the one before); delete the rest."""
    for name in installed(paths):
        if name not in keep[:KEEP_VERSIONS]:
            remove(paths, name)
