"""retention: when an item's resident data was erased, and the resolved items still to erase

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-09 09:00:00

After an item is resolved and the retention period has passed, its resident's data is erased
(desk.work.retention) and `erased_at` says when. The partial index holds the resolved items
not yet erased, so the scheduler's look for what is due reads only the last retention
period's items, however long the history.
"""

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

UNERASED = sa.text("resolved_at IS NOT NULL AND erased_at IS NULL")


def upgrade():
    op.add_column("work_item", sa.Column("erased_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_work_item_unerased",
        "work_item",
        ["resolved_at"],
        postgresql_where=UNERASED,
        sqlite_where=UNERASED,
    )


def downgrade():
    op.drop_index("ix_work_item_unerased", "work_item")
    op.drop_column("work_item", "erased_at")
