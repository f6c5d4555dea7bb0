"""the situation view's numbers kept as items change, instead of counted on every view

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-11 09:00:00

Two tables of signed counts (desk.work.counts):

- `open_item_count`: open items by everything the situation view groups or narrows by,
  with whether someone holds them and the UTC day of their deadline;
- `item_hour_count`: arrivals by the UTC hour of their arrival and resolutions by the hour of
  their resolution, by queue and the view's filters (the trend lines).

Triggers on work_item add rows for every change of an item's key — +n for the rows that came
into a key, -n for those that left it — in the same transaction as the change, so the sum of
a key's rows is always exactly its number of items. Appending, never updating, means no two
transactions wait for each other on a shared count; a job folds each key's rows into one.

On PostgreSQL the triggers are statement triggers reading the statement's transition tables
(one insert per statement, however many rows it changed); on SQLite they are row triggers.
What is already there is counted once here.

Two partial indexes serve what the counts cannot: the deadlines falling within today and the
next hour (overdue since midnight, due soon), and each queue's oldest waiting item.
"""

import time

import sqlalchemy as sa
from alembic import op

# All SQL below is built from this file's constants (S608 is about input, and there is none).

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

OPEN_ROWS = "status IN ('new', 'in_progress', 'waiting')"
OPEN = "{r}." + OPEN_ROWS
FILTERS = ["municipality_code", "channel", "service_area_code", "identification"]
TREND = ["queue_code", *FILTERS]


def _epoch(column: str, seconds: int, dialect: str) -> str:
    """Whole days or hours since 1970 (UTC) of a timestamp column, as SQL."""
    if dialect == "postgresql":
        return f"floor(extract(epoch FROM {column}) / {seconds})::integer"
    return f"CAST(strftime('%s', {column}) AS INTEGER) / {seconds}"


def _sources(dialect: str) -> list[tuple[str, list[tuple[str, str]], str, list[str]]]:
    """What is counted: (table, its key as (column, expression over row {r}), which rows,
    the work_item columns whose change moves a row between keys)."""
    day = _epoch("{r}.due_at", 86400, dialect)
    open_key = [
        ("queue_code", "{r}.queue_code"),
        ("status", "{r}.status"),
        ("emergency", "{r}.emergency"),
        ("assigned", "{r}.assignee_id IS NOT NULL"),
        *((column, "{r}." + column) for column in FILTERS),
        ("due_day", day),
    ]
    moved = ["queue_code", "status", "emergency", "assignee_id", *FILTERS, "due_at"]
    sources = [("open_item_count", open_key, OPEN, moved)]
    for kind, column, rows in (
        ("arrived", "created_at", "{r}.created_at IS NOT NULL"),
        ("resolved", "resolved_at", "{r}.resolved_at IS NOT NULL"),
    ):
        key = [
            ("kind", f"'{kind}'"),
            ("hour", _epoch("{r}." + column, 3600, dialect)),
            ("queue_code", "{r}.queue_code"),
            *((name, "{r}." + name) for name in FILTERS),
        ]
        sources.append(("item_hour_count", key, rows, [column, "queue_code", *FILTERS]))
    return sources


def _rows(key, rows: str, which: str, sign: int) -> str:
    """The key of each of the statement's `which` ("old" or "new") rows, and its sign. (Not
    aliased "new": PL/pgSQL would read it as its own NEW.)"""
    alias = f"{which}_item"
    values = ", ".join(expression.format(r=alias) for _column, expression in key)
    return f"SELECT {values}, {sign} FROM {which}_rows {alias} WHERE {rows.format(r=alias)}"  # noqa: S608


def _postgresql_triggers(sources) -> None:
    by_table: dict[str, list] = {}
    for table, key, rows, _moved in sources:
        by_table.setdefault(table, []).append((key, rows))
    statements = {"INSERT": [], "UPDATE": [], "DELETE": []}
    for table, sources in by_table.items():
        columns = ", ".join(column for column, _ in sources[0][0])
        for operation, signs in (
            ("INSERT", (("new", 1),)),
            ("UPDATE", (("old", -1), ("new", 1))),
            ("DELETE", (("old", -1),)),
        ):
            parts = " UNION ALL ".join(
                _rows(key, rows, alias, sign) for key, rows in sources for alias, sign in signs
            )
            statements[operation].append(
                f"INSERT INTO {table} ({columns}, n) SELECT {columns}, sum(n) "  # noqa: S608
                f"FROM ({parts}) AS changed ({columns}, n) "
                f"GROUP BY {columns} HAVING sum(n) <> 0;"
            )
    op.execute(
        f"""
        CREATE FUNCTION kept_counts() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {" ".join(statements["INSERT"])}
            ELSIF TG_OP = 'DELETE' THEN
                {" ".join(statements["DELETE"])}
            ELSE
                {" ".join(statements["UPDATE"])}
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    for operation, tables in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER kept_counts_{operation.lower()} AFTER {operation} ON work_item "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION kept_counts()"
        )


def _sqlite_triggers(sources) -> None:
    for number, (table, key, rows, moved) in enumerate(sources):
        columns = ", ".join(column for column, _ in key)

        def insert(row: str, sign: int, table=table, key=key, rows=rows, columns=columns):
            values = ", ".join(expression.format(r=row) for _column, expression in key)
            return (
                f"INSERT INTO {table} ({columns}, n) "
                f"SELECT {values}, {sign} WHERE {rows.format(r=row)};"
            )

        changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in moved)
        op.execute(
            f"CREATE TRIGGER kept_counts_insert_{number} AFTER INSERT ON work_item "
            f"BEGIN {insert('NEW', 1)} END"
        )
        op.execute(
            f"CREATE TRIGGER kept_counts_update_{number} AFTER UPDATE ON work_item "
            f"WHEN {changed} BEGIN {insert('OLD', -1)} {insert('NEW', 1)} END"
        )
        op.execute(
            f"CREATE TRIGGER kept_counts_delete_{number} AFTER DELETE ON work_item "
            f"BEGIN {insert('OLD', -1)} END"
        )


def _count_existing(sources) -> None:
    """Count what is there: the open items, and the arrivals and resolutions of the hours
    the trend may still read (desk.work.counts.KEEP_HOURS)."""
    first_hour = int(time.time()) // 3600 - 48
    for table, key, rows, _moved in sources:
        columns = ", ".join(column for column, _ in key)
        values = ", ".join(expression.format(r="r") for _column, expression in key)
        recent = f" AND {key[1][1].format(r='r')} >= {first_hour}" if key[0][0] == "kind" else ""
        op.execute(
            f"INSERT INTO {table} ({columns}, n) SELECT {values}, count(*) "  # noqa: S608
            f"FROM work_item r WHERE {rows.format(r='r')}{recent} "
            f"GROUP BY {', '.join(str(n + 1) for n in range(len(key)))}"
        )


def create_triggers(dialect: str, sources) -> None:
    """The kept counts' triggers on work_item, for these `sources` (as `_sources` gives
    them; migration 0037 lengthens the open items' key)."""
    if dialect == "postgresql":
        _postgresql_triggers(sources)
    else:
        _sqlite_triggers(sources)


def drop_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        for operation in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER kept_counts_{operation} ON work_item")
        op.execute("DROP FUNCTION kept_counts()")
    else:
        for number in range(len(_sources("sqlite"))):
            for operation in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER kept_counts_{operation}_{number}")


def _filter_columns() -> list[sa.Column]:
    return [
        sa.Column("municipality_code", sa.String(32)),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("service_area_code", sa.String(32), nullable=False),
        sa.Column("identification", sa.String(8), nullable=False),
    ]


def upgrade():
    op.create_table(
        "open_item_count",
        sa.Column("queue_code", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("assigned", sa.Boolean(), nullable=False),
        *_filter_columns(),
        # whole days since 1970 (UTC) of the deadline
        sa.Column("due_day", sa.Integer()),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_table(
        "item_hour_count",
        sa.Column("kind", sa.String(8), nullable=False),
        # whole hours since 1970 (UTC) of the arrival or the resolution
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("queue_code", sa.String(32), nullable=False),
        *_filter_columns(),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index("ix_item_hour_count_hour", "item_hour_count", ["hour"])
    dialect = op.get_bind().dialect.name
    create_triggers(dialect, _sources(dialect))
    _count_existing(_sources(dialect))
    # Today's deadlines and the next hour's, read from the index alone.
    op.create_index(
        "ix_work_item_open_due",
        "work_item",
        ["due_at", "queue_code", "status", "emergency", *FILTERS],
        postgresql_where=sa.text(OPEN_ROWS),
        sqlite_where=sa.text(OPEN_ROWS),
    )
    # The open items in the lists' order, with what a list's conditions test: counting the
    # rows before or after a page reads the index alone.
    op.drop_index("ix_work_item_open_order", "work_item")
    _open_order_index(include=[*TREND, "status", "due_at", "assignee_id"])
    # Each queue's oldest waiting item: the first entry of its part of the index.
    op.create_index(
        "ix_work_item_waiting_since",
        "work_item",
        ["queue_code", "submitted_at", *FILTERS],
        postgresql_where=sa.text("status = 'new'"),
        sqlite_where=sa.text("status = 'new'"),
    )


def _open_order_index(include: list[str]) -> None:
    op.create_index(
        "ix_work_item_open_order",
        "work_item",
        [sa.text("emergency DESC"), "order_due", "submitted_at", "title", "id"],
        postgresql_include=include,
        postgresql_where=sa.text(OPEN_ROWS),
        sqlite_where=sa.text(OPEN_ROWS),
    )


def downgrade():
    op.drop_index("ix_work_item_open_order", "work_item")
    _open_order_index(include=[])
    op.drop_index("ix_work_item_waiting_since", "work_item")
    op.drop_index("ix_work_item_open_due", "work_item")
    drop_triggers(op.get_bind().dialect.name)
    op.drop_table("item_hour_count")
    op.drop_table("open_item_count")
