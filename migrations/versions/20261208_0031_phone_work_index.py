"""the situation view's phone work: open callbacks and items waiting for the next call

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-08 09:00:00

The situation view counts callbacks waiting, due within the hour and overdue, and the items of
any channel waiting in their queue for the next call attempt. This partial index holds those
rows only, so the numbers cost the same with 100,000 other items open.
"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

PHONE_WORK = sa.text(
    "status IN ('new', 'in_progress', 'waiting') AND (channel = 'callback' OR retry_at IS NOT NULL)"
)


def upgrade():
    op.create_index(
        "ix_work_item_phone",
        "work_item",
        ["queue_code", "status", "due_at", "municipality_code"],
        # the columns the numbers test: counting them reads the index alone (an index-only
        # scan; without them each callback cost a read of its table page)
        postgresql_include=["channel", "retry_at"],
        postgresql_where=PHONE_WORK,
        sqlite_where=PHONE_WORK,
    )


def downgrade():
    op.drop_index("ix_work_item_phone", "work_item")
