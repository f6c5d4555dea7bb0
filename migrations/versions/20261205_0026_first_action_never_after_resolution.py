"""the first action never after the resolution

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 10:00:00

The demo backdated its resolutions but left the first action at the moment `flask desk init
--demo` ran, days later, so the reports measured a first action after the resolution (the
deadline attainment near 0 %, a median time to the first action of days against hours to the
resolution). Rows like that are repaired as the desk now records them: an item whose first
action is later than its resolution had its first action when it was resolved (resolving is
itself an action). A resolved item without a first action (a practice item the training space
closed when its session was reset) stays without one. Then the database refuses a first
action after the resolution: a CHECK constraint on
PostgreSQL (added NOT VALID and validated, so writes wait only for the short lock), triggers
on SQLite (whose ALTER TABLE cannot add a constraint without rebuilding the table).
"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

CONDITION = "first_action_at IS NULL OR resolved_at IS NULL OR first_action_at <= resolved_at"
MESSAGE = "work_item: the first action cannot come after the resolution"


def upgrade():
    op.execute(
        "UPDATE work_item SET first_action_at = resolved_at WHERE first_action_at > resolved_at"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE work_item ADD CONSTRAINT ck_work_item_first_action_not_after_resolution "
            f"CHECK ({CONDITION}) NOT VALID"
        )
        op.execute(
            "ALTER TABLE work_item VALIDATE CONSTRAINT "
            "ck_work_item_first_action_not_after_resolution"
        )
        return
    for name, event in (("insert", "INSERT"), ("update", "UPDATE OF first_action_at, resolved_at")):
        op.execute(
            f"CREATE TRIGGER work_item_first_action_on_{name} BEFORE {event} ON work_item "
            "WHEN NEW.first_action_at > NEW.resolved_at "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE work_item DROP CONSTRAINT ck_work_item_first_action_not_after_resolution"
        )
        return
    for name in ("insert", "update"):
        op.execute(f"DROP TRIGGER work_item_first_action_on_{name}")
