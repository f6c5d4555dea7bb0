"""a training role beside a real one

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26 03:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("user_account", sa.Column("training_role", sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("training_role")
