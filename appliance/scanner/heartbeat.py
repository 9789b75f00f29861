"""The scanner's heartbeat file, so that health (another process) can tell how the scanner is doing.

The frame loop rewrites `scanner_heartbeat.json` atomically every few seconds in the runtime
folder (`Settings.run_dir`: /run/keryu on the device, in RAM, so the SD card is not written
every 2 s); `read_scanner_status` turns it into a health component. A file that stops being rewritten
means the scanner is dead or its loop is stuck.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from appliance.config import Settings
from appliance.i18n import Sentence

logger = logging.getLogger(__name__)

HEARTBEAT_FILE = "scanner_heartbeat.json"
STALE_SECONDS = 30.0  # the frame loop writes every 2 s; this much silence means it is dead or stuck


class ScannerState(StrEnum):
    """What the frame loop is doing; the heartbeat carries it to health."""

    STARTING = "starting"
    STREAMING = "streaming"  # frames flow
    WATCHING = "watching"  # the camera answers but shows nothing new (a dir:/video: camera between files)
    CAMERA_ERROR = "camera_error"  # the camera failed; retried with backoff
    NO_CAMERA = "no_camera"  # auto found none, or KERYU_CAMERA=none
    STOPPED = "stopped"


# What each state means for health; the degraded ones carry their detail as the error.
STATE_HEALTH: dict[ScannerState, str] = {
    ScannerState.STREAMING: "ok",
    ScannerState.WATCHING: "ok",
    ScannerState.STARTING: "degraded",
    ScannerState.CAMERA_ERROR: "degraded",
    ScannerState.NO_CAMERA: "degraded",
    ScannerState.STOPPED: "down",
}


@dataclass(frozen=True)
class ScannerStatus:
    """What one heartbeat says: the loop's state, its camera and decoder, and the frames it saw."""

    state: ScannerState
    detail: str
    camera: str
    decoder: str
    frames: int
    frames_decoded: int
    last_frame_at: datetime | None
    feedback: str  # "gpio", or "simulated" when no real pins are driven
    feedback_problem: str | None = None  # why the pins are simulated on a Raspberry Pi
    fps: float | None = None  # frames per second since the last heartbeat
    cpu_percent: float | None = None  # the scanner process's CPU since the last heartbeat, % of one core


def heartbeat_path(settings: Settings) -> Path:
    return settings.run_dir / HEARTBEAT_FILE


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path` and rename it over `path`, so a reader never
    sees half of it (the heartbeat here, the admin page's desk files in `scanner.desk`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_scanner_status(settings: Settings, status: ScannerStatus) -> None:
    """Replace the heartbeat file in one rename, so a reader never sees half of it."""
    fields = asdict(status)
    fields["last_frame_at"] = status.last_frame_at.isoformat() if status.last_frame_at else None
    body = json.dumps({**fields, "pid": os.getpid(), "written_at": time.time()})
    write_atomically(heartbeat_path(settings), body.encode())


def read_scanner_status(settings: Settings, *, now: float | None = None) -> dict[str, Any]:
    """The scanner's health component: {"status": "ok"|"degraded"|"down", "state", "camera", ...}."""
    now = time.time() if now is None else now
    try:
        data = json.loads(heartbeat_path(settings).read_text())
    except FileNotFoundError:
        return {"status": "down", "error": Sentence("the scanner has not run (no heartbeat file)")}
    except (OSError, ValueError) as exc:
        return {"status": "down", "error": Sentence("unreadable heartbeat file ({problem})", problem=str(exc))}
    if not isinstance(data, dict):
        return {"status": "down", "error": Sentence("unreadable heartbeat file")}
    age = now - float(data.get("written_at", 0))
    state = str(data.get("state", "unknown"))
    health = _health(state)
    component: dict[str, Any] = {
        "status": health or "degraded",
        "state": state,
        "camera": data.get("camera"),
        "heartbeat_seconds_ago": round(age, 1),
    }
    for key in ("detail", "decoder", "frames", "frames_decoded", "last_frame_at", "feedback", "feedback_problem"):
        if key in data:
            component[key] = data[key]
    for key in ("fps", "cpu_percent"):  # written by scanners since these figures exist
        if data.get(key) is not None:
            component[key] = data[key]
    if age > STALE_SECONDS and state != ScannerState.STOPPED:
        component.update(
            status="down", error=Sentence("no heartbeat for {age:.0f} s (scanner not running or stuck)", age=age)
        )
    if health == "degraded" and data.get("detail"):
        component.setdefault("error", data["detail"])
    return component


def _health(state: str) -> str | None:
    """ok, degraded or down for a known state; None for a state this version does not know."""
    try:
        return STATE_HEALTH[ScannerState(state)]
    except ValueError:
        return None
