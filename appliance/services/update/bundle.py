"""Make a `.kup`: the project's wheel and every dependency wheel for the device, a manifest of
their hashes and an Ed25519 signature over it, in one uncompressed tar (wheels are zips already).

The device wheels come the way the image gets them (image/steps/10-wheelhouse.sh, run here), or
from a wheelhouse folder already made by an image build (`--wheelhouse`).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_ssh_private_key

from appliance.errors import UserError
from appliance.services.update.manifest import MANIFEST_NAME, SIGNATURE_NAME, WHEELS_DIR, Manifest

ARCH_NAMES = {"arm64": "aarch64", "armhf": "armv7l", "amd64": "x86_64"}  # Debian name -> platform.machine()
_REVISION = re.compile(r'^(down_revision|revision)\s*(?::[^=]*)?=\s*["\']?([^"\'\s]*)["\']?', re.MULTILINE)
_PROJECT_WHEEL = re.compile(r"keryu-([^-]+)-.*\.whl")


@dataclass(frozen=True)
class Target:
    """The device a bundle is for."""

    arch: str
    python: str


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The owner's or project's Ed25519 private key (PEM or OpenSSH file, not encrypted)."""
    try:
        data = path.read_bytes()
        key = (
            load_ssh_private_key(data, password=None)
            if data.startswith(b"-----BEGIN OPENSSH")
            else load_pem_private_key(data, password=None)
        )
    except (OSError, ValueError, TypeError) as exc:
        raise UserError(
            "{path} is not a readable, unencrypted Ed25519 private key ({problem}).", path=str(path), problem=str(exc)
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(
            "{path} is not an Ed25519 key (make one: openssl genpkey -algorithm ed25519 -out {path}).", path=str(path)
        )
    return key


def image_target(source: Path) -> Target:
    """The architecture and Python of the SD image built from `source` (image/config)."""
    config = (source / "image" / "config").read_text()
    arch = re.search(r'^ARCH="([^"]+)"', config, re.MULTILINE)
    python = re.search(r'^TARGET_PYTHON="([^"]+)"', config, re.MULTILINE)
    if not arch or not python:
        raise UserError(
            "{source}/image/config names no ARCH or TARGET_PYTHON; give --arch and --python.", source=str(source)
        )
    return Target(arch=ARCH_NAMES.get(arch.group(1), arch.group(1)), python=python.group(1))


def schema_chain(source: Path) -> tuple[str, ...]:
    """The migration revisions of the checkout `source`, oldest first."""
    parents: dict[str | None, str] = {}
    for path in (source / "appliance" / "store" / "migrations" / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text()))
        if "revision" in found:
            parent = found.get("down_revision")
            parents[None if parent in (None, "", "None") else parent] = found["revision"]
    chain, current = [], parents.get(None)
    while current is not None:
        chain.append(current)
        current = parents.get(current)
    return tuple(chain)


def gather_wheels(source: Path, target: Path, wheelhouse: Path | None) -> None:
    """Fill `target` with the project's wheel (built from `source`) and the device's dependency
    wheels: copied from `wheelhouse`, else fetched by the image build's wheelhouse step."""
    if wheelhouse is None:
        env = dict(os.environ, REPO_DIR=str(source), IMAGE_DIR=str(source / "image"), WHEELHOUSE=str(target))
        env["TARGET_PYTHON"] = image_target(source).python
        with tempfile.TemporaryDirectory() as out:
            env["OUT"] = out
            subprocess.run(["bash", "-e", str(source / "image/steps/10-wheelhouse.sh")], env=env, check=True)
        return
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(target), str(source)],
        check=True,
    )
    for wheel in wheelhouse.glob("*.whl"):
        if not _PROJECT_WHEEL.fullmatch(wheel.name):
            shutil.copy2(wheel, target / wheel.name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def project_version(wheels: Path) -> str:
    """The Keryu version among `wheels` (exactly one project wheel)."""
    found = [match.group(1) for path in wheels.glob("keryu-*.whl") if (match := _PROJECT_WHEEL.fullmatch(path.name))]
    if len(found) != 1:
        raise UserError("Expected one keryu wheel in {folder}, found {count}.", folder=str(wheels), count=len(found))
    return found[0]


def write_bundle(wheels: Path, out: Path, key: Ed25519PrivateKey, target: Target, schemas: tuple[str, ...]) -> Manifest:
    """Write the signed `.kup` for the wheels in `wheels`; returns its manifest."""
    files = sorted(wheels.glob("*.whl"))
    manifest = Manifest(
        version=project_version(wheels),
        arch=target.arch,
        python=target.python,
        schema=schemas[-1] if schemas else None,
        min_schema=schemas[0] if schemas else None,
        schemas=schemas,
        wheels={path.name: _sha256(path) for path in files},
    )
    body = manifest.to_bytes()
    partial = out.with_name(f".{out.name}.partial")
    with tarfile.open(partial, "w:", format=tarfile.PAX_FORMAT) as archive:
        for name, data in ((MANIFEST_NAME, body), (SIGNATURE_NAME, key.sign(body))):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
        for path in files:
            archive.add(path, arcname=f"{WHEELS_DIR}/{path.name}", recursive=False)
    partial.replace(out)
    return manifest


def make_bundle(
    source: Path, out: Path, key_path: Path, *, wheelhouse: Path | None = None, target: Target | None = None
) -> Manifest:
    """`keryu bundle`: build the checkout `source` into a signed bundle at `out`."""
    key = load_signing_key(key_path)
    target = target or image_target(source)
    with tempfile.TemporaryDirectory(prefix="keryu-bundle-") as work:
        wheels = Path(work) / "wheels"
        gather_wheels(source, wheels, wheelhouse)
        return write_bundle(wheels, out, key, target, schema_chain(source))
