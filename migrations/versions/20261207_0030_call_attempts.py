"""phone calls: attempts on an item, and each queue's rule for trying again

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 09:00:00

A professional records every call attempt on an item with a phone number (desk.work.calls).
An unanswered one sends the item back to its queue to wait for its next try, which the queue's
rule sets (at least so many minutes later, within its calling hours on working days, at most so
many attempts); the sweep makes it takeable again when the time comes. A callback's number is
the item's phone number.
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

RETRYING = sa.text("retry_at IS NOT NULL")


def upgrade():
    with op.batch_alter_table("queue") as batch:
        batch.add_column(
            sa.Column("call_retry_minutes", sa.Integer(), nullable=False, server_default="60")
        )
        batch.add_column(
            sa.Column("call_max_attempts", sa.Integer(), nullable=False, server_default="3")
        )
        batch.add_column(
            sa.Column("call_hours_from", sa.String(5), nullable=False, server_default="08:00")
        )
        batch.add_column(
            sa.Column("call_hours_to", sa.String(5), nullable=False, server_default="16:00")
        )
    with op.batch_alter_table("work_item") as batch:
        batch.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("call_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("extra_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("call_result", sa.String(16), nullable=True))
    # The sweep reads the items whose next try has come, and nothing else.
    op.create_index(
        "ix_work_item_retry",
        "work_item",
        ["retry_at"],
        postgresql_where=RETRYING,
        sqlite_where=RETRYING,
    )
    # Callbacks that came before: their number is the item's phone number.
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, content FROM work_item "
            "WHERE channel = 'callback' AND resident_phone IS NULL"
        )
    ).all()
    for item_id, content in rows:
        if isinstance(content, str):
            content = json.loads(content)
        phone = (content or {}).get("callback", {}).get("phone")
        if phone:
            bind.execute(
                sa.text("UPDATE work_item SET resident_phone = :phone WHERE id = :id"),
                {"phone": phone, "id": item_id},
            )


def downgrade():
    op.drop_index("ix_work_item_retry", "work_item")
    with op.batch_alter_table("work_item") as batch:
        for column in ("call_result", "extra_attempts", "call_attempts", "retry_at"):
            batch.drop_column(column)
    with op.batch_alter_table("queue") as batch:
        for column in (
            "call_hours_to",
            "call_hours_from",
            "call_max_attempts",
            "call_retry_minutes",
        ):
            batch.drop_column(column)
