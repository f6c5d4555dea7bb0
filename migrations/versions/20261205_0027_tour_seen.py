"""the first-day tour, remembered per person

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 09:00:00

The training space's tour was remembered in the browser (localStorage), so it came back on
another computer and never showed to a second person on a shared one; the real desk's new
first-day tour is remembered on the server. Everyone who has already chosen a status has
worked at the desk: they are not interrupted by a tour on their next sign-in (the top bar's
"Tour" opens it).
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "user_account", sa.Column("tour_seen_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute("UPDATE user_account SET tour_seen_at = status_since WHERE status_since IS NOT NULL")


def downgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("tour_seen_at")
