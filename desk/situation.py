"""The situation view's numbers: per queue, what waits, what is in hand and what is late.

Plain SQLAlchemy. Counts read only open items (a partial index holds them), so resolved
history does not slow the view however much of it there is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from .access import visible_to
from .lifecycle import work_order
from .models import OPEN_STATUSES, ItemStatus, User, WorkItem

STATES = ("waiting", "in_progress", "waiting_resident", "due_soon", "overdue", "emergency")
DUE_SOON = timedelta(hours=1)


@dataclass(frozen=True)
class Filters:
    """Narrowing of the view; empty means everything the viewer may see."""

    municipality: str | None = None
    channel: str | None = None
    service_area: str | None = None
    identification: str | None = None

    def conditions(self) -> list:
        conditions = []
        if self.municipality:
            conditions.append(WorkItem.municipality_code == self.municipality)
        if self.channel:
            conditions.append(WorkItem.channel == self.channel)
        if self.service_area:
            conditions.append(WorkItem.service_area_code == self.service_area)
        if self.identification:
            conditions.append(WorkItem.identification == self.identification)
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


def state_condition(state: str, now: datetime):
    """The SQL condition of one column of the view, for its count and its list."""
    return {
        "waiting": WorkItem.status == ItemStatus.NEW.value,
        "in_progress": WorkItem.status == ItemStatus.IN_PROGRESS.value,
        "waiting_resident": WorkItem.status == ItemStatus.WAITING.value,
        "due_soon": and_(WorkItem.due_at >= now, WorkItem.due_at < now + DUE_SOON),
        "overdue": WorkItem.due_at < now,
        "emergency": WorkItem.emergency.is_(True),
    }[state]


def counts(session: Session, user: User, filters: Filters, now: datetime) -> dict[str, Counts]:
    """Counts per queue code, of the open items the user may see."""
    columns = [func.count().filter(state_condition(state, now)).label(state) for state in STATES]
    oldest = func.min(WorkItem.submitted_at).filter(WorkItem.status == ItemStatus.NEW.value)
    rows = session.execute(
        select(WorkItem.queue_code, *columns, oldest.label("oldest"))
        .where(WorkItem.status.in_(OPEN_STATUSES), visible_to(user), *filters.conditions())
        .group_by(WorkItem.queue_code)
    )
    return {
        row.queue_code: Counts(
            **{state: getattr(row, state) for state in STATES},
            oldest=row.oldest,
        )
        for row in rows
    }


@dataclass(frozen=True)
class Cursor:
    """Where a page of a list ended: the last row's place in the contract's order."""

    emergency: bool
    due_at: datetime | None
    submitted_at: datetime
    title: str
    id: int

    @classmethod
    def after(cls, item: WorkItem) -> Cursor:
        return cls(item.emergency, item.due_at, item.submitted_at, item.title, item.id)

    def condition(self):
        """Rows after this one in (emergency DESC, due_at NULLS LAST, submitted_at, title, id)."""
        tail = or_(
            WorkItem.submitted_at > self.submitted_at,
            and_(WorkItem.submitted_at == self.submitted_at, WorkItem.title > self.title),
            and_(
                WorkItem.submitted_at == self.submitted_at,
                WorkItem.title == self.title,
                WorkItem.id > self.id,
            ),
        )
        if self.due_at is None:
            after_due = and_(WorkItem.due_at.is_(None), tail)
        else:
            after_due = or_(
                WorkItem.due_at > self.due_at,
                WorkItem.due_at.is_(None),
                and_(WorkItem.due_at == self.due_at, tail),
            )
        same_emergency = and_(WorkItem.emergency.is_(self.emergency), after_due)
        if self.emergency:
            return or_(WorkItem.emergency.is_(False), same_emergency)
        return same_emergency


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
) -> list[WorkItem]:
    """One page of the open items behind a number of the view, in the contract's order."""
    query = select(WorkItem).where(
        WorkItem.status.in_(OPEN_STATUSES), visible_to(user), *filters.conditions()
    )
    if queue:
        query = query.where(WorkItem.queue_code == queue)
    if state:
        query = query.where(state_condition(state, now))
    if after is not None:
        query = query.where(after.condition())
    return list(session.scalars(query.order_by(*work_order()).limit(limit)))


HOURS = 24


@dataclass
class Trend:
    """Arrivals and resolutions per hour over the last day, oldest hour first."""

    arrived: list[int] = field(default_factory=lambda: [0] * HOURS)
    resolved: list[int] = field(default_factory=lambda: [0] * HOURS)


def trends(session: Session, user: User, filters: Filters, now: datetime) -> dict[str, Trend]:
    """Per queue, items arrived and resolved in each of the last 24 hours."""
    starts = [now - timedelta(hours=HOURS - n) for n in range(HOURS + 1)]
    result: dict[str, Trend] = {}
    for column, attribute in ((WorkItem.created_at, "arrived"), (WorkItem.resolved_at, "resolved")):
        buckets = [
            func.count().filter(column >= starts[n], column < starts[n + 1]).label(f"h{n}")
            for n in range(HOURS)
        ]
        rows = session.execute(
            select(WorkItem.queue_code, *buckets)
            .where(column >= starts[0], visible_to(user), *filters.conditions())
            .group_by(WorkItem.queue_code)
        )
        for row in rows:
            trend = result.setdefault(row.queue_code, Trend())
            setattr(trend, attribute, [getattr(row, f"h{n}") for n in range(HOURS)])
    return result
