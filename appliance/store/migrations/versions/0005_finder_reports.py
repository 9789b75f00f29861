"""what a finder's phone adds to an alarm

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 21:30:00

A card's scan URL opens a public page on a finder's phone; its button raises the alarm like
the camera does. The alarm now says where it came from (`source`: camera, phone, web, api,
file; empty for alarms recorded before) and keeps the finder's optional note and phone number
for the custodians' message and the alarm page. Plain added columns: existing rows keep their data.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alarms", sa.Column("source", sa.String(length=16), nullable=True))
    op.add_column("alarms", sa.Column("finder_note", sa.Text(), nullable=True))
    op.add_column("alarms", sa.Column("finder_phone", sa.String(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column("alarms", "finder_phone")
    op.drop_column("alarms", "finder_note")
    op.drop_column("alarms", "source")
