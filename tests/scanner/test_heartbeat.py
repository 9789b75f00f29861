"""The scanner heartbeat file and the health component read from it."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

import pytest

from appliance.scanner.heartbeat import (
    ScannerState,
    ScannerStatus,
    heartbeat_path,
    read_scanner_status,
    write_scanner_status,
)


def status(state: ScannerState, detail: str = "", **fields) -> ScannerStatus:
    defaults = {"camera": "dir:/x", "decoder": "auto", "frames": 0, "frames_decoded": 0, "last_frame_at": None}
    return ScannerStatus(state=state, detail=detail, feedback="simulated", **{**defaults, **fields})


@pytest.mark.parametrize(
    ("state", "health"),
    [
        (ScannerState.STREAMING, "ok"),
        (ScannerState.WATCHING, "ok"),
        (ScannerState.STARTING, "degraded"),
        (ScannerState.CAMERA_ERROR, "degraded"),
        (ScannerState.NO_CAMERA, "degraded"),
        (ScannerState.STOPPED, "down"),
    ],
)
def test_each_state_maps_to_a_health_status(settings, state, health):
    write_scanner_status(settings, status(state, "why"))
    component = read_scanner_status(settings)
    assert (component["status"], component["state"], component["camera"]) == (health, state, "dir:/x")


def test_a_state_this_version_does_not_know_is_degraded(settings):
    heartbeat_path(settings).parent.mkdir(parents=True, exist_ok=True)
    heartbeat_path(settings).write_text(json.dumps({"state": "something new", "written_at": time.time()}))
    component = read_scanner_status(settings)
    assert (component["status"], component["state"]) == ("degraded", "something new") and "error" not in component


def test_a_heartbeat_not_rewritten_for_30_seconds_means_down(settings):
    write_scanner_status(settings, status(ScannerState.STREAMING, camera="opencv:0"))
    assert read_scanner_status(settings, now=time.time() + 29)["status"] == "ok"
    stale = read_scanner_status(settings, now=time.time() + 31)
    assert stale["status"] == "down" and "not running or stuck" in stale["error"]


def test_a_camera_error_carries_its_reason(settings):
    write_scanner_status(settings, status(ScannerState.CAMERA_ERROR, "USB camera 0 stopped giving frames"))
    assert read_scanner_status(settings)["error"] == "USB camera 0 stopped giving frames"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "has not run"),
        ("{not json", "unreadable"),
        ("[1, 2]", "unreadable"),
    ],
)
def test_a_missing_or_broken_file_means_down(settings, content, error):
    if content is not None:
        heartbeat_path(settings).parent.mkdir(parents=True, exist_ok=True)
        heartbeat_path(settings).write_text(content)
    component = read_scanner_status(settings)
    assert component["status"] == "down" and error in component["error"]


def test_the_file_is_replaced_whole_and_names_the_process(settings):
    seen = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
    write_scanner_status(settings, status(ScannerState.WATCHING))
    write_scanner_status(settings, status(ScannerState.STREAMING, frames=7, last_frame_at=seen))
    data = json.loads(heartbeat_path(settings).read_text())
    assert (data["state"], data["frames"], data["last_frame_at"]) == ("streaming", 7, "2026-11-25T18:00:00+00:00")
    assert data["pid"] == os.getpid()
    assert [p.name for p in heartbeat_path(settings).parent.iterdir() if p.name.startswith(".scanner")] == []
