"""open items in work order, and covering trend indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 01:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OPEN = "status IN ('new', 'in_progress', 'waiting')"
RESOLVED = "resolved_at IS NOT NULL"
TREND_COLUMNS = [
    "queue_code",
    "municipality_code",
    "channel",
    "service_area_code",
    "identification",
]


def upgrade():
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.create_index(
            "ix_work_item_open_order",
            [sa.literal_column("emergency DESC"), "due_at", "submitted_at", "title", "id"],
            unique=False,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )
        batch_op.drop_index("ix_work_item_created")
        batch_op.create_index(
            "ix_work_item_created", ["created_at"], unique=False, postgresql_include=TREND_COLUMNS
        )
        batch_op.drop_index(
            "ix_work_item_resolved",
            postgresql_where=sa.text(RESOLVED),
            sqlite_where=sa.text(RESOLVED),
        )
        batch_op.create_index(
            "ix_work_item_resolved",
            ["resolved_at"],
            unique=False,
            postgresql_include=TREND_COLUMNS,
            postgresql_where=sa.text(RESOLVED),
            sqlite_where=sa.text(RESOLVED),
        )


def downgrade():
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.drop_index("ix_work_item_open_order")
        batch_op.drop_index("ix_work_item_created")
        batch_op.create_index("ix_work_item_created", ["created_at"], unique=False)
        batch_op.drop_index("ix_work_item_resolved")
        batch_op.create_index(
            "ix_work_item_resolved",
            ["resolved_at"],
            unique=False,
            postgresql_where=sa.text(RESOLVED),
            sqlite_where=sa.text(RESOLVED),
        )
