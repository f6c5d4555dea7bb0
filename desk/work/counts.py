"""Counts kept, not counted: the situation view's numbers as items change.

Triggers on work_item (migration 0034) append signed rows to two tables in the transaction
that changes an item: +n where rows came into a key, -n where they left one. So the sum of a
key's rows is, in every snapshot, exactly its number of items, and a reader sums a few
thousand rows where it used to count every open item and every arrival of the day.

- `open_item_count`: open items by queue, status, emergency, whether someone holds them, the
  view's four filters, the UTC day of the deadline, and the day of the item's place in the
  lists' order (migration 0037). What is overdue is every day before today in full, plus
  today's deadlines already passed, read from an index of open items by deadline; what is
  due soon is read from the same index. What lies beyond a page of a list is the later days'
  rows, plus the page's own day read from the index (desk.work.situation.count_beyond).
- `item_hour_count`: arrivals by the UTC hour of arrival and resolutions by the hour of
  resolution, by queue and the four filters.

`fold` merges each key's rows into one (the scheduler, every FOLD_SECONDS); `reconcile`
compares the kept counts with a full count in one snapshot, logs any difference and
corrects it (every RECONCILE_SECONDS). Neither is needed for the numbers to be right: they
keep the tables small, and would catch a change made with the triggers disabled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Integer,
    String,
    Table,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from ..models import OPEN_STATUSES, WorkItem, item_hour_count, open_item_count

log = logging.getLogger(__name__)

FOLD_SECONDS = 30
RECONCILE_SECONDS = 600
#: hour rows older than this are dropped when folding: the trend reads the last 24 hours
KEEP_HOURS = 48
FILTERS = ("municipality_code", "channel", "service_area_code", "identification")
DAY, HOUR = 86400, 3600
#: the trend's hours: the 24 clock hours up to and including the current one
HOURS = 24


def epoch(moment: datetime, seconds: int) -> int:
    """Whole days or hours (`seconds`) since 1970 of a moment, as the triggers number them."""
    return int(moment.timestamp()) // seconds


def start_of(number: int, seconds: int) -> datetime:
    """When a day or hour numbered by `epoch` began."""
    return datetime.fromtimestamp(number * seconds, UTC)


def _epoch_sql(column, seconds: int, dialect: str):
    """The triggers' numbering of a timestamp column, as SQL."""
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", column) / seconds), Integer)
    return cast(func.strftime("%s", column), Integer) // seconds


@dataclass(frozen=True)
class _Source:
    """What a kept table counts, as the triggers compute it from work_item."""

    table: Table
    #: the key of each row, in the table's column order
    key: list
    #: which items it counts
    rows: list
    #: the hour rows: which of them ("arrived", "resolved"), and the time they are numbered by
    kind: str | None = None
    numbered_by: object = None

    def counted(self, sign: int, first_hour: int) -> Select:
        """Its full count from the items (times `sign`), the hour rows from `first_hour` on."""
        counted = select(*self.key, sign * func.count()).where(*self.rows)
        if self.numbered_by is not None:
            counted = counted.where(self.numbered_by >= start_of(first_hour, HOUR))
        return counted.group_by(*(literal_column(str(n + 1)) for n in range(len(self.key))))


def _sources(dialect: str) -> list[_Source]:
    open_key = [
        WorkItem.queue_code,
        WorkItem.status,
        WorkItem.emergency,
        WorkItem.assignee_id.is_not(None),
        *(getattr(WorkItem, name) for name in FILTERS),
        _epoch_sql(WorkItem.due_at, DAY, dialect),
        _epoch_sql(WorkItem.order_due, DAY, dialect),
        case(
            (WorkItem.order_due.is_(None), _epoch_sql(WorkItem.submitted_at, DAY, dialect)),
        ),
    ]
    sources = [_Source(open_item_count, open_key, [WorkItem.status.in_(OPEN_STATUSES)])]
    for kind, column in (("arrived", WorkItem.created_at), ("resolved", WorkItem.resolved_at)):
        key = [
            literal(kind, String),
            _epoch_sql(column, HOUR, dialect),
            WorkItem.queue_code,
            *(getattr(WorkItem, name) for name in FILTERS),
        ]
        sources.append(_Source(item_hour_count, key, [column.is_not(None)], kind, column))
    return sources


def _key_columns(table: Table) -> list:
    return [column for column in table.c if column.name != "n"]


def fold(session: Session, now: datetime) -> int:
    """Merge each key's rows into one; returns how many rows there were.

    The rows are deleted and their sums inserted in one transaction: a reader sees either
    all the rows or the sums. A change committed meanwhile adds rows this fold never saw
    (on PostgreSQL the DELETE skips rows it did not see; on SQLite it holds the only write
    lock), so nothing is counted twice or lost."""
    removed = 0
    oldest_hour = epoch(now, HOUR) - KEEP_HOURS
    for table in (open_item_count, item_hour_count):
        key = _key_columns(table)
        rows = session.execute(delete(table).returning(*key, table.c.n)).all()
        removed += len(rows)
        sums: dict[tuple, int] = {}
        for row in rows:
            sums[tuple(row[:-1])] = sums.get(tuple(row[:-1]), 0) + row[-1]
        kept = [
            dict(zip((column.name for column in key), values, strict=True), n=n)
            for values, n in sums.items()
            if n and not (table is item_hour_count and values[1] < oldest_hour)
        ]
        if kept:
            session.execute(insert(table), kept)
    return removed


def clear_folded(engine: Engine) -> None:
    """Give the space of the rows a fold deleted back to the tables (PostgreSQL's VACUUM;
    outside any transaction). A fold deletes every row and inserts the sums: every 30 s the
    tables' whole content becomes dead rows, which every read of the counts then passes
    over until a vacuum removes them. PostgreSQL's autovacuum would, where it is on and
    keeps up; the desk does not leave its most read tables to that (on a server with it off,
    250,000 dead rows in a morning made the situation view's trend read 12 ms, not 1)."""
    if engine.dialect.name != "postgresql":
        return  # SQLite frees a deleted row's space with the delete
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"VACUUM {open_item_count.name}, {item_hour_count.name}"))


def recount(session: Session, now: datetime) -> None:
    """Count everything afresh (the kept hours only): for data written with the triggers
    off, such as the benchmark's generated database."""
    first_hour = epoch(now, HOUR) - KEEP_HOURS
    for table in (open_item_count, item_hour_count):
        session.execute(delete(table))
    for source in _sources(session.get_bind().dialect.name):
        names = [column.name for column in source.table.c]
        session.execute(insert(source.table).from_select(names, source.counted(1, first_hour)))


@dataclass(frozen=True)
class Drift:
    table: str
    key: dict
    #: kept minus counted
    difference: int


def reconcile(session: Session, now: datetime) -> list[Drift]:
    """Compare the kept counts with a full count, in one statement (one snapshot), and add
    a row correcting each difference; returns the differences, each logged as an error.

    Hours before the trend's window are not compared (fold drops them)."""
    first_hour = epoch(now, HOUR) - KEEP_HOURS
    drift = []
    for source in _sources(session.get_bind().dialect.name):
        table = source.table
        key = _key_columns(table)
        kept = select(*key, table.c.n)
        if source.kind is not None:
            kept = kept.where(table.c.kind == source.kind, table.c.hour >= first_hour)
        counted = source.counted(-1, first_hour)
        *both, n = union_all(kept, counted).subquery().c
        names = [column.name for column in key]
        differences = (
            select(*both, func.sum(n).label("difference")).group_by(*both).having(func.sum(n) != 0)
        )
        # read whole before the corrections are added to the table it reads
        for row in session.execute(differences).all():
            found = Drift(table.name, dict(zip(names, row[:-1], strict=True)), int(row[-1]))
            log.error(
                "kept count drift in %s: %s kept %+d from the items",
                found.table,
                found.key,
                found.difference,
                extra={"drift": found.difference},
            )
            drift.append(found)
            session.execute(insert(table).values(**found.key, n=-found.difference))
    return drift


def today(now: datetime) -> tuple[int, datetime]:
    """Today's day number and when today began (UTC), as the kept deadlines number them."""
    number = epoch(now, DAY)
    return number, start_of(number, DAY)


def numbers(session: Session, kept_where, items_where, now: datetime) -> tuple[int, int]:
    """(how many open items a list holds, how many of them are overdue): the kept counts
    under `kept_where` (conditions on open_item_count's columns) for both, and for today's
    deadlines that have already passed, the items under `items_where` (the same list, as
    conditions on work_item), read from the index of open items by deadline."""
    day, midnight = today(now)
    return summed(session, numbered(kept_where, items_where, now, day, midnight))


def numbered(kept_where, items_where, now, day, midnight) -> Select:
    """`numbers`' statement, with today's day number and when it began (`today`): values, or
    bound parameters for a statement that is kept (desk.work.situation)."""
    kept = open_item_count.c
    passed_today = select(func.count()).where(
        *items_where, WorkItem.due_at >= midnight, WorkItem.due_at < now
    )
    # One statement: one round trip, and everything read in the same snapshot.
    return select(
        func.coalesce(func.sum(kept.n), 0),
        func.coalesce(func.sum(kept.n).filter(kept.due_day < day), 0)
        + passed_today.scalar_subquery(),
    ).where(*kept_where)


def summed(session: Session, statement, values=None) -> tuple[int, int]:
    """The sums of the rows of (items, overdue items) that `statement` reads: `numbered`'s,
    or a union of it with more such counts (given their parameters' `values`)."""
    rows = session.execute(statement, values).all()
    return sum(row[0] for row in rows), sum(row[1] for row in rows)


def trend_hours(now: datetime) -> tuple[int, int]:
    """The trend's first and last hour numbers: the 24 clock hours up to the current one."""
    last = epoch(now, HOUR)
    return last - HOURS + 1, last
