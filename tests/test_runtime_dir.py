"""Files rewritten every few seconds live in a RAM folder on the device, never on the SD card."""

from __future__ import annotations

import json
from pathlib import Path

from appliance.config import load_settings
from appliance.scanner.heartbeat import ScannerState, ScannerStatus, read_scanner_status, write_scanner_status


def _status() -> ScannerStatus:
    return ScannerStatus(ScannerState.WATCHING, "", "dir:/x", "zxing", 3, 1, None, "gpio")


def test_the_device_keeps_the_scanner_heartbeat_in_its_runtime_folder(tmp_path: Path) -> None:
    data, run = tmp_path / "data", tmp_path / "run-keryu"
    settings = load_settings(KERYU_DATA_DIR=str(data), KERYU_RUNTIME_DIR=str(run))

    write_scanner_status(settings, _status())

    assert json.loads((run / "scanner_heartbeat.json").read_text())["state"] == "watching"
    assert not data.exists()  # nothing written under the data folder (the SD card on the device)
    assert read_scanner_status(settings)["status"] == "ok"


def test_without_a_runtime_folder_the_development_kiosk_uses_run_in_its_data_folder(tmp_path: Path) -> None:
    settings = load_settings(KERYU_DATA_DIR=str(tmp_path / "data"))

    write_scanner_status(settings, _status())

    assert settings.run_dir == tmp_path / "data/run"
    assert (tmp_path / "data/run/scanner_heartbeat.json").is_file()
