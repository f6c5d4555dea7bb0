"""covering indexes for the reports

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 01:45:00

The reports read a period's events and items from indexes alone (PostgreSQL's INCLUDE; on
SQLite the indexes are as before).
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TREND_COLUMNS = [
    "queue_code",
    "municipality_code",
    "channel",
    "service_area_code",
    "identification",
]
RESOLVED = "resolved_at IS NOT NULL"


def _replace(table: str, name: str, columns: list[str], **kw) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_index(name)
        batch_op.create_index(name, columns, unique=False, **kw)


def upgrade():
    _replace(
        "work_item",
        "ix_work_item_resolved",
        ["resolved_at"],
        postgresql_include=[*TREND_COLUMNS, "submitted_at"],
        postgresql_where=sa.text(RESOLVED),
        sqlite_where=sa.text(RESOLVED),
    )
    _replace("work_item", "ix_work_item_due", ["due_at"], postgresql_include=["id", "resolved_at"])
    _replace(
        "item_event", "ix_item_event_item", ["item_id", "id"], postgresql_include=["kind", "at"]
    )
    _replace(
        "item_event",
        "ix_item_event_kind_at",
        ["kind", "at"],
        postgresql_include=["item_id", "to_queue_code", "outcome_code"],
    )


def downgrade():
    _replace(
        "work_item",
        "ix_work_item_resolved",
        ["resolved_at"],
        postgresql_include=TREND_COLUMNS,
        postgresql_where=sa.text(RESOLVED),
        sqlite_where=sa.text(RESOLVED),
    )
    _replace("work_item", "ix_work_item_due", ["due_at"])
    _replace("item_event", "ix_item_event_item", ["item_id", "id"])
    _replace("item_event", "ix_item_event_kind_at", ["kind", "at"], postgresql_include=["item_id"])
