"""search: open items by words of their title or resident's name (a trigram index)

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-26 07:30:00

On PostgreSQL only, and only where the pg_trgm extension can be created (it is a trusted
extension: the database's owner may create it). Without it, word search still works; it reads
the open items in the contract's order instead.
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

OPEN = "status IN ('new', 'in_progress', 'waiting')"
log = logging.getLogger("alembic.runtime.migration")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as error:
        log.warning(
            "pg_trgm cannot be created (%s); word search goes without its index", error.orig
        )
        return
    op.create_index(
        "ix_work_item_open_words",
        "work_item",
        ["title", "resident_name"],
        postgresql_using="gin",
        postgresql_ops={"title": "gin_trgm_ops", "resident_name": "gin_trgm_ops"},
        postgresql_where=sa.text(OPEN),
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_work_item_open_words")
