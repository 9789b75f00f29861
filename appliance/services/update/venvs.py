"""The versions side by side: /opt/keryu/venvs/<version>, and the /opt/keryu/venv link that
every unit starts through, switched with one atomic rename."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from packaging.version import InvalidVersion, Version

from appliance.services.update.journal import fsync_dir
from appliance.services.update.manifest import Manifest
from appliance.services.update.paths import KEEP_VERSIONS, UpdatePaths

MANIFEST_COPY = "keryu-bundle.json"  # the bundle's manifest, kept in the venv it made


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
