"""server-side admin sessions

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00

The session cookie used to carry `admin: True` on its own, so a saved cookie outlived logout
and password changes. Each login now has a row here, and the cookie is only good while it does.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )


def downgrade() -> None:
    op.drop_table("web_sessions")
