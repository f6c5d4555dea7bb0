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
- A team lead manages their team: the people of the real desk in the lead's queues who serve
  one of the lead's municipalities (an admin: everyone who works items). A lead sets their
  capacity and memberships, adds to the lead's queues others who serve those municipalities,
  and gives items only to those of the team who may work on them. Giving items to someone who
  is not available, or whom they would put over capacity, is said first (`cautions`), and
  the lead confirms.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ..errors import ItemClosed, NotPermitted
from ..models import EventKind, ItemEvent, ItemStatus, Queue, Role, User, WorkItem, utcnow
from .access import may_work_on
from .lifecycle import claim, record, work_order


class Status(enum.StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    BREAK = "break"
    OFFLINE = "offline"


class Policy(enum.StrEnum):
    MANUAL = "manual"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


#: how much of a person's capacity one item in progress takes, by channel: the channel
#: registry's `weight` (a chat more than a form)
Weight = Callable[[str], int]
#: every dispatch holds this lock (PostgreSQL), so two never give the same person too much
DISPATCH_LOCK = 72_430_001


def loads(session: Session, users: Iterable[User], weight: Weight) -> dict[int, int]:
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


def dispatch(
    session: Session, weight: Weight, now: datetime | None = None
) -> list[tuple[WorkItem, User]]:
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
        load = loads(session, members, weight)
        room = {u.id: u.capacity - load[u.id] for u in members}
        smallest = 1  # no channel takes less room
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
                if not claim(session, item, chosen, now):
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


# --- a lead's team ----------------------------------------------------------------------------

#: who works items in the real desk: a trainer or trainee works only in the training space
#: (their items there are practice cases), an auditor reads the access log and no item
ITEM_WORKERS = frozenset({Role.PROFESSIONAL.value, Role.TEAM_LEAD.value, Role.ADMIN.value})


def works_items(user: User) -> bool:
    return user.active and user.role in ITEM_WORKERS


def in_team(lead: User, person: User) -> bool:
    """Whether `person` is of `lead`'s team: their capacity, their memberships of the lead's
    queues and the lead's items in their hands are the lead's to set. An admin's team is
    everyone who works items in the real desk; a team lead's, those of them in one of the
    lead's queues who serve one of the lead's municipalities, never an admin (whom no lead
    manages). Nobody else leads anyone."""
    if not works_items(person):
        return False
    if lead.is_admin:
        return True
    return (
        lead.role == Role.TEAM_LEAD.value
        and not person.is_admin
        and bool(person.queue_codes & lead.queue_codes)
        and bool(person.municipality_codes & lead.municipality_codes)
    )


def may_join(lead: User, person: User) -> bool:
    """Whether `lead` may add `person` to the lead's queues (or take them off): someone of the
    team, or who works items in the real desk for one of the lead's municipalities. Their
    capacity stays the lead's to set only once they are of the team."""
    if in_team(lead, person):
        return True
    return (
        lead.role == Role.TEAM_LEAD.value
        and works_items(person)
        and not person.is_admin
        and bool(person.municipality_codes & lead.municipality_codes)
    )


def may_hold(person: User, item: WorkItem) -> bool:
    """Whether `item` may be given to `person`: they work items in the real desk, are in its
    queue and serve its resident's municipality. Stricter than `may_work_on`, which lets an
    admin see every item: an item is given only to someone who works in its queue."""
    return (
        works_items(person)
        and item.queue_code in person.queue_codes
        and (item.municipality_code is None or item.municipality_code in person.municipality_codes)
    )


def may_give(lead: User, item: WorkItem, person: User) -> bool:
    """Whether `lead` may give `item` to `person`: the lead's item, to one of their team who
    may hold it."""
    return may_work_on(lead, item) and in_team(lead, person) and may_hold(person, item)


def led_queues(session: Session, lead: User) -> list[Queue]:
    """The active queues `lead` leads: their own (an admin: all)."""
    queues = session.scalars(select(Queue).where(Queue.active).order_by(Queue.code)).all()
    return [q for q in queues if lead.is_admin or q.code in lead.queue_codes]


def team(session: Session, lead: User) -> list[User]:
    """The people of `lead`'s team who are in the lead's queues (the board's people), by name."""
    codes = {q.code for q in led_queues(session, lead)}
    people = session.scalars(
        select(User)
        .where(User.active, User.role.in_(ITEM_WORKERS))
        .order_by(User.display_name, User.id)
    ).all()
    return [p for p in people if p.queue_codes & codes and in_team(lead, p)]


def set_membership(
    session: Session, lead: User, person: User, chosen: set[str], capacity: int | None = None
) -> None:
    """`person`'s memberships of the lead's queues become `chosen` (their other queues are not
    the lead's to change), and their capacity `capacity` unless None. Raises NotPermitted, with
    nothing changed, for someone the lead may not add to their queues, or whose capacity is
    not theirs to set."""
    if not may_join(lead, person) or (capacity is not None and not in_team(lead, person)):
        raise NotPermitted()
    mine = led_queues(session, lead)
    codes = {q.code for q in mine}
    kept = [q for q in person.queues if q.code not in codes]
    person.queues = kept + [q for q in mine if q.code in chosen]
    if capacity is not None:
        person.capacity = capacity
    session.flush()


@dataclass(frozen=True)
class Caution:
    """What a lead is told before giving items to someone, and confirms: `kind` "away" (the
    person is busy, on a break or offline: `status`), or "over_capacity" (the items would
    put their load `load` + `adding` over `capacity`)."""

    kind: str
    status: str | None = None
    load: int = 0
    adding: int = 0
    capacity: int = 0


def cautions(
    session: Session, person: User, items: Iterable[WorkItem], weight: Weight
) -> list[Caution]:
    """Why giving `items` to `person` may leave them waiting: the person is not available, or
    the items they would have in progress (a waiting item stays waiting, and what they hold
    already is not counted twice) go over their capacity. Empty: nothing to confirm."""
    found = []
    if person.status != Status.AVAILABLE.value:
        found.append(Caution("away", status=person.status))
    adding = sum(
        weight(item.channel)
        for item in items
        if item.assignee_id != person.id
        and item.status in (ItemStatus.NEW.value, ItemStatus.IN_PROGRESS.value)
    )
    load = loads(session, [person], weight)[person.id]
    if adding and load + adding > person.capacity:
        found.append(Caution("over_capacity", load=load, adding=adding, capacity=person.capacity))
    return found


def reassign(
    session: Session, item: WorkItem, lead: User, to: User | None, now: datetime | None = None
) -> WorkItem:
    """A team lead moves an open item of theirs to someone of their team who may hold it
    (`may_give`), or back to the queue (an item waiting for the resident keeps waiting, with
    its new holder). NotPermitted, with nothing changed, otherwise."""
    if not may_work_on(lead, item) or lead.role not in (Role.TEAM_LEAD.value, Role.ADMIN.value):
        raise NotPermitted()
    if item.status == ItemStatus.RESOLVED.value:
        raise ItemClosed()
    if to is not None and not may_give(lead, item, to):
        raise NotPermitted()
    now = now or utcnow()
    if item.retry_at is not None:  # waiting in the queue for its next call: no longer
        item.retry_at, item.status = None, ItemStatus.NEW.value
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
