"""user sessions: every signed-in browser has a row on the server

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 23:30:00

A local account's session lived only in its signed cookie, so a cookie saved before signing
out still worked. Now every sign-in (local or SSO) has a row; the cookie carries its id, and
signing out, the idle timeout and the longest allowed session end the row.
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_user_session_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
    )
    op.create_index("ix_user_session_last_seen_at", "user_session", ["last_seen_at"])


def downgrade():
    op.drop_index("ix_user_session_last_seen_at", table_name="user_session")
    op.drop_table("user_session")
