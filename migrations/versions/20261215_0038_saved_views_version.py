"""a version of each person's saved views: every page's navigation reads them only when it moved

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-15 09:00:00

Every whole page shows the signed-in person's saved views in its navigation, which took a
statement a page. `user_account.saved_views_version` moves (in the same transaction) with
every view saved or removed; the statement that reads the request's user reads it too, and
each process keeps the views it read for as long as the version stands
(desk.views.situation.my_saved_views).
"""

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as table:
        table.add_column(
            sa.Column("saved_views_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade():
    with op.batch_alter_table("user_account") as table:
        table.drop_column("saved_views_version")
