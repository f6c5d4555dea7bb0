"""My work's lists as plain queries: the emergencies waiting in my queues, a growing page of
the other items waiting there with what lies beyond it, and the cheap check an open page makes
for emergencies that arrived after it last looked. No Flask: the views and tests call these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from ..models import ItemStatus, Municipality, Queue, User, WorkItem, open_item_count
from . import counts
from .access import visible_to
from .lifecycle import LIST_COLUMNS, as_list_rows, takeable, work_order

#: the waiting list grows by this many rows at a time ("Show 50 more")
PAGE = 50
#: and no further: beyond it the situation view's pages list the rest
MOST = 1000
#: emergencies are few; the section lists the most urgent this many and says how many there
#: are, with a link to them all (a backlog of them must not make My work slow to read or load)
EMERGENCIES = 20


def shown_rows(asked: int | None) -> int:
    """How many waiting rows to show for `shown=` in the address: whole pages, 1 to MOST/PAGE."""
    if asked is None or asked < PAGE:
        return PAGE
    return min(MOST, -(-asked // PAGE) * PAGE)


@dataclass(slots=True)
class ListRow:
    """A takeable item as its row shows it: its columns (`lifecycle.LIST_COLUMNS`), its queue
    and its municipality. Read as plain rows: nobody holds these items, and the queue's and
    the municipality's names are the same for every row (an ORM object each made reading a
    professional's lists 16 ms instead of 11.5)."""

    id: int
    channel: str
    title: str
    language: str
    queue_code: str
    municipality_code: str | None
    status: str
    emergency: bool
    urgency: str | None
    submitted_at: datetime
    due_at: datetime | None
    answer_by: datetime | None
    unanswered_since: datetime | None
    queue: Queue
    municipality: Municipality | None
    assignee: None = None


class _Names:
    """The queues and municipalities, read once for a rendering of the lists."""

    def __init__(self, session: Session) -> None:
        self.queues = {q.code: q for q in session.scalars(select(Queue))}
        self.municipalities = {m.code: m for m in session.scalars(select(Municipality))}

    def rows(self, session: Session, query) -> list[ListRow]:
        return [
            ListRow(
                **row._mapping,
                queue=self.queues[row.queue_code],
                municipality=self.municipalities.get(row.municipality_code),
            )
            for row in session.execute(query)
        ]


@dataclass
class Beyond:
    """What waits after the shown rows: how many, how many of them overdue, and the first of
    them in the order of urgency (the most urgent one not shown)."""

    count: int = 0
    overdue: int = 0
    first: ListRow | None = None


@dataclass
class Waiting:
    emergencies: list[ListRow]
    emergency_count: int
    items: list[ListRow]
    count: int
    beyond: Beyond
    #: the first row of this growth of the list (keyboard focus lands there after "Show more")
    first_new_id: int | None = None

    @property
    def total(self) -> int:
        """Everything waiting in the lists: the emergencies and the rest."""
        return self.emergency_count + self.count


def held(session: Session, user: User) -> list[WorkItem]:
    """The items the user holds (in progress or waiting for the resident), in work order."""
    return list(
        session.scalars(
            select(WorkItem)
            .where(
                WorkItem.assignee_id == user.id,
                WorkItem.status.in_([ItemStatus.IN_PROGRESS.value, ItemStatus.WAITING.value]),
            )
            .order_by(*work_order())
            .options(*as_list_rows())
        )
    )


def waiting(
    session: Session,
    user: User,
    now: datetime,
    *,
    within: set[str] | None = None,
    shown: int = PAGE,
) -> Waiting:
    """What the user may take: every emergency of their queues (whatever `within` narrows the
    rest to: an emergency is never filtered away), then the first `shown` of the others in
    work order, and a summary of those beyond."""
    emergency_where = (*takeable(user), WorkItem.emergency.is_(True))
    names = _Names(session)
    emergencies = names.rows(
        session,
        select(*LIST_COLUMNS).where(*emergency_where).order_by(*work_order()).limit(EMERGENCIES),
    )
    emergency_count = (
        len(emergencies)
        if len(emergencies) < EMERGENCIES
        else session.scalar(select(func.count()).select_from(WorkItem).where(*emergency_where))
    )
    where = (*takeable(user, within), WorkItem.emergency.is_(False))
    rows = names.rows(
        session, select(*LIST_COLUMNS).where(*where).order_by(*work_order()).limit(shown + 1)
    )
    items, next_one = rows[:shown], (rows[shown] if len(rows) > shown else None)
    count, beyond = len(items), Beyond()
    if next_one is not None:
        # The others waiting, and how many of them are overdue: summed from the kept counts
        # (desk.work.counts), not counted (4.8 ms and 8 ms for 20,000 waiting items), less
        # those shown.
        count, overdue = takeable_numbers(session, user, now, within)
        shown_overdue = sum(1 for i in items if i.due_at is not None and i.due_at < now)
        beyond = Beyond(count=count - len(items), overdue=overdue - shown_overdue, first=next_one)
    first_new = items[shown - PAGE] if shown > PAGE and len(items) > shown - PAGE else None
    return Waiting(
        emergencies=emergencies,
        emergency_count=emergency_count,
        items=items,
        count=count,
        beyond=beyond,
        first_new_id=first_new.id if first_new is not None else None,
    )


def takeable_numbers(
    session: Session, user: User, now: datetime, within: set[str] | None = None
) -> tuple[int, int]:
    """How many items other than emergencies the user may take (`lifecycle.takeable`), and
    how many of them are overdue: the kept counts, and today's deadlines that have passed."""
    kept = open_item_count.c
    queues = user.queue_codes if within is None else within
    kept_where = (
        visible_to(user, queues, rows=kept),
        kept.status == ItemStatus.NEW.value,
        kept.assigned.is_(False),
        kept.emergency.is_(False),
    )
    items_where = (*takeable(user, within), WorkItem.emergency.is_(False))
    return counts.numbers(session, kept_where, items_where, now)


def _my_emergencies(user: User) -> tuple:
    """Open emergencies that are the user's concern: waiting in their queues, or given to them."""
    return (
        WorkItem.emergency.is_(True),
        visible_to(user, user.queue_codes),
        or_(
            and_(WorkItem.status == ItemStatus.NEW.value, WorkItem.assignee_id.is_(None)),
            and_(
                WorkItem.assignee_id == user.id,
                WorkItem.status.in_([ItemStatus.IN_PROGRESS.value, ItemStatus.WAITING.value]),
            ),
        ),
    )


def newest_emergency(session: Session, user: User) -> int:
    """The id of the newest open emergency of the user's concern (0: none): where a page
    starts watching from."""
    return session.scalar(select(func.max(WorkItem.id)).where(*_my_emergencies(user))) or 0


def emergencies_since(session: Session, user: User, seen: int) -> tuple[int, int]:
    """(the newest id to watch from now on, how many open emergencies of the user's concern
    arrived after `seen`). Items get ids as they arrive, so a larger id is a later arrival."""
    newest, arrived = session.execute(
        select(func.max(WorkItem.id), func.count().filter(WorkItem.id > seen)).where(
            *_my_emergencies(user)
        )
    ).one()
    return max(seen, newest or 0), arrived or 0


# --- a resident's place in the queue (the inbound contract's processing state) -----------------

#: the queue's recent pace is read over this long
PACE_WINDOW = timedelta(hours=2)
#: fewer first actions than this in the window is too little history for an estimate
PACE_LEAST = 5


def _ahead_of(item: WorkItem):
    """Items that come before `item` in the contract's order, as a condition."""
    same_emergency = WorkItem.emergency.is_(item.emergency)
    due, mine = WorkItem.order_due, item.order_due
    if mine is None:
        due_before, same_due = due.is_not(None), due.is_(None)
    else:
        due_before, same_due = due < mine, due == mine
    later_keys = or_(
        WorkItem.submitted_at < item.submitted_at,
        and_(
            WorkItem.submitted_at == item.submitted_at,
            or_(
                WorkItem.title < item.title,
                and_(WorkItem.title == item.title, WorkItem.id < item.id),
            ),
        ),
    )
    return or_(
        WorkItem.emergency.is_(True) if not item.emergency else false(),
        and_(same_emergency, or_(due_before, and_(same_due, later_keys))),
    )


def position(session: Session, item: WorkItem) -> int | None:
    """The item's place in its queue's work order (1 = next), while nobody has taken it."""
    if item.status != ItemStatus.NEW.value or item.assignee_id is not None:
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(WorkItem)
        .where(
            WorkItem.queue_code == item.queue_code,
            WorkItem.status == ItemStatus.NEW.value,
            WorkItem.assignee_id.is_(None),
            _ahead_of(item),
        )
    )
    return ahead + 1


def estimated_wait(session: Session, item: WorkItem, place: int | None, now: datetime):
    """Seconds until someone takes the item, from the pace at which the queue's items were
    first taken over the last PACE_WINDOW: None when it is already taken or there is too little
    history to say (an honest estimate, not a promise)."""
    if place is None:
        return None
    taken = session.scalar(
        select(func.count())
        .select_from(WorkItem)
        .where(
            WorkItem.queue_code == item.queue_code,
            WorkItem.first_action_at >= now - PACE_WINDOW,
            WorkItem.first_action_at <= now,
        )
    )
    if taken < PACE_LEAST:
        return None
    return round(place * PACE_WINDOW.total_seconds() / taken)
