"""the moment of the first action, kept on the item

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 01:55:00

Written when someone first takes an item or the desk first gives it, like `resolved_at`;
existing items get it from their events.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TREND_COLUMNS = [
    "queue_code",
    "municipality_code",
    "channel",
    "service_area_code",
    "identification",
]


def upgrade():
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_action_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE work_item SET first_action_at = (SELECT min(e.at) FROM item_event e "
        "WHERE e.item_id = work_item.id AND e.kind IN ('taken', 'assigned'))"
    )
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.drop_index("ix_work_item_created")
        batch_op.create_index(
            "ix_work_item_created",
            ["created_at"],
            unique=False,
            postgresql_include=[*TREND_COLUMNS, "first_action_at"],
        )
        batch_op.drop_index("ix_work_item_due")
        batch_op.create_index(
            "ix_work_item_due",
            ["due_at"],
            unique=False,
            postgresql_include=["id", "resolved_at", "first_action_at"],
        )


def downgrade():
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.drop_index("ix_work_item_due")
        batch_op.create_index(
            "ix_work_item_due", ["due_at"], unique=False, postgresql_include=["id", "resolved_at"]
        )
        batch_op.drop_index("ix_work_item_created")
        batch_op.create_index(
            "ix_work_item_created", ["created_at"], unique=False, postgresql_include=TREND_COLUMNS
        )
        batch_op.drop_column("first_action_at")
