"""Keycloak's session id on the desk's SSO sessions (back-channel logout)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 03:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("sso_session", sa.Column("idp_session_id", sa.String(length=255), nullable=True))
    op.create_index("ix_sso_session_idp_session_id", "sso_session", ["idp_session_id"])


def downgrade():
    op.drop_index("ix_sso_session_idp_session_id", table_name="sso_session")
    with op.batch_alter_table("sso_session") as batch:
        batch.drop_column("idp_session_id")
