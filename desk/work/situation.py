"""The situation view's numbers: per queue, what waits, what is in hand and what is late.

Plain SQLAlchemy. Counts read only open items (a partial index holds them), so resolved
history does not slow the view however much of it there is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from ..models import (
    OPEN_STATUSES,
    ItemStatus,
    Queue,
    User,
    WorkItem,
    item_hour_count,
    open_item_count,
)
from . import counts as kept_counts
from .access import Who, visible_to, written
from .lifecycle import work_order
from .worklist import HELD_LIST_COLUMNS, ListRow, rows_with_holders

STATES = ("waiting", "in_progress", "waiting_resident", "due_soon", "overdue", "emergency")
#: the phone work's numbers: callbacks not yet taken, callbacks due within the hour and
#: overdue, and items of any channel waiting in their queue for the next call attempt
PHONE_STATES = ("callbacks_waiting", "callbacks_due_soon", "callbacks_overdue", "retrying")
DUE_SOON = timedelta(hours=1)
#: the rows the phone numbers read, as the partial index ix_work_item_phone states them
#: (models.PHONE_WORK_ROWS, with the open statuses). Written as columns, not that text: the
#: lists join the holder's user_account, whose `status` would make the text ambiguous; the
#: constant is in the SQL so the planner can prove the index's condition.
CALLBACK = WorkItem.channel == literal_column("'callback'")
PHONE_WORK = or_(CALLBACK, WorkItem.retry_at.is_not(None))


@dataclass(frozen=True)
class Filters:
    """Narrowing of the view; empty means everything the viewer may see."""

    municipality: str | None = None
    channel: str | None = None
    service_area: str | None = None
    identification: str | None = None

    def conditions(self, rows=WorkItem) -> list:
        """As SQL conditions on the items, or on a kept count's columns (`rows`)."""
        conditions = []
        if self.municipality:
            conditions.append(rows.municipality_code == self.municipality)
        if self.channel:
            conditions.append(rows.channel == self.channel)
        if self.service_area:
            conditions.append(rows.service_area_code == self.service_area)
        if self.identification:
            conditions.append(rows.identification == self.identification)
        return conditions


@dataclass
class Counts:
    """The numbers of one queue (or a total of several)."""

    waiting: int = 0
    in_progress: int = 0
    waiting_resident: int = 0
    due_soon: int = 0
    overdue: int = 0
    emergency: int = 0
    oldest: datetime | None = None

    def add(self, other: Counts) -> None:
        for name in STATES:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.oldest and (self.oldest is None or other.oldest < self.oldest):
            self.oldest = other.oldest


_STATE_CONDITIONS = {
    "waiting": lambda now, soon: written(WorkItem.status, ItemStatus.NEW.value),
    "in_progress": lambda now, soon: written(WorkItem.status, ItemStatus.IN_PROGRESS.value),
    "waiting_resident": lambda now, soon: written(WorkItem.status, ItemStatus.WAITING.value),
    "due_soon": lambda now, soon: and_(WorkItem.due_at >= now, WorkItem.due_at < soon),
    "overdue": lambda now, soon: WorkItem.due_at < now,
    "emergency": lambda now, soon: WorkItem.emergency.is_(True),
    "callbacks_waiting": lambda now, soon: and_(
        CALLBACK, written(WorkItem.status, ItemStatus.NEW.value)
    ),
    "callbacks_due_soon": lambda now, soon: and_(
        CALLBACK, WorkItem.due_at >= now, WorkItem.due_at < soon
    ),
    "callbacks_overdue": lambda now, soon: and_(CALLBACK, WorkItem.due_at < now),
    "retrying": lambda now, soon: and_(
        WorkItem.retry_at.is_not(None), written(WorkItem.status, ItemStatus.WAITING.value)
    ),
}


def state_condition(state: str, now, soon=None):
    """The SQL condition of one column of the view, for its count and its list, at `now`
    (due soon: before `soon`, now + DUE_SOON). Values, or bound parameters (NOW, SOON)."""
    return _STATE_CONDITIONS[state](now, now + DUE_SOON if soon is None else soon)


def counts(session: Session, user: User, filters: Filters, now: datetime) -> dict[str, Counts]:
    """Counts per queue code, of the open items the user may see.

    Summed from the kept counts (desk.work.counts): every deadline of a day before today is
    overdue. Today's deadlines up to the next hour, and each queue's oldest waiting item,
    are read from two small indexes of open items."""
    kept = open_item_count.c
    today, midnight = kept_counts.today(now)
    by_status = {
        ItemStatus.NEW.value: "waiting",
        ItemStatus.IN_PROGRESS.value: "in_progress",
        ItemStatus.WAITING.value: "waiting_resident",
    }
    result: dict[str, Counts] = {}
    rows = session.execute(
        select(
            kept.queue_code,
            kept.status,
            kept.emergency,
            func.sum(kept.n).label("n"),
            func.sum(kept.n).filter(kept.due_day < today).label("overdue"),
        )
        .where(visible_to(user, rows=kept), *filters.conditions(kept))
        .group_by(kept.queue_code, kept.status, kept.emergency)
    )
    for row in rows:
        if not row.n:
            continue
        counts = result.setdefault(row.queue_code, Counts())
        state = by_status[row.status]
        setattr(counts, state, getattr(counts, state) + row.n)
        if row.emergency:
            counts.emergency += row.n
        counts.overdue += row.overdue or 0
    soon = session.execute(
        select(
            WorkItem.queue_code,
            func.count().filter(state_condition("due_soon", now)).label("due_soon"),
            func.count().filter(WorkItem.due_at < now).label("overdue"),
        )
        .where(
            written(WorkItem.status, OPEN_STATUSES),
            WorkItem.due_at >= midnight,
            WorkItem.due_at < now + DUE_SOON,
            visible_to(user),
            *filters.conditions(),
        )
        .group_by(WorkItem.queue_code)
    )
    for row in soon:
        counts = result.setdefault(row.queue_code, Counts())
        counts.due_soon += row.due_soon
        counts.overdue += row.overdue
    waiting = [code for code, counts in result.items() if counts.waiting]
    if waiting:
        queue = Queue.__table__.c.code
        oldest = (
            select(func.min(WorkItem.submitted_at))
            .where(
                WorkItem.queue_code == queue,
                written(WorkItem.status, ItemStatus.NEW.value),
                visible_to(user),
                *filters.conditions(),
            )
            .scalar_subquery()
        )
        for code, since in session.execute(select(queue, oldest).where(queue.in_(waiting))):
            result[code].oldest = since
    return result


@dataclass
class PhoneCounts:
    """The phone work of one queue (or a total of several)."""

    callbacks_waiting: int = 0
    callbacks_due_soon: int = 0
    callbacks_overdue: int = 0
    retrying: int = 0
    #: when the first of the retries comes back to the queue
    next_retry: datetime | None = None

    def add(self, other: PhoneCounts) -> None:
        for name in PHONE_STATES:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.next_retry and (self.next_retry is None or other.next_retry < self.next_retry):
            self.next_retry = other.next_retry

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in PHONE_STATES)


def phone_counts(
    session: Session, user: User, filters: Filters, now: datetime
) -> dict[str, PhoneCounts]:
    """Per queue code, the phone work of the open items the user may see: callbacks and
    retries only, read from their own partial index however many other items are open."""
    retrying = state_condition("retrying", now)
    rows = session.execute(
        select(
            WorkItem.queue_code,
            *(func.count().filter(state_condition(name, now)).label(name) for name in PHONE_STATES),
            func.min(WorkItem.retry_at).filter(retrying).label("next_retry"),
        )
        .where(written(WorkItem.status, OPEN_STATUSES), PHONE_WORK, visible_to(user))
        .where(*filters.conditions())
        .group_by(WorkItem.queue_code)
    )
    return {
        row.queue_code: PhoneCounts(
            **{name: getattr(row, name) for name in PHONE_STATES}, next_retry=row.next_retry
        )
        for row in rows
    }


@dataclass(frozen=True)
class Part:
    """A part of a list, as a condition on the kept counts' columns and the same condition
    on the items."""

    kept: object
    items: object


#: The values a list's statements take at each request, bound: the statements themselves are
#: kept, one for each list (who, filters, queue, state) and each shape of its cursor (`Shape`),
#: so that a page neither builds them again nor works out their cache keys (about 15 % of a
#: deep page's time went to that). What a page binds: `_values`.
NOW = bindparam("now", type_=WorkItem.due_at.type)
SOON = bindparam("soon", type_=WorkItem.due_at.type)  # now + DUE_SOON
TODAY = bindparam("today", type_=Integer())  # today's number, as the kept counts number days
MIDNIGHT = bindparam("midnight", type_=WorkItem.due_at.type)  # when today began
#: where the page before ended: its row's deadline in the order, submission, title and id;
#: its day in the order, and when the next day begins (`Cursor.values`)
AFTER_DUE = bindparam("after_due", type_=WorkItem.due_at.type)
AFTER_SUBMITTED = bindparam("after_submitted", type_=WorkItem.submitted_at.type)
AFTER_TITLE = bindparam("after_title", type_=WorkItem.title.type)
AFTER_ID = bindparam("after_id", type_=WorkItem.id.type)
AFTER_DAY = bindparam("after_day", type_=Integer())
AFTER_TOMORROW = bindparam("after_tomorrow", type_=WorkItem.submitted_at.type)
#: how many kept statements of each kind a process holds, the most recently used: one for
#: each list and shape of cursor, 50 to 90 KB with its cache key
KEPT_STATEMENTS = 256


def _values(now: datetime, after: Cursor | None = None) -> dict:
    """The values a list's kept statements bind at `now`, after the cursor `after`."""
    today, midnight = kept_counts.today(now)
    values = {"now": now, "soon": now + DUE_SOON, "today": today, "midnight": midnight}
    return values if after is None else values | after.values()


@dataclass(frozen=True)
class Cursor:
    """Where a page of a list ended: the last row's place in the contract's order."""

    emergency: bool
    #: the order's deadline: the legal one, or a waiting chat's response target
    due_at: datetime | None
    submitted_at: datetime
    title: str
    id: int

    @classmethod
    def after(cls, item: WorkItem | ListRow) -> Cursor:
        return cls(item.emergency, item.order_due, item.submitted_at, item.title, item.id)

    @classmethod
    def at(cls, session: Session, item_id: int) -> Cursor | None:
        """The place of the item `item_id` (None if there is none): its five columns only."""
        row = session.execute(_AT, {"item_id": item_id}).first()
        return cls(*row) if row is not None else None

    @property
    def shape(self) -> Shape:
        """What of this cursor makes a kept statement (the rest is bound: `values`)."""
        return Shape(self.emergency, self.due_at is not None)

    def values(self) -> dict:
        """What the kept statements bind of this cursor (AFTER_*): its columns, and its day
        in the lists' order as the kept counts number it (its deadline's, or without one its
        submission's), and when the next day begins."""
        moment = self.submitted_at if self.due_at is None else self.due_at
        day = kept_counts.epoch(moment, kept_counts.DAY)
        return {
            "after_due": self.due_at,
            "after_submitted": self.submitted_at,
            "after_title": self.title,
            "after_id": self.id,
            "after_day": day,
            "after_tomorrow": kept_counts.start_of(day + 1, kept_counts.DAY),
        }


#: `Cursor.at`'s statement, built once
_AT = select(
    WorkItem.emergency, WorkItem.order_due, WorkItem.submitted_at, WorkItem.title, WorkItem.id
).where(WorkItem.id == bindparam("item_id"))


@dataclass(frozen=True)
class Shape:
    """A cursor as the kept statements read it: whether its row is an emergency and whether
    it has a deadline in the order make the statement; its values are bound (AFTER_*)."""

    emergency: bool
    dated: bool

    def _same_deadline(self):
        """Rows of the cursor's emergency and deadline, after it."""
        same_due = WorkItem.order_due == AFTER_DUE if self.dated else WorkItem.order_due.is_(None)
        rest = tuple_(WorkItem.submitted_at, WorkItem.title, WorkItem.id)
        return and_(
            WorkItem.emergency.is_(self.emergency),
            same_due,
            rest > tuple_(AFTER_SUBMITTED, AFTER_TITLE, AFTER_ID),
        )

    def ranges(self) -> list:
        """Rows after the cursor in (emergency DESC, due_at NULLS LAST, submitted_at, title,
        id), as disjoint ranges that each read an index in order from a starting point: the
        same emergency and deadline with a later (submitted_at, title, id); a later deadline;
        no deadline; and the non-emergencies after the emergencies."""
        ranges = [self._same_deadline()]
        if self.dated:
            ranges.append(
                and_(WorkItem.emergency.is_(self.emergency), WorkItem.order_due > AFTER_DUE)
            )
            ranges.append(
                and_(WorkItem.emergency.is_(self.emergency), WorkItem.order_due.is_(None))
            )
        if self.emergency:
            ranges.append(WorkItem.emergency.is_(False))
        return ranges

    def rest_of_day(self) -> list:
        """Rows after the cursor within its day in the lists' order, as disjoint ranges of
        the index (what `later_days` leaves)."""
        if not self.dated:
            return [and_(self._same_deadline(), WorkItem.submitted_at < AFTER_TOMORROW)]
        return [
            self._same_deadline(),
            and_(
                WorkItem.emergency.is_(self.emergency),
                WorkItem.order_due > AFTER_DUE,
                WorkItem.order_due < AFTER_TOMORROW,
            ),
        ]

    def later_days(self) -> Part:
        """Rows of the days after the cursor's in the lists' order (with its emergency, and
        after the emergencies every non-emergency), as the kept counts hold them."""
        kept = open_item_count.c
        if self.dated:
            kept_later = or_(kept.order_day > AFTER_DAY, kept.order_day.is_(None))
            items_later = or_(WorkItem.order_due >= AFTER_TOMORROW, WorkItem.order_due.is_(None))
        else:
            kept_later = and_(kept.order_day.is_(None), kept.undated_day > AFTER_DAY)
            items_later = and_(
                WorkItem.order_due.is_(None), WorkItem.submitted_at >= AFTER_TOMORROW
            )
        part = Part(
            kept=and_(kept.emergency.is_(self.emergency), kept_later),
            items=and_(WorkItem.emergency.is_(self.emergency), items_later),
        )
        if self.emergency:
            part = Part(
                kept=or_(part.kept, kept.emergency.is_(False)),
                items=or_(part.items, WorkItem.emergency.is_(False)),
            )
        return part


def items(
    session: Session,
    user: User,
    filters: Filters,
    now: datetime,
    *,
    queue: str | None,
    state: str | None,
    after: Cursor | None = None,
    limit: int = 50,
) -> list[ListRow]:
    """One page of the open items behind a number of the view, in the contract's order: as
    plain rows with their holders' names (`worklist.rows_with_holders`), not whole items."""
    statement = _page(Who.of(user), filters, queue, state, after and after.shape, limit)
    return rows_with_holders(session, statement, _values(now, after))


@lru_cache(maxsize=KEPT_STATEMENTS)
def _page(
    who: Who,
    filters: Filters,
    queue: str | None,
    state: str | None,
    after: Shape | None,
    limit: int,
) -> Select:
    """`items`' statement, kept."""
    where = _list_conditions(who, filters, queue, state)
    ranges = [] if after is None else after.ranges()
    if len(ranges) == 1:  # the rest of the list is one range of the index: read it in order
        where.append(ranges[0])
    elif ranges:
        # Each range is read in order and cut at one page; the page is the first rows of
        # their union. (One OR of them all makes PostgreSQL read everything after the cursor.)
        pages = [
            select(
                select(WorkItem.id)
                .where(*where, r)
                .order_by(*work_order())
                .limit(limit)
                .subquery()
                .c.id
            )
            for r in ranges
        ]
        where = [WorkItem.id.in_(union_all(*pages))]
    return (
        select(*HELD_LIST_COLUMNS)
        .outerjoin(User, User.id == WorkItem.assignee_id)
        .where(*where)
        .order_by(*work_order())
        .limit(limit)
    )


def _list_conditions(who: Who, filters: Filters, queue: str | None, state: str | None) -> list:
    """A list's conditions on the items, at NOW."""
    conditions = [written(WorkItem.status, OPEN_STATUSES), visible_to(who), *filters.conditions()]
    if queue:
        conditions.append(WorkItem.queue_code == queue)
    if state:
        conditions.append(state_condition(state, NOW, SOON))
        if state in PHONE_STATES:
            conditions.append(PHONE_WORK)
    return conditions


#: the list states whose lists the kept counts can count, as conditions on their columns
KEPT_STATES = {
    None: lambda kept: [],
    "waiting": lambda kept: [kept.status == ItemStatus.NEW.value],
    "in_progress": lambda kept: [kept.status == ItemStatus.IN_PROGRESS.value],
    "waiting_resident": lambda kept: [kept.status == ItemStatus.WAITING.value],
    "emergency": lambda kept: [kept.emergency.is_(True)],
    "overdue": lambda kept: [],
}


def _kept_numbers(
    session: Session,
    who: Who,
    filters: Filters,
    now: datetime,
    queue: str | None,
    state: str | None,
    after: Cursor | None = None,
) -> tuple[int, int]:
    """(how many items a list the kept counts count holds, how many of them are overdue):
    the whole list, or with `after` what comes after that cursor (`_numbers`)."""
    statement = _numbers(who, filters, queue, state, after and after.shape)
    count, overdue = kept_counts.summed(session, statement, _values(now, after))
    # The overdue list holds only overdue items: the kept part's count is its overdue ones
    # (what the rest of the day counts of it is overdue already).
    return (overdue, overdue) if state == "overdue" else (count, overdue)


@lru_cache(maxsize=KEPT_STATEMENTS)
def _numbers(
    who: Who, filters: Filters, queue: str | None, state: str | None, after: Shape | None
) -> Select:
    """`_kept_numbers`' statement, kept; with `after`, of the list after a page that ended
    so: the kept numbers of the days after the cursor's, and in the same statement the rest
    of its day counted from the index (`_counted`)."""
    kept = open_item_count.c
    where = [visible_to(who, rows=kept), *filters.conditions(kept), *KEPT_STATES[state](kept)]
    if queue:
        where.append(kept.queue_code == queue)
    conditions = _list_conditions(who, filters, queue, state)
    if after is None:
        return kept_counts.numbered(where, conditions, NOW, TODAY, MIDNIGHT)
    part = after.later_days()
    later = kept_counts.numbered(
        [*where, part.kept], [*conditions, part.items], NOW, TODAY, MIDNIGHT
    )
    return union_all(later, *_counted(conditions, after.rest_of_day()))


def _counted(conditions: list, ranges: list) -> list[Select]:
    """(how many rows, how many overdue at NOW) in each of disjoint `ranges` of a list, to
    add up. Each range counted on its own: as for a page itself (`items`), an OR of them all
    makes PostgreSQL read everything the ranges share, each alone only its own range."""
    return [
        select(func.count(), func.count().filter(WorkItem.due_at < NOW)).where(*conditions, r)
        for r in ranges
    ]


@lru_cache(maxsize=KEPT_STATEMENTS)
def _beyond(
    who: Who, filters: Filters, queue: str | None, state: str | None, after: Shape
) -> Select:
    """What comes after a page of a list the kept counts do not count, counted from the
    index: `count_beyond`'s statement for those lists, kept."""
    return union_all(*_counted(_list_conditions(who, filters, queue, state), after.ranges()))


def count_beyond(
    session: Session,
    user: User,
    filters: Filters,
    now: datetime,
    *,
    queue: str | None,
    state: str | None,
    after: Cursor | None,
    shown: list[ListRow],
) -> tuple[int, int]:
    """(how many items of the list come after the `shown` page, how many of those are
    overdue): what a page says about the items beyond it.

    On the first page, the whole list's kept numbers less the page. Further on, the kept
    numbers of the days after the page's last row's day in the lists' order, plus the rest
    of that day read from the index: however far into the list, one day's index entries at
    most. The lists the kept counts do not count are counted from the index."""
    last = Cursor.after(shown[-1])
    who = Who.of(user)
    if state not in KEPT_STATES:
        statement = _beyond(who, filters, queue, state, last.shape)
        return kept_counts.summed(session, statement, _values(now, last))
    if after is None:
        total, overdue = _kept_numbers(session, who, filters, now, queue, state)
        shown_overdue = sum(1 for item in shown if item.due_at is not None and item.due_at < now)
        return total - len(shown), overdue - shown_overdue
    # one statement: the kept numbers of the later days, the rest of this day counted
    return _kept_numbers(session, who, filters, now, queue, state, last)


HOURS = kept_counts.HOURS


@dataclass
class Trend:
    """Arrivals and resolutions in each of the last 24 clock hours (the current one so far),
    oldest hour first."""

    arrived: list[int] = field(default_factory=lambda: [0] * HOURS)
    resolved: list[int] = field(default_factory=lambda: [0] * HOURS)


def trends(session: Session, user: User, filters: Filters, now: datetime) -> dict[str, Trend]:
    """Per queue, items arrived and resolved in each of the last 24 clock hours, summed from
    the kept hour counts (desk.work.counts)."""
    kept = item_hour_count.c
    first, last = kept_counts.trend_hours(now)
    rows = session.execute(
        select(kept.kind, kept.hour, kept.queue_code, func.sum(kept.n).label("n"))
        .where(
            kept.hour.between(first, last),
            visible_to(user, rows=kept),
            *filters.conditions(kept),
        )
        .group_by(kept.kind, kept.hour, kept.queue_code)
    ).all()
    result: dict[str, Trend] = {}
    for kind, hour, queue_code, n in rows:
        if n:
            trend = result.get(queue_code) or result.setdefault(queue_code, Trend())
            getattr(trend, kind)[hour - first] = n
    return result
