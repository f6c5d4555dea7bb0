"""Who is available, how much each has in hand, and who the desk gives the next item to.
Plain Python on a Session; no Flask.

- A professional is available, busy, on a break or offline. Going offline gives back the items
  they hold but have not touched since they got them, each with a timeline entry.
- Load is the items in progress, weighted by channel (a chat occupies more than a form);
  capacity is per person.
- Per queue, assignment is manual (people take), round robin (the available member who got an
  item longest ago) or least loaded (the lightest load, then round robin). `dispatch` offers
  the waiting items in the contract's order, each only to available members of its queue with
  room for it and the resident's municipality in scope; an item nobody has room for waits, and
  the next one is tried. Dispatches are serialised (a transaction-level lock on PostgreSQL), so
  nobody ends above capacity, and claiming is the same conditional UPDATE as taking.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from .access import may_work_on
from .errors import ItemClosed, NotPermitted
from .lifecycle import _claim, record, work_order
from .models import EventKind, ItemEvent, ItemStatus, Queue, User, WorkItem, utcnow


class Status(enum.StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    BREAK = "break"
    OFFLINE = "offline"


class Policy(enum.StrEnum):
    MANUAL = "manual"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


#: how much of a person's capacity one item in progress takes, by channel
WEIGHTS = {"chat": 2}
DEFAULT_WEIGHT = 1
#: every dispatch holds this lock (PostgreSQL), so two never give the same person too much
DISPATCH_LOCK = 72_430_001


def weight(channel: str) -> int:
    return WEIGHTS.get(channel, DEFAULT_WEIGHT)


def loads(session: Session, users: Iterable[User]) -> dict[int, int]:
    """Each user's weighted load: the items they have in progress."""
    ids = [u.id for u in users]
    result = dict.fromkeys(ids, 0)
    if not ids:
        return result
    rows = session.execute(
        select(WorkItem.assignee_id, WorkItem.channel, func.count())
        .where(WorkItem.assignee_id.in_(ids), WorkItem.status == ItemStatus.IN_PROGRESS.value)
        .group_by(WorkItem.assignee_id, WorkItem.channel)
    )
    for user_id, channel, count in rows:
        result[user_id] += weight(channel) * count
    return result


def set_status(session: Session, user: User, status: Status, now: datetime | None = None) -> list:
    """Change the user's status; going offline returns their untouched items (the list)."""
    now = now or utcnow()
    user.status = Status(status).value
    user.status_since = now
    returned = []
    if status == Status.OFFLINE:
        for item in untouched(session, user):
            item.assignee = None
            item.status = ItemStatus.NEW.value
            item.updated_at = now
            record(session, item, user, EventKind.RETURNED, at=now)
            returned.append(item)
    session.flush()
    return returned


def untouched(session: Session, user: User) -> list[WorkItem]:
    """Items in progress with `user` on which nothing has happened since they got them."""
    held = session.scalars(
        select(WorkItem).where(
            WorkItem.assignee_id == user.id, WorkItem.status == ItemStatus.IN_PROGRESS.value
        )
    ).all()
    found = []
    for item in held:
        last = session.scalar(
            select(ItemEvent).where(ItemEvent.item_id == item.id).order_by(ItemEvent.id.desc())
        )
        got_it = last is not None and (
            (last.kind == EventKind.TAKEN.value and last.actor_id == user.id)
            or (
                last.kind in (EventKind.ASSIGNED.value, EventKind.REASSIGNED.value)
                and last.to_user_id == user.id
            )
        )
        if got_it:
            found.append(item)
    return found


@dataclass
class Candidate:
    user: User
    load: int


def _choose(policy: Policy, candidates: list[Candidate]) -> Candidate:
    never = datetime.min.replace(tzinfo=utcnow().tzinfo)

    def least_recent(c: Candidate):
        return (c.user.last_assigned_at or never, c.user.id)

    if policy == Policy.LEAST_LOADED:
        return min(candidates, key=lambda c: (c.load, *least_recent(c)))
    return min(candidates, key=least_recent)


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DISPATCH_LOCK})


def dispatch(session: Session, now: datetime | None = None) -> list[tuple[WorkItem, User]]:
    """Give waiting items of the queues that assign automatically to available members with
    room for them, in the contract's order; flushes, the caller commits."""
    now = now or utcnow()
    _lock(session)
    given = []
    queues = session.scalars(
        select(Queue).where(Queue.assignment != Policy.MANUAL.value, Queue.active)
    ).all()
    for queue in queues:
        members = session.scalars(
            select(User)
            .join(User.queues)
            .where(Queue.code == queue.code, User.active, User.status == Status.AVAILABLE.value)
        ).all()
        if not members:
            continue
        load = loads(session, members)
        room = {u.id: u.capacity - load[u.id] for u in members}
        smallest = min(DEFAULT_WEIGHT, *WEIGHTS.values())
        # Read in order, a batch at a time, and stop as soon as everyone is full: a long queue
        # costs one batch, not the whole backlog.
        waiting = session.scalars(
            select(WorkItem)
            .where(*takeable_in(queue.code))
            .order_by(*work_order())
            .execution_options(yield_per=100)
        )
        try:
            for item in waiting:
                if all(r < smallest for r in room.values()):
                    break  # everyone is full: the rest waits, in order
                need = weight(item.channel)
                candidates = [
                    Candidate(u, load[u.id])
                    for u in members
                    if room[u.id] >= need and may_work_on(u, item)
                ]
                if not candidates:
                    continue  # nobody has room for this one: try the next
                chosen = _choose(Policy(queue.assignment), candidates).user
                if not _claim(session, item, chosen, now):
                    continue  # someone took it meanwhile
                record(session, item, None, EventKind.ASSIGNED, at=now, to_user_id=chosen.id)
                # In the order given, so the next turn goes to someone else.
                chosen.last_assigned_at = now + timedelta(microseconds=len(given))
                load[chosen.id] += need
                room[chosen.id] -= need
                given.append((item, chosen))
        finally:
            waiting.close()  # the rest is not read
    session.flush()
    return given


def takeable_in(queue_code: str) -> tuple:
    return (
        WorkItem.queue_code == queue_code,
        WorkItem.status == ItemStatus.NEW.value,
        WorkItem.assignee_id.is_(None),
    )


def reassign(
    session: Session, item: WorkItem, lead: User, to: User | None, now: datetime | None = None
) -> WorkItem:
    """A team lead moves an open item to someone of its queue and scope, or back to the queue
    (an item waiting for the resident keeps waiting, with its new holder)."""
    if item.status == ItemStatus.RESOLVED.value:
        raise ItemClosed()
    if to is not None and not may_work_on(to, item):
        raise NotPermitted()
    now = now or utcnow()
    item.assignee = to
    if to is None:
        item.status = ItemStatus.NEW.value
    elif item.status == ItemStatus.NEW.value:
        item.status = ItemStatus.IN_PROGRESS.value
    item.updated_at = now
    record(
        session,
        item,
        lead,
        EventKind.REASSIGNED,
        at=now,
        to_user_id=to.id if to else None,
    )
    if to is not None:
        to.last_assigned_at = now
        item.first_action_at = item.first_action_at or now
    session.flush()
    return item
