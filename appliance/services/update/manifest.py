"""The bundle's manifest: what a `.kup` holds and for which device, signed as its exact bytes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

FORMAT = 1
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
WHEELS_DIR = "wheels"


@dataclass(frozen=True)
class Manifest:
    """Version, target device (arch, Python), database schema and the SHA-256 of every wheel."""

    version: str
    arch: str  # platform.machine() of the device, e.g. aarch64
    python: str  # major.minor of the device's Python, e.g. 3.13
    schema: str | None  # the newest database revision this version's migrations reach
    min_schema: str | None  # the oldest revision they upgrade from
    schemas: tuple[str, ...] = ()  # every revision the version knows, oldest first
    wheels: dict[str, str] = field(default_factory=dict)  # file name -> sha256 hex
    format: int = FORMAT

    def to_bytes(self) -> bytes:
        body = asdict(self)
        body["schemas"] = list(self.schemas)
        return json.dumps(body, indent=2, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse a manifest (already signature-checked); ValueError when it is not one."""
        try:
            body = json.loads(data)
            return cls(
                version=str(body["version"]),
                arch=str(body["arch"]),
                python=str(body["python"]),
                schema=body.get("schema"),
                min_schema=body.get("min_schema"),
                schemas=tuple(str(rev) for rev in body.get("schemas", [])),
                wheels={str(name): str(digest) for name, digest in body["wheels"].items()},
                format=int(body.get("format", FORMAT)),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError("the bundle's manifest cannot be read") from exc
