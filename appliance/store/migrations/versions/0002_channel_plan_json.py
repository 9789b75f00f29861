"""channel plan as a JSON list

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:00:00

`alarms.channel_plan` held "1,2,3" and was parsed on every turn of the delivery loop; it is
now the JSON list [1, 2, 3]. A new column is filled from the old one, which is then dropped
and the new one renamed: plain ALTER TABLE on both backends (SQLite 3.35+ drops columns), so
SQLite never copies the alarms table (a copy with foreign keys on would cascade to attempts).
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alarms", sa.Column("channel_plan_list", sa.JSON(), nullable=True))
    as_json = "CAST('[' || channel_plan || ']' AS JSON)" if _postgres() else "'[' || channel_plan || ']'"
    op.execute(f"UPDATE alarms SET channel_plan_list = {as_json} WHERE channel_plan IS NOT NULL")
    op.drop_column("alarms", "channel_plan")
    op.alter_column("alarms", "channel_plan_list", new_column_name="channel_plan")


def downgrade() -> None:
    op.add_column("alarms", sa.Column("channel_plan_text", sa.String(length=16), nullable=True))
    as_text = "CAST(channel_plan AS TEXT)" if _postgres() else "channel_plan"
    op.execute(
        f"UPDATE alarms SET channel_plan_text = REPLACE(REPLACE(REPLACE({as_text}, '[', ''), ']', ''), ' ', '')"
        " WHERE channel_plan IS NOT NULL"
    )
    op.drop_column("alarms", "channel_plan")
    op.alter_column("alarms", "channel_plan_text", new_column_name="channel_plan")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"
