"""instructions shown on item pages

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 02:20:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "instructions_shown",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "shown",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["work_item.id"], name=op.f("fk_instructions_shown_item_id_work_item")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_instructions_shown_user_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instructions_shown")),
    )
    op.create_index("ix_instructions_shown_item", "instructions_shown", ["item_id", "user_id"])


def downgrade():
    op.drop_index("ix_instructions_shown_item", table_name="instructions_shown")
    op.drop_table("instructions_shown")
