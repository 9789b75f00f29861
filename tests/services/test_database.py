"""`keryu init`'s migration leaves the data folder and the SQLite database readable by their
owner only, whatever the umask (someone with a shell on the machine must not copy them)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.services.database import migrate
from appliance.services.kiosk import Kiosk
from tests.conftest import DEAD_REDIS


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask():
    old = os.umask(0)
    yield
    os.umask(old)


def _kiosk(data_dir: Path) -> Kiosk:
    settings = load_settings(KERYU_DATA_DIR=str(data_dir), KERYU_CAMERA="none", REDIS_URL=DEAD_REDIS)
    return Kiosk.from_settings(settings)


def test_another_local_user_cannot_read_a_new_database(tmp_path: Path, permissive_umask):
    data_dir = tmp_path / "fresh" / "data"
    kiosk = _kiosk(data_dir)
    try:
        migrate(kiosk)
        database = data_dir / "keryu.db"
        assert _mode(data_dir) == 0o700
        assert _mode(database) == 0o600
        for companion in ("keryu.db-wal", "keryu.db-shm"):  # the kiosk's connections keep them open
            assert _mode(data_dir / companion) == 0o600, companion
    finally:
        kiosk.close()


def test_init_closes_an_open_data_folder_and_database(tmp_path: Path, permissive_umask):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o777)
    (data_dir / "keryu.db").touch(mode=0o666)
    kiosk = _kiosk(data_dir)
    try:
        migrate(kiosk)
        assert (_mode(data_dir), _mode(data_dir / "keryu.db")) == (0o700, 0o600)
        migrate(kiosk)  # again: idempotent
        assert (_mode(data_dir), _mode(data_dir / "keryu.db")) == (0o700, 0o600)
    finally:
        kiosk.close()
