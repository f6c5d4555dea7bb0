"""training: scenarios removed from a pack are kept, and a session keeps what it expected

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26 04:00:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.add_column(
        "training_scenario",
        sa.Column("retired", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("training_case", sa.Column("expected", JSON, nullable=True))
    # Sessions already run keep what their scenarios expected until now.
    op.execute(
        "UPDATE training_case SET expected = (SELECT s.expected FROM training_scenario s"
        " WHERE s.id = training_case.scenario_id)"
    )


def downgrade():
    with op.batch_alter_table("training_case") as batch:
        batch.drop_column("expected")
    with op.batch_alter_table("training_scenario") as batch:
        batch.drop_column("retired")
