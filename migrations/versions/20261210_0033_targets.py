"""the region's targets: residents' satisfaction answers, other contacts and care by month, and
the arrivals of ended months

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-10 09:00:00

`item_feedback` keeps the satisfaction answers that source systems deliver after a matter
ended (the outbound contract's `feedback`), with the item's channel, municipality and queue
copied in, so a year's statistics read one covering index. `care_contacts` holds the monthly
import of other contacts and care by municipality and mode. `monthly_arrivals` keeps the
counts of items that arrived in a month that has ended (desk.reports.targets), so a year's
targets do not count a million items again on every view.
"""

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)
COMMENTED = sa.text("comment IS NOT NULL")


def upgrade():
    op.create_table(
        "item_feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer(),
            sa.ForeignKey("work_item.id", name="fk_item_feedback_item_id_work_item"),
            nullable=False,
        ),
        sa.Column("feedback_id", sa.String(length=128), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("satisfied", sa.Boolean()),
        sa.Column("comment", sa.Text()),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("municipality_code", sa.String(length=32)),
        sa.Column("queue_code", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_item_feedback"),
        sa.UniqueConstraint("item_id", "feedback_id", name="uq_item_feedback_item_id"),
    )
    op.create_index("ix_item_feedback_item_id", "item_feedback", ["item_id"])
    op.create_index(
        "ix_item_feedback_at",
        "item_feedback",
        ["at"],
        postgresql_include=["channel", "municipality_code", "queue_code", "score", "satisfied"],
    )
    op.create_index(
        "ix_item_feedback_comment",
        "item_feedback",
        ["at"],
        postgresql_where=COMMENTED,
        sqlite_where=COMMENTED,
    )
    op.create_table(
        "care_contacts",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column(
            "municipality_code",
            sa.String(length=32),
            sa.ForeignKey(
                "municipality.code", name="fk_care_contacts_municipality_code_municipality"
            ),
            nullable=False,
        ),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "municipality_code", "mode", name="pk_care_contacts"),
    )
    op.create_table(
        "monthly_arrivals",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("municipality_code", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "municipality_code", "channel", name="pk_monthly_arrivals"
        ),
    )


def downgrade():
    op.drop_table("monthly_arrivals")
    op.drop_table("care_contacts")
    op.drop_index("ix_item_feedback_comment", "item_feedback")
    op.drop_index("ix_item_feedback_at", "item_feedback")
    op.drop_index("ix_item_feedback_item_id", "item_feedback")
    op.drop_table("item_feedback")
