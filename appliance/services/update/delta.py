"""What a bundle changes in a venv: the wheels whose project, version or file hash differ from
what the venv has installed (pip records each wheel's SHA-256 in its `direct_url.json` when it is
installed from a file, as the image build and the updater both do), and the projects the bundle
no longer holds. Only those are unpacked and installed; the rest is linked from the running venv."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.metadata import Distribution, distributions
from pathlib import Path

from packaging.utils import InvalidWheelFilename, NormalizedName, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

KEPT_PROJECTS = frozenset({"pip"})  # in every venv for the next update, though no bundle lists it


@dataclass(frozen=True)
class Delta:
    """The bundle's wheels to install into a copy of the venv, and the projects to remove from it."""

    install: frozenset[str]  # wheel file names
    remove: tuple[str, ...]  # installed projects the bundle does not hold (canonical names)
    unchanged: int  # wheels already installed exactly so

    def __str__(self) -> str:
        return f"{len(self.install)} wheels to install, {len(self.remove)} to remove, {self.unchanged} unchanged"


def site_packages(venv: Path) -> Path:
    """The venv's own site-packages (lib/pythonX.Y/site-packages; one Python per venv)."""
    found = sorted(venv.glob("lib/python*/site-packages"))
    if len(found) != 1:
        raise FileNotFoundError(f"{venv} has no single lib/python*/site-packages")
    return found[0]


def installed(venv: Path) -> dict[NormalizedName, Distribution]:
    """The distributions in the venv's own site-packages (not the system's), by canonical name."""
    found = distributions(path=[str(site_packages(venv))])
    return {canonicalize_name(dist.metadata["Name"]): dist for dist in found if dist.metadata["Name"]}


def recorded_sha256(dist: Distribution) -> str | None:
    """The SHA-256 of the wheel file `dist` was installed from (PEP 610 archive_info), if pip recorded it."""
    try:
        archive = json.loads(dist.read_text("direct_url.json") or "{}").get("archive_info", {})
    except ValueError:
        return None
    digest = archive.get("hashes", {}).get("sha256")
    if digest is None and str(archive.get("hash", "")).startswith("sha256="):
        digest = archive["hash"].removeprefix("sha256=")
    return digest


def compute(venv: Path, wheels: dict[str, str]) -> Delta:
    """Compare the bundle's `wheels` (file name -> SHA-256) with what `venv` has installed."""
    have = installed(venv)
    install, names, unchanged = set(), set(), 0
    for wheel, digest in wheels.items():
        try:
            name, version, _build, _tags = parse_wheel_filename(wheel)
        except InvalidWheelFilename:
            install.add(wheel)  # pip refuses it with its own words
            continue
        names.add(name)
        dist = have.get(name)
        if dist is not None and _version(dist) == version and recorded_sha256(dist) == digest:
            unchanged += 1
        else:
            install.add(wheel)
    remove = tuple(sorted(name for name in have if name not in names and name not in KEPT_PROJECTS))
    return Delta(install=frozenset(install), remove=remove, unchanged=unchanged)


def _version(dist: Distribution) -> Version | None:
    try:
        return Version(dist.version)
    except InvalidVersion:
        return None
