"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text

from appliance.store.db import Store
from appliance.store.migrate import MIGRATIONS_DIR, upgrade
from appliance.store.models import Alarm, Base

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def test_migrated_schema_matches_the_models(store):
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_channel_plans_written_as_text_become_lists(database_url):
    store = Store(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = store.engine
    try:
        command.upgrade(config, "0001")
        with store.engine.begin() as conn:
            for plan in ("1,2,3", "3", None):
                conn.execute(
                    text(
                        "INSERT INTO alarms (subject_name, recipient_phone, created_at, location, is_test,"
                        " notification_status, notification_sent, notification_attempts, plan_position,"
                        " channel_attempts, updated_at, channel_plan) VALUES ('Ana', '+525512345678',"
                        " CURRENT_TIMESTAMP, '', false, 'SENT', true, 1, 0, 0, CURRENT_TIMESTAMP, :plan)"
                    ),
                    {"plan": plan},
                )
        upgrade(store)
        with store.read() as session:
            assert session.scalars(select(Alarm.channel_plan).order_by(Alarm.id)).all() == [[1, 2, 3], [3], None]
        command.downgrade(config, "0001")
        with store.engine.connect() as conn:
            assert conn.scalars(text("SELECT channel_plan FROM alarms ORDER BY id")).all() == ["1,2,3", "3", None]
    finally:
        store.dispose()
