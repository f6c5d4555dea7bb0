"""access log: TRUNCATE is refused too

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 22:40:00

The row triggers of 0008 refuse UPDATE and DELETE, but TRUNCATE fires no row trigger: on
PostgreSQL a statement-level trigger refuses it (also when it would come by CASCADE from
work_item or user_account). SQLite has no TRUNCATE; its "truncate optimisation" of a DELETE
without WHERE is never used on a table with a DELETE trigger, so 0008 already covers it.
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only()"
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER access_log_no_truncate ON access_log")
