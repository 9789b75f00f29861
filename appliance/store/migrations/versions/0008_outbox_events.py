"""outbox of scans and alarm status changes for the publishers (MQTT, webhook)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 00:50:00

Every accepted scan and every change of an alarm's (or a custodian's notification's)
`notification_status` adds a row to `outbox_events`, written by triggers in the same
transaction as the change: every path that changes a status (there are a dozen conditional
UPDATEs in store/alarm_state.py, and the admin's retry) is covered at once, nothing is
published for a rolled-back change, and nothing is lost while a broker is away. A notification
row's insert adds nothing (its alarm's insert does); its status changes do, under the alarm's id.
Each publisher keeps its own cursor in `outbox_cursors`. Existing data is untouched: the outbox
starts empty, and a publisher turned on starts from the newest event.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COLUMNS = "(kind, alarm_id, row_id, status, occurred_at)"

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER outbox_alarm_insert AFTER INSERT ON alarms WHEN NEW.parent_id IS NULL BEGIN
        INSERT INTO outbox_events {_COLUMNS} VALUES ('alarm', NEW.id, NEW.id, NEW.notification_status, NEW.created_at);
    END""",
    f"""CREATE TRIGGER outbox_alarm_status AFTER UPDATE OF notification_status ON alarms
    WHEN OLD.notification_status IS NOT NEW.notification_status BEGIN
        INSERT INTO outbox_events {_COLUMNS}
        VALUES ('alarm', COALESCE(NEW.parent_id, NEW.id), NEW.id, NEW.notification_status, NEW.updated_at);
    END""",
    f"""CREATE TRIGGER outbox_scan AFTER INSERT ON scan_events WHEN NEW.outcome = 'accepted' BEGIN
        INSERT INTO outbox_events {_COLUMNS} VALUES ('scan', NEW.alarm_id, NEW.alarm_id, NULL, NEW.created_at);
    END""",
)

POSTGRES_TRIGGERS = (
    f"""CREATE FUNCTION outbox_alarm_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' AND NEW.parent_id IS NULL THEN
            INSERT INTO outbox_events {_COLUMNS}
            VALUES ('alarm', NEW.id, NEW.id, NEW.notification_status, NEW.created_at);
        ELSIF TG_OP = 'UPDATE' AND OLD.notification_status IS DISTINCT FROM NEW.notification_status THEN
            INSERT INTO outbox_events {_COLUMNS}
            VALUES ('alarm', COALESCE(NEW.parent_id, NEW.id), NEW.id, NEW.notification_status, NEW.updated_at);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER outbox_alarm_event AFTER INSERT OR UPDATE OF notification_status
    ON alarms FOR EACH ROW EXECUTE FUNCTION outbox_alarm_event()""",
    f"""CREATE FUNCTION outbox_scan_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.outcome = 'accepted' THEN
            INSERT INTO outbox_events {_COLUMNS} VALUES ('scan', NEW.alarm_id, NEW.alarm_id, NULL, NEW.created_at);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER outbox_scan_event AFTER INSERT ON scan_events
    FOR EACH ROW EXECUTE FUNCTION outbox_scan_event()""",
)


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=True),
        sa.Column("row_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_outbox_events_occurred_at"), "outbox_events", ["occurred_at"])
    op.create_table(
        "outbox_cursors",
        sa.Column("sink", sa.String(length=16), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("sink", name=op.f("pk_outbox_cursors")),
    )
    for statement in POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER outbox_scan_event ON scan_events")
        op.execute("DROP FUNCTION outbox_scan_event()")
        op.execute("DROP TRIGGER outbox_alarm_event ON alarms")
        op.execute("DROP FUNCTION outbox_alarm_event()")
    else:
        for name in ("alarm_insert", "alarm_status", "scan"):
            op.execute(f"DROP TRIGGER outbox_{name}")
    op.drop_table("outbox_cursors")
    op.drop_index(op.f("ix_outbox_events_occurred_at"), table_name="outbox_events")
    op.drop_table("outbox_events")
