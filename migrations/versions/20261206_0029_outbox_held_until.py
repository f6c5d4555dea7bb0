"""the outbox remembers a receiver's Retry-After

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 09:00:00

An endpoint that takes an event again after failing gets its other waiting events at once, and
while it fails one waiting event is tried every 30 s (desk.outbound.delivery); an event that the
receiver asked to hold back with Retry-After is the exception, so the outbox keeps until when.
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "outbox_event", sa.Column("held_until", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade():
    with op.batch_alter_table("outbox_event") as batch:
        batch.drop_column("held_until")
