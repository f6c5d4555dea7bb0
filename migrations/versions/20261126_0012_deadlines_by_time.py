"""deadlines by time

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 01:40:00

"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.create_index("ix_work_item_due", ["due_at"], unique=False)


def downgrade():
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.drop_index("ix_work_item_due")
