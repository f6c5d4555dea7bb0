"""a resident's items by their personal identity code (search)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-26 04:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_work_item_personal_id",
        "work_item",
        ["personal_id", "submitted_at"],
        postgresql_where=sa.text("personal_id IS NOT NULL"),
        sqlite_where=sa.text("personal_id IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_work_item_personal_id", table_name="work_item")
