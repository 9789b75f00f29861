"""The scanner heartbeat file and the health component read from it."""

from __future__ import annotations

import json
import os
import time

import pytest

from appliance.services.scanner_status import heartbeat_path, read_scanner_status, write_scanner_status


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("streaming", "ok"),
        ("watching", "ok"),
        ("starting", "degraded"),
        ("camera_error", "degraded"),
        ("no_camera", "degraded"),
        ("stopped", "down"),
        ("something new", "degraded"),
    ],
)
def test_each_state_maps_to_a_health_status(settings, state, status):
    write_scanner_status(settings, {"state": state, "camera": "dir:/x", "detail": "why"})
    component = read_scanner_status(settings)
    assert (component["status"], component["state"], component["camera"]) == (status, state, "dir:/x")


def test_a_heartbeat_not_rewritten_for_30_seconds_means_down(settings):
    write_scanner_status(settings, {"state": "streaming", "camera": "opencv:0"})
    assert read_scanner_status(settings, now=time.time() + 29)["status"] == "ok"
    stale = read_scanner_status(settings, now=time.time() + 31)
    assert stale["status"] == "down" and "not running or stuck" in stale["error"]


def test_a_camera_error_carries_its_reason(settings):
    write_scanner_status(settings, {"state": "camera_error", "detail": "USB camera 0 stopped giving frames"})
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
        heartbeat_path(settings).write_text(content)
    component = read_scanner_status(settings)
    assert component["status"] == "down" and error in component["error"]


def test_the_file_is_replaced_whole_and_names_the_process(settings):
    write_scanner_status(settings, {"state": "watching"})
    write_scanner_status(settings, {"state": "streaming", "frames": 7})
    data = json.loads(heartbeat_path(settings).read_text())
    assert data["state"] == "streaming" and data["frames"] == 7 and data["pid"] == os.getpid()
    assert [p.name for p in heartbeat_path(settings).parent.iterdir() if p.name.startswith(".scanner")] == []
