"""The scanner's desk: how the admin page asks the scanner for a self-test or a preview, through files.

The scanner service owns the camera and the GPIO pins (the web service's sandbox has no devices
at all), so the page cannot blink an LED or grab a frame itself: it leaves a request file here,
the scanner's loop picks it up between frames and leaves an answer (JSON, and a JPEG snapshot).
Files rather than a Redis key because the self-test matters most when something is broken,
Redis included; because the heartbeat the page already reads travels the same way; and because
a JPEG is a file the page can stream as it is. Every file is written whole and renamed into
place, so a reader never sees half of one. The desk lives next to the heartbeat file, wherever
that is kept.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

from appliance.config import Settings
from appliance.scanner.heartbeat import heartbeat_path, write_atomically

DESK_DIR = "desk"
SELFTEST_REQUEST = "selftest-request.json"
PREVIEW_WANTED = "preview-wanted"
PREVIEW_IMAGE = "preview.jpg"
PREVIEW_STATUS = "preview.json"
PREVIEW_WANTED_FOR = 10.0  # seconds a page's last look keeps the preview being written
READS_RELIABLY_FROM = 2.0  # pixels per module from which a still card reads (bench/README.md)
DESIGN_FOR = 3.0  # what to place the camera for: tilted, moving or badly lit cards still read (docs/scanner.md)
KEEP_ANSWERS = 3  # older self-test answers and snapshots are removed
_ID = re.compile(r"^[0-9a-f]{16}$")


def desk_dir(settings: Settings) -> Path:
    return heartbeat_path(settings).parent / DESK_DIR


def valid_id(request_id: str) -> bool:
    return bool(_ID.match(request_id))


def answer_path(settings: Settings, request_id: str) -> Path:
    return desk_dir(settings) / f"selftest-{request_id}.json"


def snapshot_path(settings: Settings, request_id: str) -> Path:
    return desk_dir(settings) / f"snapshot-{request_id}.jpg"


# The page's side.


def request_selftest(settings: Settings) -> str:
    """Ask the scanner for a self-test; returns the id its answer will carry."""
    request_id = secrets.token_hex(8)
    body = {"id": request_id, "asked_at": time.time()}
    write_atomically(desk_dir(settings) / SELFTEST_REQUEST, json.dumps(body).encode())
    return request_id


def read_answer(settings: Settings, request_id: str) -> dict[str, Any] | None:
    """The scanner's answer to self-test `request_id`, or None while there is none."""
    try:
        return json.loads(answer_path(settings, request_id).read_text())
    except (FileNotFoundError, ValueError):
        return None


def want_preview(settings: Settings) -> None:
    """Tell the scanner a page is looking, so it keeps writing preview frames for a few seconds."""
    path = desk_dir(settings) / PREVIEW_WANTED
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def read_preview_status(settings: Settings) -> dict[str, Any] | None:
    try:
        return json.loads((desk_dir(settings) / PREVIEW_STATUS).read_text())
    except (FileNotFoundError, ValueError):
        return None


# The scanner's side.


def take_selftest_request(settings: Settings) -> str | None:
    """The id of a waiting self-test request, removing it so that it is served once; None if none waits."""
    path = desk_dir(settings) / SELFTEST_REQUEST
    try:
        body = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        body = {}
    path.unlink(missing_ok=True)
    request_id = str(body.get("id", "")) if isinstance(body, dict) else ""
    return request_id if valid_id(request_id) else None


def preview_wanted(settings: Settings, *, now: float | None = None) -> bool:
    """A page asked for the preview within the last PREVIEW_WANTED_FOR seconds."""
    try:
        asked = (desk_dir(settings) / PREVIEW_WANTED).stat().st_mtime
    except FileNotFoundError:
        return False
    return (time.time() if now is None else now) - asked < PREVIEW_WANTED_FOR


def write_answer(settings: Settings, request_id: str, report: dict[str, Any], jpeg: bytes | None) -> None:
    """The snapshot first, then the answer that points to it; then forget the oldest answers."""
    if jpeg is not None:
        write_atomically(snapshot_path(settings, request_id), jpeg)
    write_atomically(answer_path(settings, request_id), json.dumps(report).encode())
    answers = sorted(desk_dir(settings).glob("selftest-*.json"), key=lambda p: p.stat().st_mtime)
    for old in answers[:-KEEP_ANSWERS]:
        old_id = old.stem.removeprefix("selftest-")
        old.unlink(missing_ok=True)
        snapshot_path(settings, old_id).unlink(missing_ok=True)


def write_preview(settings: Settings, jpeg: bytes | None, status: dict[str, Any]) -> None:
    if jpeg is not None:
        write_atomically(desk_dir(settings) / PREVIEW_IMAGE, jpeg)
    write_atomically(desk_dir(settings) / PREVIEW_STATUS, json.dumps(status).encode())
