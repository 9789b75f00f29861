"""Schema creation and upgrades with Alembic, driven from code (`keryu init`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from appliance.store.db import Store

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _alembic_config(store: Store) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = store.engine
    return config


def current_revision(store: Store) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision this code knows."""
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def upgrade(store: Store, revision: str = "head") -> tuple[str | None, str | None]:
    """Create or upgrade the schema to `revision` (the newest by default); returns (before, after)."""
    before = current_revision(store)
    command.upgrade(_alembic_config(store), revision)
    return before, current_revision(store)
