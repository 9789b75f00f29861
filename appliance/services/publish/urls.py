"""The sinks' URLs taken apart, and shown without what must not be shown (user, password, path, token)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    user: str | None
    password: str | None
    tls: bool

    @classmethod
    def of(cls, url: str) -> Broker:
        """An mqtt:// or mqtts:// URL; user and password URL-decoded."""
        parts = urlsplit(url)
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (8883 if tls else 1883),
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def __repr__(self) -> str:  # never the password, even in a traceback's locals
        return f"Broker({self})"


def shown(url: str) -> str:
    """Any sink's URL as logs and health show it: scheme, host and port only."""
    if url.startswith(("mqtt://", "mqtts://")):
        return str(Broker.of(url))
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"
