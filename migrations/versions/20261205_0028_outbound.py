"""answering the resident: endpoints, messages, the outbox, chats' response targets

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 10:00:00

The outbound contract (../shared/contract/outbound.md): source systems register endpoints;
a professional's message and its event are written with the action that made them, and the
events are delivered from the outbox after the commit. People choose how residents see them.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)
PENDING = sa.text("state = 'pending'")
OPEN_REQUEST = sa.text(
    "kind = 'request-for-information' AND answered_at IS NULL AND lapsed_at IS NULL"
)


TAKEABLE = sa.text("status = 'new' AND assignee_id IS NULL")
OPEN = sa.text("status IN ('new', 'in_progress', 'waiting')")
ORDER = sa.literal_column("emergency DESC")


def _order_indexes(due: str) -> None:
    op.create_index(
        "ix_work_item_takeable",
        "work_item",
        [ORDER, due, "submitted_at", "title", "id"],
        postgresql_where=TAKEABLE,
        sqlite_where=TAKEABLE,
    )
    op.create_index(
        "ix_work_item_open_order",
        "work_item",
        [ORDER, due, "submitted_at", "title", "id"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def _drop_order_indexes() -> None:
    op.drop_index("ix_work_item_takeable", "work_item")
    op.drop_index("ix_work_item_open_order", "work_item")


def upgrade():
    # A waiting resident comes first: a live chat's response target orders it as if it were
    # its deadline (inbound.md, amended 2026-12), so the lists order by a generated column.
    with op.batch_alter_table("queue") as batch:
        batch.add_column(
            sa.Column("chat_response_minutes", sa.Integer(), nullable=False, server_default="5")
        )
    op.add_column("work_item", sa.Column("unanswered_since", WHEN, nullable=True))
    op.add_column("work_item", sa.Column("answer_by", WHEN, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE work_item ADD COLUMN order_due TIMESTAMP WITH TIME ZONE "
            "GENERATED ALWAYS AS (COALESCE(due_at, answer_by)) STORED"
        )
    else:
        op.execute(
            "ALTER TABLE work_item ADD COLUMN order_due DATETIME "
            "GENERATED ALWAYS AS (COALESCE(due_at, answer_by)) VIRTUAL"
        )
    _drop_order_indexes()
    _order_indexes("order_due")

    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("public_name", sa.String(60), nullable=True))
        batch.add_column(sa.Column("title_fi", sa.String(80), nullable=True))
        batch.add_column(sa.Column("title_sv", sa.String(80), nullable=True))
        batch.add_column(sa.Column("title_en", sa.String(80), nullable=True))

    op.create_table(
        "outbound_endpoint",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("channels", sa.String(255), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("previous_secret", sa.String(100), nullable=True),
        sa.Column("previous_until", WHEN, nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(500), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_success_at", WHEN, nullable=True),
        sa.Column("last_failure_at", WHEN, nullable=True),
        sa.Column("last_failure", sa.Text(), nullable=True),
        sa.UniqueConstraint("name", name="uq_outbound_endpoint_name"),
    )

    op.create_table(
        "item_message",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("work_item.id"), nullable=False),
        sa.Column("outgoing", sa.Boolean(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("kind", sa.String(32), nullable=True),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("sender_name", sa.String(60), nullable=True),
        sa.Column("sender_title", sa.String(80), nullable=True),
        sa.Column("links", JSON, nullable=True),
        sa.Column("template_ids", JSON, nullable=True),
        sa.Column("reply_by", sa.Date(), nullable=True),
        sa.Column("answered_at", WHEN, nullable=True),
        sa.Column("lapsed_at", WHEN, nullable=True),
        sa.Column("click_key", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=True),
        sa.Column("state_at", WHEN, nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("source_message_id", sa.String(128), nullable=True),
        sa.Column("in_reply_to", sa.String(40), nullable=True),
        sa.Column("attachments", JSON, nullable=True),
        sa.UniqueConstraint("author_id", "click_key", name="uq_item_message_author_id"),
        sa.UniqueConstraint("item_id", "source_message_id", name="uq_item_message_item_id"),
    )
    op.create_index("ix_item_message_item", "item_message", ["item_id", "at"])
    op.create_index(
        "ix_item_message_open_request",
        "item_message",
        ["reply_by"],
        postgresql_where=OPEN_REQUEST,
        sqlite_where=OPEN_REQUEST,
    )

    op.create_table(
        "outbox_event",
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column(
            "endpoint_id", sa.Integer(), sa.ForeignKey("outbound_endpoint.id"), nullable=False
        ),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("work_item.id"), nullable=False),
        sa.Column("message_id", sa.String(40), sa.ForeignKey("item_message.id"), nullable=True),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", WHEN, nullable=False),
        sa.Column("last_attempt_at", WHEN, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", WHEN, nullable=True),
        sa.UniqueConstraint("id", name="uq_outbox_event_id"),
    )
    op.create_index(
        "ix_outbox_event_pending",
        "outbox_event",
        ["item_id", "seq"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index(
        "ix_outbox_event_due",
        "outbox_event",
        ["next_attempt_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index("ix_outbox_event_endpoint", "outbox_event", ["endpoint_id", "state"])


def downgrade():
    _drop_order_indexes()
    op.drop_column("work_item", "order_due")
    op.drop_column("work_item", "answer_by")
    op.drop_column("work_item", "unanswered_since")
    _order_indexes("due_at")
    with op.batch_alter_table("queue") as batch:
        batch.drop_column("chat_response_minutes")
    op.drop_table("outbox_event")
    op.drop_table("item_message")
    op.drop_table("outbound_endpoint")
    with op.batch_alter_table("user_account") as batch:
        for column in ("title_en", "title_sv", "title_fi", "public_name"):
            batch.drop_column(column)
