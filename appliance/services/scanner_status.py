"""The scanner's heartbeat file, so that health (another process) can tell how the scanner is doing.

The runner rewrites `scanner_heartbeat.json` in KERYU_DATA_DIR atomically every few seconds;
`read_scanner_status` turns it into a health component. A file that stops being rewritten
means the scanner is dead or its loop is stuck.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from appliance.config import Settings

logger = logging.getLogger(__name__)

HEARTBEAT_FILE = "scanner_heartbeat.json"
STALE_SECONDS = 30.0  # the frame loop writes every 2 s; this much silence means it is dead or stuck

# Runner states and what each means for health.
STATE_STATUS = {
    "streaming": "ok",  # frames flow
    "watching": "ok",  # a dir:/video: camera polled fine; no new file is not a fault
    "starting": "degraded",
    "camera_error": "degraded",  # the camera failed; retried with backoff
    "no_camera": "degraded",  # auto found none, or KERYU_CAMERA=none
    "stopped": "down",
}


def heartbeat_path(settings: Settings) -> Path:
    return settings.data_dir / HEARTBEAT_FILE


def write_scanner_status(settings: Settings, status: dict[str, Any]) -> None:
    """Replace the heartbeat file in one rename, so a reader never sees half of it."""
    path = heartbeat_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({**status, "pid": os.getpid(), "written_at": time.time()}, default=str)
    fd, tmp = tempfile.mkstemp(prefix=".scanner_heartbeat.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_scanner_status(settings: Settings, *, now: float | None = None) -> dict[str, Any]:
    """The scanner's health component: {"status": "ok"|"degraded"|"down", "state", "camera", ...}."""
    now = time.time() if now is None else now
    try:
        data = json.loads(heartbeat_path(settings).read_text())
    except FileNotFoundError:
        return {"status": "down", "error": "the scanner has not run (no heartbeat file)"}
    except (OSError, ValueError) as exc:
        return {"status": "down", "error": f"unreadable heartbeat file ({exc})"}
    if not isinstance(data, dict):
        return {"status": "down", "error": "unreadable heartbeat file"}
    age = now - float(data.get("written_at", 0))
    state = str(data.get("state", "unknown"))
    component: dict[str, Any] = {
        "status": STATE_STATUS.get(state, "degraded"),
        "state": state,
        "camera": data.get("camera"),
        "heartbeat_seconds_ago": round(age, 1),
    }
    for key in ("detail", "decoder", "frames", "frames_decoded", "last_frame_at", "feedback"):
        if key in data:
            component[key] = data[key]
    if age > STALE_SECONDS and state != "stopped":
        component.update(status="down", error=f"no heartbeat for {age:.0f} s (scanner not running or stuck)")
    if state in ("camera_error", "no_camera", "starting") and data.get("detail"):
        component.setdefault("error", data["detail"])
    return component
