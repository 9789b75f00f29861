"""alarms recorded before the clock was set

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 21:40:00

The Pi has no battery-backed clock: until the network time arrives after a power cut, the
time an alarm is given is a stale guess. Each alarm now says whether the clock was synced when
it was recorded, and keeps the boot it was recorded in and the monotonic time of that boot, so
that its time can be corrected once the clock is synced. Existing alarms are marked synced:
nothing is known about them. Plain ADD/DROP COLUMN on both backends (SQLite 3.35+).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alarms", sa.Column("clock_synced", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("alarms", sa.Column("boot_id", sa.String(length=36), nullable=True))
    op.add_column("alarms", sa.Column("created_monotonic", sa.Float(), nullable=True))
    op.add_column("alarms", sa.Column("time_corrected_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for column in ("time_corrected_at", "created_monotonic", "boot_id", "clock_synced"):
        op.drop_column("alarms", column)
