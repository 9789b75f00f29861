"""A command's context builds the kiosk on first use and closes it when the command ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.cli.context import CliContext
from appliance.errors import DatabaseMissing
from appliance.services.database import migrate
from tests.conftest import DEAD_REDIS


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> Path:
    """A data directory as `keryu` would be given it; returns the SQLite file's path."""
    monkeypatch.setenv("KERYU_DATA_DIR", str(data_dir))
    monkeypatch.setenv("KERYU_CAMERA", "none")
    monkeypatch.setenv("REDIS_URL", DEAD_REDIS)
    return data_dir / "keryu.db"


def test_closing_the_context_closes_the_database_it_opened(environment):
    with CliContext() as ctx:
        migrate(ctx.unchecked_kiosk)
        assert ctx.kiosk is ctx.unchecked_kiosk
        assert environment.with_name("keryu.db-wal").exists()  # a connection is open
    assert not environment.with_name("keryu.db-wal").exists()  # SQLite removes it when the last one closes


def test_the_checked_kiosk_needs_init_but_the_unchecked_one_does_not(environment):
    with CliContext() as ctx:
        assert ctx.unchecked_kiosk.store.display_url.endswith("keryu.db")
        with pytest.raises(DatabaseMissing, match="keryu init"):
            _ = ctx.kiosk


def test_a_command_that_needs_nothing_opens_nothing(environment):
    with CliContext():
        pass
    assert not environment.exists()
