"""what waits in each queue and municipality, in work order

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-12 09:00:00

The live stream keeps My work's lists per queue and municipality and composes each open
page's lists from them (desk.work.worklist.Shelf). Reading one queue and municipality's
first rows in work order is a range of this index; before, it was a walk of the takeable
items of every queue until enough of that one turned up. The index keeps its name and its
first two columns, so the counts it served read it as before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

TAKEABLE = sa.text("status = 'new' AND assignee_id IS NULL")


def upgrade():
    op.drop_index("ix_work_item_takeable_by_queue", "work_item")
    op.create_index(
        "ix_work_item_takeable_by_queue",
        "work_item",
        [
            "queue_code",
            "municipality_code",
            sa.literal_column("emergency DESC"),
            "order_due",
            "submitted_at",
            "title",
            "id",
        ],
        postgresql_where=TAKEABLE,
        sqlite_where=TAKEABLE,
    )


def downgrade():
    op.drop_index("ix_work_item_takeable_by_queue", "work_item")
    op.create_index(
        "ix_work_item_takeable_by_queue",
        "work_item",
        ["queue_code", "municipality_code"],
        postgresql_where=TAKEABLE,
        sqlite_where=TAKEABLE,
    )
