"""the lists' order kept with the open items' counts: what lies beyond a page is summed

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-14 09:00:00

open_item_count (migration 0034) gains each item's day in the lists' order
(desk.work.situation.Cursor):

- `order_day`: the UTC day of what the lists order by, the deadline or, without one, the
  response target (work_item.order_due);
- `undated_day`: for an item with neither, which the lists put last in the order of
  submission, the UTC day of its submission (NULL for the others).

What lies beyond a page of a list is then the kept rows of the later days, summed, and the
index read within the page's own day only: no longer every index entry after the page.

For items with a deadline `order_day` is their `due_day`, so the key holds barely more rows.
The triggers are made again with the longer key and the open items counted again, in this
one transaction: writes to work_item wait for it.
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def _kept_counts():
    """Migration 0034, which builds the triggers from a key."""
    path = Path(__file__).with_name("20261211_0034_kept_counts.py")
    spec = importlib.util.spec_from_file_location("migration_0034_kept_counts", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sources(dialect: str) -> list:
    """0034's sources, the open items' key with the two days of the lists' order."""
    base = _kept_counts()
    sources = base._sources(dialect)
    table, key, rows, moved = sources[0]
    assert table == "open_item_count"
    submitted = base._epoch("{r}.submitted_at", 86400, dialect)
    key = [
        *key,
        ("order_day", base._epoch("{r}.order_due", 86400, dialect)),
        ("undated_day", f"CASE WHEN {{r}}.order_due IS NULL THEN {submitted} END"),
    ]
    return [(table, key, rows, [*moved, "answer_by", "submitted_at"]), *sources[1:]]


def upgrade():
    dialect = op.get_bind().dialect.name
    base = _kept_counts()
    base.drop_triggers(dialect)
    with op.batch_alter_table("open_item_count") as table:
        table.add_column(sa.Column("order_day", sa.Integer()))
        table.add_column(sa.Column("undated_day", sa.Integer()))
    sources = _sources(dialect)
    base.create_triggers(dialect, sources)
    op.execute("DELETE FROM open_item_count")
    base._count_existing(sources[:1])


def downgrade():
    dialect = op.get_bind().dialect.name
    base = _kept_counts()
    base.drop_triggers(dialect)
    # Without the two columns each key's rows still sum to its items: nothing to count again.
    with op.batch_alter_table("open_item_count") as table:
        table.drop_column("undated_day")
        table.drop_column("order_day")
    base.create_triggers(dialect, base._sources(dialect))
