"""`keryu status` says how many frames a second the scanner sees and how much CPU it spends on them."""

from __future__ import annotations

import time

from appliance.scanner.frames import Meter
from appliance.scanner.heartbeat import ScannerState, ScannerStatus, read_scanner_status, write_scanner_status
from tests.fakes import FakeClock


def test_the_meter_gives_frames_per_second_and_cpu_since_the_last_reading():
    clock = FakeClock()
    meter = Meter(clock.monotonic)
    clock.advance(2.0)
    assert meter.read(30)[0] == 15.0  # 30 frames in 2 s
    busy_until = time.process_time() + 0.05
    while time.process_time() < busy_until:  # 50 ms of CPU in the next (fake) second
        pass
    clock.advance(1.0)
    fps, cpu = meter.read(45)
    assert fps == 15.0
    assert 5.0 <= cpu <= 50.0


def test_the_figures_reach_the_health_component(settings):
    figures = {"camera": "video:/x", "decoder": "auto", "frames": 300, "frames_decoded": 21, "last_frame_at": None}
    status = ScannerStatus(ScannerState.STREAMING, "", feedback="gpio", fps=15.0, cpu_percent=2.4, **figures)
    write_scanner_status(settings, status)
    component = read_scanner_status(settings)
    assert (component["fps"], component["cpu_percent"]) == (15.0, 2.4)
