"""My work's lists as plain queries: the emergencies waiting in my queues, a growing page of
the other items waiting there with what lies beyond it, and the cheap check an open page makes
for emergencies that arrived after it last looked. No Flask: the views and tests call these."""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import islice

from sqlalchemy import CompoundSelect, Select, and_, bindparam, false, func, or_, select, union_all
from sqlalchemy.orm import Session

from .. import kept
from ..models import ItemStatus, Municipality, Queue, User, WorkItem, open_item_count
from . import counts
from .access import Who, visible_to, written
from .lifecycle import LIST_COLUMNS, takeable, work_order

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
    """An item as My work's rows show it: its columns (`lifecycle.LIST_COLUMNS`), its queue
    and its municipality, and of an item held its holder and next call. Read as plain rows:
    the queue's and the municipality's names are the same for every row (an ORM object each
    made reading a professional's lists 16 ms instead of 11.5)."""

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
    assignee: User | Holder | None = None
    retry_at: datetime | None = None

    @property
    def order_due(self) -> datetime | None:
        """What the lists order by (`WorkItem.order_due`): the legal deadline, or a waiting
        chat's response target."""
        return self.due_at if self.due_at is not None else self.answer_by


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds an item, as a list's row shows them: by name."""

    display_name: str


#: the columns of a row that shows who holds it and its next call (`rows_with_holders`)
HELD_LIST_COLUMNS = (*LIST_COLUMNS, WorkItem.retry_at, User.display_name.label("holder"))


class _Names:
    """The queues and municipalities, for a rendering of the lists: as this process keeps
    them (desk.kept; one statement asks whether they changed)."""

    def __init__(self, session: Session, reference: kept.Reference | None = None) -> None:
        self.reference = reference or kept.reference(session)

    def rows(self, session: Session, query, values=None, **fields) -> list[ListRow]:
        """The rows `query` finds (given its parameters' `values`), named; with `fields` the
        same in each."""
        get = self.reference.get
        return [
            ListRow(
                **row._mapping,
                queue=get(Queue, row.queue_code),
                municipality=get(Municipality, row.municipality_code),
                **fields,
            )
            for row in session.execute(query, values)
        ]


def rows_with_holders(session: Session, query, values=None) -> list[ListRow]:
    """The rows `query` finds (given its parameters' `values`), each with its holder by name:
    it selects `HELD_LIST_COLUMNS` (the holder's name joined: `outerjoin(User, User.id ==
    WorkItem.assignee_id)`). Plain rows, named from the kept reference tables, as My work's."""
    get = kept.reference(session).get
    rows = []
    for row in session.execute(query, values):
        columns = dict(row._mapping)
        holder = columns.pop("holder")
        rows.append(
            ListRow(
                **columns,
                queue=get(Queue, row.queue_code),
                municipality=get(Municipality, row.municipality_code),
                assignee=Holder(holder) if holder is not None else None,
            )
        )
    return rows


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


def _held_by(user_id: int) -> tuple:
    """What the user holds: in progress, or waiting for the resident."""
    return (
        written(WorkItem.assignee_id, user_id),
        written(WorkItem.status, [ItemStatus.IN_PROGRESS.value, ItemStatus.WAITING.value]),
    )


def held(session: Session, user: User, reference: kept.Reference | None = None) -> list[ListRow]:
    """The items the user holds (in progress or waiting for the resident), in work order.

    Plain rows, as the lists of what waits (a fifth of My work's time went to loading these
    as whole items), named from the kept reference tables (`reference` when the caller has
    them already)."""
    return _Names(session, reference).rows(session, _held(user.id), assignee=user)


@lru_cache(maxsize=4096)
def _held(user_id: int) -> Select:
    """The statement of what `user_id` holds, kept (as `_newest_emergency`'s)."""
    query = select(*LIST_COLUMNS, WorkItem.retry_at).where(*_held_by(user_id))
    return query.order_by(*work_order())


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
    where = (*takeable(user, within), WorkItem.emergency.is_(False))
    rows = names.rows(
        session, select(*LIST_COLUMNS).where(*where).order_by(*work_order()).limit(shown + 1)
    )
    return _waiting(
        emergencies,
        lambda: session.scalar(select(func.count()).select_from(WorkItem).where(*emergency_where)),
        rows,
        shown,
        now,
        # The others waiting, and how many of them are overdue: summed from the kept counts
        # (desk.work.counts), not counted (4.8 ms and 8 ms for 20,000 waiting items).
        lambda: takeable_numbers(session, user, now, within),
    )


def _waiting(
    emergencies: list[ListRow],
    emergency_count: Callable[[], int],
    rows: list[ListRow],
    shown: int,
    now: datetime,
    numbers: Callable[[], tuple[int, int]],
) -> Waiting:
    """The lists from the first EMERGENCIES emergencies and the first `shown` + 1 other rows;
    what lies beyond the shown rows is asked of `numbers` (how many, how many overdue) only
    when there is something beyond, as the emergencies' `emergency_count`."""
    items, next_one = rows[:shown], (rows[shown] if len(rows) > shown else None)
    count, beyond = len(items), Beyond()
    if next_one is not None:
        count, overdue = numbers()
        shown_overdue = sum(1 for i in items if i.due_at is not None and i.due_at < now)
        beyond = Beyond(count=count - len(items), overdue=overdue - shown_overdue, first=next_one)
    first_new = items[shown - PAGE] if shown > PAGE and len(items) > shown - PAGE else None
    return Waiting(
        emergencies=emergencies,
        emergency_count=(len(emergencies) if len(emergencies) < EMERGENCIES else emergency_count()),
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


def _order(row: ListRow) -> tuple:
    """`lifecycle.work_order` in Python, for rows that are all emergencies or all not:
    earliest deadline (or a waiting chat's response target; none last), oldest, title, id.
    Titles compare by code point, as the desk's databases (C.UTF-8) compare them."""
    due = row.due_at if row.due_at is not None else row.answer_by
    return (due is None, due or row.submitted_at, row.submitted_at, row.title, row.id)


@dataclass
class _Part:
    """The first rows of what may be taken in one queue and municipality, in work order."""

    emergencies: list[ListRow]
    others: list[ListRow]
    read_at: float


class Shelf:
    """My work's lists of what waits, kept per queue and municipality (None among them: an
    item of no municipality), so that the lists of many views are composed from them rather
    than each read again (the live stream's, desk.live: every change in a queue makes every
    open view of that queue due). `waiting` gives what `waiting()` gives for the same view.

    A view's lists are the first rows of the merge of its parts, each part being the first
    rows of one queue and municipality in work order; its numbers are the parts' kept counts
    summed. The shelf must be told of every committed change (`forget`) before anyone asks
    again for a list of that queue: it reads the queue's parts again when next asked. The
    numbers are read for all parts at once, again after a change and every
    `numbers_seconds` (an item falls overdue without a change). Parts no change has named
    are trusted for `keep_seconds` (as a shared rendering is, desk.live: a change whose
    message was lost costs that long)."""

    #: parts read in one statement at most (SQLite allows 500 branches in a UNION)
    PARTS_PER_STATEMENT = 100

    def __init__(
        self,
        keep_seconds: float = 60.0,
        numbers_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keep_seconds = keep_seconds
        self.numbers_seconds = numbers_seconds
        self.clock = clock
        self._parts: dict[tuple[str, str | None], _Part] = {}
        #: every part a view has asked for (at most the queues × the municipalities)
        self._wanted: set[tuple[str, str | None]] = set()
        self._names: _Names | None = None
        self._names_at = 0.0
        #: (when read, the kept counts by (queue, municipality, emergency): (items, overdue
        #: before today), today's deadlines passed by (queue, municipality))
        self._numbers: tuple[float, dict, dict] | None = None
        #: held while reading and composing: a change told meanwhile waits, so what was read
        #: before it is forgotten after it
        self.lock = threading.Lock()

    @staticmethod
    def composes(user, shown: int) -> bool:
        """Whether `waiting` composes this view (an admin's lists span every queue and
        municipality, and a longer list than a page is rare: those are read as ever)."""
        return not user.is_admin and shown == PAGE

    def forget(
        self,
        queues: Iterable[str] | None,
        places: Mapping[str, Collection[str | None]] | None = None,
    ) -> None:
        """A change was committed in `queues` (None: in any, or unknown); in those of them
        that `places` names, only in the municipalities it gives (None among them: items of
        no municipality), in the others in any."""
        places = places or {}
        with self.lock:
            if queues is None:
                self._parts.clear()
                self._names = None
            else:
                changed = set(queues)
                for key in [
                    key
                    for key in self._parts
                    if key[0] in changed and (key[0] not in places or key[1] in places[key[0]])
                ]:
                    del self._parts[key]
            self._numbers = None

    def waiting(
        self,
        session: Session,
        user,
        now: datetime,
        *,
        within: set[str] | None = None,
        shown: int = PAGE,
    ) -> Waiting:
        """What `waiting(session, user, now, within=within, shown=shown)` gives."""
        if not self.composes(user, shown):
            return waiting(session, user, now, within=within, shown=shown)
        mine = sorted(user.queue_codes)
        narrowed = [q for q in mine if within is None or q in within]
        municipalities = [*sorted(user.municipality_codes), None]
        with self.lock:
            parts = self._read(session, mine, municipalities, now)
            emergencies = list(
                islice(
                    heapq.merge(
                        *(parts[q, m].emergencies for q in mine for m in municipalities), key=_order
                    ),
                    EMERGENCIES,
                )
            )
            rows = list(
                islice(
                    heapq.merge(
                        *(parts[q, m].others for q in narrowed for m in municipalities), key=_order
                    ),
                    shown + 1,
                )
            )
            _at, kept, passed = self._numbers

        def emergency_count() -> int:
            return sum(kept.get((q, m, True), (0, 0))[0] for q in mine for m in municipalities)

        def numbers() -> tuple[int, int]:
            keys = [(q, m) for q in narrowed for m in municipalities]
            count = sum(kept.get((q, m, False), (0, 0))[0] for q, m in keys)
            overdue = sum(
                kept.get((q, m, False), (0, 0))[1] + passed.get((q, m), 0) for q, m in keys
            )
            return count, overdue

        return _waiting(emergencies, emergency_count, rows, shown, now, numbers)

    def _read(self, session: Session, queues, municipalities, now: datetime) -> dict:
        """The parts of `queues` × `municipalities`, and the numbers (under the lock). Every
        part asked for once is kept: those a change or their age made due are read again
        together, in one statement, when the first view next asks (each round trip of the
        stream process waits for its other work, desk.live)."""
        at = self.clock()
        if self._names is None or at - self._names_at > self.keep_seconds:
            self._names, self._names_at = _Names(session), at  # a renamed queue, say
        self._wanted.update((q, m) for q in queues for m in municipalities)
        due = [
            key
            for key in self._wanted
            if key not in self._parts or at - self._parts[key].read_at > self.keep_seconds
        ]
        for start in range(0, len(due), self.PARTS_PER_STATEMENT):
            self._parts.update(
                self._read_parts(session, due[start : start + self.PARTS_PER_STATEMENT], at)
            )
        if self._numbers is None or at - self._numbers[0] > self.numbers_seconds:
            self._numbers = (at, *self._read_numbers(session, now))
        return self._parts

    def _read_parts(self, session: Session, keys: list, at: float) -> dict:
        """The parts `keys`: each one's first rows of either kind is a branch of one
        UNION ALL, a range of the index of takeable items by queue and municipality."""
        placed = [key for key in keys if key[1] is not None]
        unplaced = [key for key in keys if key[1] is None]
        values = {f"q{i}": queue for i, (queue, _m) in enumerate(placed)}
        values |= {f"m{i}": municipality for i, (_q, municipality) in enumerate(placed)}
        values |= {f"n{i}": queue for i, (queue, _m) in enumerate(unplaced)}
        parts = {key: _Part(emergencies=[], others=[], read_at=at) for key in keys}
        statement = _parts_statement(len(placed), len(unplaced), EMERGENCIES, PAGE + 1)
        for row in self._names.rows(session, statement, values):
            part = parts[row.queue_code, row.municipality_code]
            (part.emergencies if row.emergency else part.others).append(row)
        for part in parts.values():  # a union keeps no order of its own
            part.emergencies.sort(key=_order)
            part.others.sort(key=_order)
        return parts

    @staticmethod
    def _read_numbers(session: Session, now: datetime) -> tuple[dict, dict]:
        """What `takeable_numbers` sums, for every queue and municipality at once."""
        kept = open_item_count.c
        day, midnight = counts.today(now)
        parts = (kept.queue_code, kept.municipality_code, kept.emergency)
        kept_counts = {
            (queue, municipality, bool(emergency)): (int(n), int(late))
            for queue, municipality, emergency, n, late in session.execute(
                select(
                    *parts,
                    func.coalesce(func.sum(kept.n), 0),
                    func.coalesce(func.sum(kept.n).filter(kept.due_day < day), 0),
                )
                .where(kept.status == ItemStatus.NEW.value, kept.assigned.is_(False))
                .group_by(*parts)
            )
        }
        passed = {
            (queue, municipality): int(n)
            for queue, municipality, n in session.execute(
                select(WorkItem.queue_code, WorkItem.municipality_code, func.count())
                .where(
                    WorkItem.status == ItemStatus.NEW.value,
                    WorkItem.assignee_id.is_(None),
                    WorkItem.emergency.is_(False),
                    WorkItem.due_at >= midnight,
                    WorkItem.due_at < now,
                )
                .group_by(WorkItem.queue_code, WorkItem.municipality_code)
            )
        }
        return kept_counts, passed


@lru_cache(maxsize=256)
def _parts_statement(placed: int, unplaced: int, emergencies: int, others: int) -> CompoundSelect:
    """The shelf's statement for `placed` parts of a queue and a municipality (parameters
    q0, m0, …) and `unplaced` parts of a queue's items of no municipality (n0, …), each
    part's first `emergencies` emergencies and `others` other rows: built once for each such
    shape, as a fresh statement of dozens of branches took longer to build and key than to
    run."""
    wheres = [
        (
            WorkItem.queue_code == bindparam(f"q{i}"),
            WorkItem.municipality_code == bindparam(f"m{i}"),
        )
        for i in range(placed)
    ] + [
        (WorkItem.queue_code == bindparam(f"n{i}"), WorkItem.municipality_code.is_(None))
        for i in range(unplaced)
    ]
    return union_all(
        *(
            select(*LIST_COLUMNS)
            .where(
                *where,
                WorkItem.status == ItemStatus.NEW.value,
                WorkItem.assignee_id.is_(None),
                WorkItem.emergency.is_(emergency),
            )
            .order_by(*work_order())
            .limit(limit)
            .subquery()
            .select()
            for where in wheres
            for emergency, limit in ((True, emergencies), (False, others))
        )
    )


def _my_emergencies(who: Who) -> tuple[tuple, tuple]:
    """Open emergencies that are the user's concern, as two conditions asked apart: waiting in
    their queues, and given to them. Each is a range of its own partial index
    (ix_work_item_emergency_takeable, ix_work_item_emergency_held), so the newest is the first
    row from its newest end that the user may see. As one condition with OR, PostgreSQL read
    every open emergency waiting in any queue, on every page."""
    emergency = WorkItem.emergency.is_(True)
    held = (visible_to(who, who.queue_codes), *_held_by(who.id))
    return (emergency, *takeable(who)), (emergency, *held)


def newest_emergency(session: Session, user: User) -> int:
    """The id of the newest open emergency of the user's concern (0: none): where a page
    starts watching from."""
    waiting, held = session.execute(_newest_emergency(Who.of(user))).one()
    return max(waiting or 0, held or 0)


@lru_cache(maxsize=4096)
def _newest_emergency(who: Who) -> Select:
    """The emergency watch's statement for `who`, kept: every page but My work runs it, and
    building it afresh with its cache key cost twice as much CPU as running it."""
    return select(*(_newest(where) for where in _my_emergencies(who)))


def _newest(where: tuple):
    """The newest item of `where`, as a column of a statement."""
    return select(func.max(WorkItem.id)).where(*where).scalar_subquery()


def newest_takeable_emergency(session: Session, user: User) -> int:
    """The id of the newest emergency the user may take (0: none): with the emergencies the
    user holds, `newest_emergency`."""
    return (
        session.scalar(
            select(func.max(WorkItem.id)).where(*takeable(user), WorkItem.emergency.is_(True))
        )
        or 0
    )


def emergencies_since(session: Session, user: User, seen: int) -> tuple[int, int]:
    """(the newest id to watch from now on, how many open emergencies of the user's concern
    arrived after `seen`). Items get ids as they arrive, so a larger id is a later arrival."""
    newest_waiting, newest_held, waiting, held = session.execute(
        _emergencies_since(Who.of(user)), {"seen": seen}
    ).one()
    return max(seen, newest_waiting or 0, newest_held or 0), waiting + held


@lru_cache(maxsize=4096)
def _emergencies_since(who: Who) -> Select:
    """`emergencies_since`'s statement for `who`, kept (as `_newest_emergency`'s): every open
    page asks it every so often. What arrived after `seen` is a range of each index."""
    mine = _my_emergencies(who)
    later = (
        select(func.count()).where(*where, WorkItem.id > bindparam("seen")).scalar_subquery()
        for where in mine
    )
    return select(*(_newest(where) for where in mine), *later)


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
