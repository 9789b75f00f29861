"""Open a `.kup`: check its signature and every wheel's hash before anything is installed, then
whether it fits this kiosk (architecture, Python, version, database schema)."""

from __future__ import annotations

import hashlib
import re
import shutil
import tarfile
from collections.abc import Callable, Collection
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key, load_ssh_public_key
from packaging.version import InvalidVersion, Version

from appliance.services.update import errors
from appliance.services.update.errors import UpdateRefused
from appliance.services.update.manifest import MANIFEST_NAME, SIGNATURE_NAME, WHEELS_DIR, Manifest

_WHEEL_NAME = re.compile(r"[A-Za-z0-9_.+!-]+\.whl")
MAX_MANIFEST_BYTES = 1024 * 1024
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle whose signature and hashes were checked, its wheels unpacked in `wheels`."""

    manifest: Manifest
    wheels: Path
    name: str

    @property
    def size(self) -> int:
        return sum(path.stat().st_size for path in self.wheels.iterdir())


@dataclass(frozen=True)
class Device:
    """What a bundle must match: this machine's architecture and Python, and what runs now."""

    arch: str
    python: str
    running: str | None  # the running Keryu version
    schema: str | None  # the database's revision (None: no database yet)


def trusted_keys(folder: Path) -> list[Ed25519PublicKey]:
    """The Ed25519 public keys in `folder` (PEM or OpenSSH one-line files); others are ignored."""
    keys = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        data = path.read_bytes()
        try:
            key = load_ssh_public_key(data) if data.startswith(b"ssh-") else load_pem_public_key(data)
        except ValueError:
            continue
        if isinstance(key, Ed25519PublicKey):
            keys.append(key)
    return keys


def _signed_by(keys: list[Ed25519PublicKey], signature: bytes, data: bytes) -> bool:
    for key in keys:
        try:
            key.verify(signature, data)
            return True
        except InvalidSignature:
            continue
    return False


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = archive.extractfile(member)
    if handle is None or member.size > MAX_MANIFEST_BYTES:
        raise ValueError(member.name)
    return handle.read()


def unpack_verified(
    bundle: Path, staging: Path, keys_dir: Path, wanted: Callable[[Manifest], Collection[str]] | None = None
) -> VerifiedBundle:
    """Check the signature over the manifest, then hash every listed wheel, unpacking into
    `staging` those that `wanted(manifest)` names (default: all; an update needs only the wheels
    it changes); any mismatch deletes what was unpacked and refuses the bundle."""
    name = bundle.name
    keys = trusted_keys(keys_dir)
    if not keys:
        raise UpdateRefused(errors.no_keys(keys_dir))
    try:
        archive = tarfile.open(bundle, "r:")  # noqa: SIM115 (closed by the with below)
    except (OSError, tarfile.TarError):
        raise UpdateRefused(errors.not_a_bundle(name)) from None
    with archive:
        try:
            members = {member.name: member for member in archive.getmembers()}
            manifest_bytes = _read_member(archive, members[MANIFEST_NAME])
            signature = _read_member(archive, members[SIGNATURE_NAME])
        except (KeyError, ValueError, tarfile.TarError):
            raise UpdateRefused(errors.not_a_bundle(name)) from None
        if not _signed_by(keys, signature, manifest_bytes):
            raise UpdateRefused(errors.bad_signature(name))
        try:
            manifest = Manifest.from_bytes(manifest_bytes)
        except ValueError:
            raise UpdateRefused(errors.not_a_bundle(name)) from None
        shutil.rmtree(staging, ignore_errors=True)
        wheels = staging / WHEELS_DIR
        wheels.mkdir(parents=True)
        try:
            keep = set(manifest.wheels) if wanted is None else set(wanted(manifest))
            _unpack_wheels(archive, members, manifest, wheels, name, keep)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return VerifiedBundle(manifest=manifest, wheels=wheels, name=name)


def _unpack_wheels(
    archive: tarfile.TarFile,
    members: dict[str, tarfile.TarInfo],
    manifest: Manifest,
    target: Path,
    name: str,
    keep: set[str],
) -> None:
    for member_name in members:
        if member_name in (MANIFEST_NAME, SIGNATURE_NAME, WHEELS_DIR):
            continue
        wheel = member_name.removeprefix(f"{WHEELS_DIR}/")
        if wheel not in manifest.wheels:
            raise UpdateRefused(errors.wrong_contents(name, member_name))
    for wheel, expected in manifest.wheels.items():
        member = members.get(f"{WHEELS_DIR}/{wheel}")
        if not _WHEEL_NAME.fullmatch(wheel) or member is None or not member.isfile():
            raise UpdateRefused(errors.changed_wheel(name, wheel))
        source = archive.extractfile(member)
        if source is None:
            raise UpdateRefused(errors.changed_wheel(name, wheel))
        digest = hashlib.sha256()
        with (target / wheel).open("xb") if wheel in keep else nullcontext() as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                if out is not None:
                    out.write(chunk)
        if digest.hexdigest() != expected:
            raise UpdateRefused(errors.changed_wheel(name, wheel))


def check_fits(bundle: VerifiedBundle, device: Device, *, allow_downgrade: bool = False) -> None:
    """Refuse a bundle for another machine, an older (or the same) version, or an unknown schema."""
    manifest, name = bundle.manifest, bundle.name
    if manifest.arch != device.arch:
        raise UpdateRefused(errors.wrong_arch(name, manifest.arch, device.arch))
    if manifest.python != device.python:
        raise UpdateRefused(errors.wrong_python(name, manifest.python, device.python))
    if device.running is not None:
        try:
            new, running = Version(manifest.version), Version(device.running)
        except InvalidVersion:
            raise UpdateRefused(errors.not_a_bundle(name)) from None
        if new == running:
            raise UpdateRefused(errors.same_version(manifest.version))
        if new < running and not allow_downgrade:
            raise UpdateRefused(errors.older_version(name, manifest.version, device.running))
    if device.schema is not None and manifest.schemas and device.schema not in manifest.schemas:
        raise UpdateRefused(errors.unknown_schema(name, manifest.version, device.schema))
