"""several custodians per subject, one notification row per custodian, escalation

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 21:30:00

A custodian now belongs to one subject (`custodians.subject_id`) with a language, an order and
an active flag; every existing subject's custodian becomes its first (a custodian row shared by
several subjects is copied, one per subject). Alarms gain what ties a notification to its
custodian and to the alarm it belongs to: existing alarms are their first custodian's
notification, as the contract's seed fields already describe. Columns are added with plain
ALTER TABLE on both backends, so SQLite never copies a table (a copy with foreign keys on would
cascade deletes to cards and attempts). For the same reason the three new references carry no
FOREIGN KEY: SQLite can add a column's REFERENCES clause but not name it, nor drop the column
again. Subjects and custodians are never deleted (they are deactivated), and a notification
row is finished, and so removed by retention, together with the alarm it belongs to.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

REFERENCES = (("custodians", "subject_id"), ("alarms", "parent_id"), ("alarms", "custodian_id"))


def upgrade() -> None:
    for table, column in REFERENCES:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
    op.add_column("custodians", sa.Column("language", sa.String(length=5), server_default="es", nullable=False))
    op.add_column("custodians", sa.Column("position", sa.Integer(), server_default="0", nullable=False))
    op.add_column("custodians", sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column("alarms", sa.Column("recipient_name", sa.String(length=120), nullable=True))
    op.add_column("alarms", sa.Column("role", sa.String(length=12), server_default="custodian", nullable=False))
    op.add_column("alarms", sa.Column("escalation_reason", sa.Text(), nullable=True))
    op.add_column("alarms", sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("alarms", sa.Column("rerouted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_custodians_subject_id"), "custodians", ["subject_id"], unique=False)
    op.create_index(op.f("ix_alarms_parent_id"), "alarms", ["parent_id"], unique=False)
    _each_subject_its_own_first_custodian()
    op.execute(
        "UPDATE alarms SET custodian_id = (SELECT subjects.custodian_id FROM subjects"
        " WHERE subjects.id = alarms.subject_id), recipient_name = (SELECT custodians.name FROM subjects"
        " JOIN custodians ON custodians.id = subjects.custodian_id WHERE subjects.id = alarms.subject_id)"
        " WHERE alarms.subject_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_alarms_parent_id"), table_name="alarms")
    op.drop_index(op.f("ix_custodians_subject_id"), table_name="custodians")
    op.execute("DELETE FROM alarms WHERE parent_id IS NOT NULL")
    for column in ("recipient_name", "role", "escalation_reason", "escalated_at", "rerouted_at"):
        op.drop_column("alarms", column)
    for column in ("language", "position", "active"):
        op.drop_column("custodians", column)
    for table, column in REFERENCES:
        op.drop_column(table, column)


def _each_subject_its_own_first_custodian() -> None:
    """Give `subject_id` to every subject's custodian; a custodian two subjects shared is copied for the second."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, custodian_id FROM subjects ORDER BY id")).all()
    for subject_id, custodian_id in rows:
        owner = bind.execute(sa.text("SELECT subject_id FROM custodians WHERE id = :id"), {"id": custodian_id}).scalar()
        if owner is None:
            bind.execute(
                sa.text("UPDATE custodians SET subject_id = :subject WHERE id = :id"),
                {"subject": subject_id, "id": custodian_id},
            )
            continue
        bind.execute(
            sa.text(
                "INSERT INTO custodians (name, phone, created_at, subject_id, language, position, active)"
                " SELECT name, phone, created_at, :subject, language, 0, active FROM custodians WHERE id = :id"
            ),
            {"subject": subject_id, "id": custodian_id},
        )
        copy = bind.execute(
            sa.text("SELECT max(id) FROM custodians WHERE subject_id = :subject"), {"subject": subject_id}
        ).scalar()
        bind.execute(
            sa.text("UPDATE subjects SET custodian_id = :copy WHERE id = :subject"),
            {"copy": copy, "subject": subject_id},
        )


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"
