"""the service matrix is edited in the desk: who changed a row last, and when

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-26 05:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("digital_service", sa.Column("updated_by", sa.String(length=120), nullable=True))
    op.add_column("digital_service", sa.Column("updated_at", sa.DateTime(timezone=True)))


def downgrade():
    with op.batch_alter_table("digital_service") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("updated_by")
