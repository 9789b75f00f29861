"""The outbound webhook's signature: HMAC-SHA256 of `<timestamp>.<raw body>` with KERYU_WEBHOOK_SECRET.

Sent as `X-Keryu-Signature: t=<unix seconds>,v1=<hex digest>`. The timestamp is inside what is
signed, so a receiver that refuses old timestamps refuses a replayed request too.
docs/home-assistant.md shows the receiver's side in a few lines of Python.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Keryu-Signature"


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
