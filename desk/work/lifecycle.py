"""The lifecycle verbs of a work item: take, release, transfer, note, wait, resume, resolve,
take next. Plain Python: each verb checks, changes, records an event and flushes; the request
or job that called it commits once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from ..errors import (
    AlreadyTaken,
    InactiveQueue,
    ItemClosed,
    NotHolder,
    NotPermitted,
    SameQueue,
    StaleItem,
    TextRequired,
    TextTooLong,
    UnfilledPlaceholders,
    UnknownMunicipality,
    UnknownOutcome,
    WrongStatus,
)
from ..guidance.responses import unfilled
from ..models import (
    AccessPurpose,
    EventKind,
    ItemEvent,
    ItemStatus,
    Municipality,
    OutcomeCode,
    Queue,
    User,
    WorkItem,
    utcnow,
)
from ..outbound import outbox
from ..outbound.conversation import refresh_target
from .access import Who, may_work_on, record_access, visible_to, written

MAX_TEXT = 4000
#: the events after which the item's state (status, holder's presence, queue) is not what it was
STATE_CHANGES = frozenset(
    {
        EventKind.TAKEN,
        EventKind.ASSIGNED,
        EventKind.REASSIGNED,
        EventKind.RELEASED,
        EventKind.RETURNED,
        EventKind.TRANSFERRED,
        EventKind.WAITING,
        EventKind.RESUMED,
        EventKind.RESOLVED,
        EventKind.NO_ANSWER,
        EventKind.CALL_LATER,
        EventKind.RETRY_DUE,
    }
)


def work_order() -> tuple:
    """The contract's order: emergencies, earliest deadline (none last), oldest, title; a live
    chat whose resident waits is ordered by its response target as if it were its deadline."""
    return (
        WorkItem.emergency.desc(),
        WorkItem.order_due.asc().nulls_last(),
        WorkItem.submitted_at.asc(),
        WorkItem.title.asc(),
        WorkItem.id.asc(),
    )


#: what a list's row shows of an item (desk.views.rows), read as plain rows
#: (worklist.ListRow); the situation view's lists also read who holds it and its next call
#: (worklist.HELD_LIST_COLUMNS)
LIST_COLUMNS = (
    WorkItem.id,
    WorkItem.channel,
    WorkItem.title,
    WorkItem.language,
    WorkItem.queue_code,
    WorkItem.municipality_code,
    WorkItem.status,
    WorkItem.emergency,
    WorkItem.urgency,
    WorkItem.submitted_at,
    WorkItem.due_at,
    WorkItem.answer_by,
    WorkItem.unanswered_since,
)


def takeable(user: User | Who, within: set[str] | None = None) -> tuple:
    """What the user may take now: new, unassigned items of their queues (or some of them).

    Matches the partial index ix_work_item_takeable, which holds these rows in work order.
    """
    return (
        visible_to(user, user.queue_codes if within is None else within),
        written(WorkItem.status, ItemStatus.NEW.value),
        WorkItem.assignee_id.is_(None),
    )


def record(
    session: Session,
    item: WorkItem,
    actor: User | None,
    kind: EventKind,
    *,
    at: datetime | None = None,
    **fields: str | None,
) -> ItemEvent:
    """Append one event to the item's timeline; a change of the item's state is also told to
    its source system (the outbound contract's `item.updated`)."""
    event = ItemEvent(item=item, actor=actor, kind=kind.value, at=at or utcnow(), **fields)
    session.add(event)
    if kind in STATE_CHANGES:
        outbox.item_updated(session, item, event.at)
    return event


def clean_text(text: str | None, *, required: bool) -> str | None:
    text = (text or "").strip()
    if not text:
        if required:
            raise TextRequired()
        return None
    if len(text) > MAX_TEXT:
        raise TextTooLong(limit=MAX_TEXT)
    if missing := unfilled(text):
        # A response template's placeholder left in: never saved, never sent as it is.
        raise UnfilledPlaceholders(names=", ".join("{" + name + "}" for name in missing))
    return text


def check_access(item: WorkItem, user: User) -> None:
    if not may_work_on(user, item):
        raise NotPermitted()


def check_version(item: WorkItem, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != item.version:
        raise StaleItem()


def check_open(item: WorkItem) -> None:
    if not item.is_open:
        raise ItemClosed()


def check_holder(item: WorkItem, user: User) -> None:
    check_open(item)
    if item.assignee_id != user.id:
        if item.assignee_id is None:
            raise NotHolder()
        raise AlreadyTaken(holder=item.assignee.display_name)


def changed(
    session: Session,
    item: WorkItem,
    user: User,
    kind: EventKind,
    *,
    now: datetime | None = None,
    **fields: str | None,
) -> WorkItem:
    """Stamp the item as changed, record the change in its timeline, and flush. A live chat's
    response target follows its state (none while it waits for the resident or is resolved)."""
    item.updated_at = now or utcnow()
    refresh_target(session, item)
    record(session, item, user, kind, at=item.updated_at, **fields)
    session.flush()
    return item


def claim(session: Session, item: WorkItem, user: User, now: datetime) -> bool:
    """One conditional UPDATE: under any number of simultaneous claims exactly one wins. An item
    waiting in its queue for its next call (desk.work.calls) may be taken early too."""
    result = session.execute(
        update(WorkItem)
        .where(
            WorkItem.id == item.id,
            WorkItem.assignee_id.is_(None),
            or_(
                WorkItem.status == ItemStatus.NEW.value,
                # waiting in the queue for its next call: taken early (the resident called)
                and_(WorkItem.status == ItemStatus.WAITING.value, WorkItem.retry_at.is_not(None)),
            ),
        )
        .values(
            assignee_id=user.id,
            status=ItemStatus.IN_PROGRESS.value,
            retry_at=None,
            version=WorkItem.version + 1,
            updated_at=now,
            first_action_at=func.coalesce(WorkItem.first_action_at, now),
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(item)
    return result.rowcount == 1


def take(session: Session, item: WorkItem, user: User) -> WorkItem:
    """Take an unassigned item from one of the user's queues."""
    check_access(item, user)
    check_open(item)
    now = utcnow()
    if not claim(session, item, user, now):
        check_open(item)
        if item.assignee_id == user.id:
            return item
        if item.assignee is None:
            raise WrongStatus(status=item.status)
        raise AlreadyTaken(holder=item.assignee.display_name)
    record(session, item, user, EventKind.TAKEN, at=now)
    session.flush()
    return item


def take_next(session: Session, user: User) -> WorkItem | None:
    """Take the first takeable item in order from the user's queues, or None if there is none.

    Rows locked by a concurrent take-next are skipped (PostgreSQL), and the claim itself is
    conditional, so two people pressing it together never get the same item.
    """
    for _ in range(10):
        # Only the id: the index gives the order, and the lock is taken on one narrow row.
        candidate_id = session.scalar(
            select(WorkItem.id)
            .where(*takeable(user))
            .order_by(*work_order())
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if candidate_id is None:
            return None
        candidate = session.get(WorkItem, candidate_id)
        now = utcnow()
        if claim(session, candidate, user, now):
            record(session, candidate, user, EventKind.TAKEN, at=now)
            session.flush()
            return candidate
    return None


def release(
    session: Session, item: WorkItem, user: User, *, expected_version: int | None = None
) -> WorkItem:
    """Give a held item back to its queue."""
    check_access(item, user)
    check_holder(item, user)
    check_version(item, expected_version)
    item.assignee = None
    item.status = ItemStatus.NEW.value
    return changed(session, item, user, EventKind.RELEASED)


def transfer(
    session: Session,
    item: WorkItem,
    user: User,
    queue: Queue | None,
    reason: str | None,
    *,
    expected_version: int | None = None,
) -> WorkItem:
    """Move an open item to another active queue, with a reason; it waits there unassigned."""
    check_access(item, user)
    check_open(item)
    if item.assignee_id not in (None, user.id):
        raise AlreadyTaken(holder=item.assignee.display_name)
    check_version(item, expected_version)
    if queue is None or not queue.active:
        raise InactiveQueue()
    if queue.code == item.queue_code:
        raise SameQueue()
    reason = clean_text(reason, required=True)
    from_code = item.queue_code
    item.queue = queue
    item.service_area_code = queue.service_area_code
    item.assignee = None
    item.status = ItemStatus.NEW.value
    item.retry_at = None
    return changed(
        session,
        item,
        user,
        EventKind.TRANSFERRED,
        from_queue_code=from_code,
        to_queue_code=queue.code,
        text=reason,
    )


def add_note(session: Session, item: WorkItem, user: User, text: str | None) -> ItemEvent:
    """Add an internal note to the item's timeline (never shown to the resident)."""
    check_access(item, user)
    text = clean_text(text, required=True)
    event = record(session, item, user, EventKind.NOTED, text=text)
    session.flush()
    return event


def wait_for_resident(
    session: Session,
    item: WorkItem,
    user: User,
    text: str | None = None,
    *,
    expected_version: int | None = None,
) -> WorkItem:
    """Mark a held item as waiting for the resident; it stays with its holder."""
    check_access(item, user)
    check_holder(item, user)
    check_version(item, expected_version)
    if item.status != ItemStatus.IN_PROGRESS.value:
        raise WrongStatus(status=item.status)
    text = clean_text(text, required=False)
    item.status = ItemStatus.WAITING.value
    return changed(session, item, user, EventKind.WAITING, text=text)


def resume(
    session: Session, item: WorkItem, user: User, *, expected_version: int | None = None
) -> WorkItem:
    """Continue working on an item that was waiting for the resident."""
    check_access(item, user)
    check_holder(item, user)
    check_version(item, expected_version)
    if item.status != ItemStatus.WAITING.value:
        raise WrongStatus(status=item.status)
    item.status = ItemStatus.IN_PROGRESS.value
    return changed(session, item, user, EventKind.RESUMED)


def settle_first_action(item: WorkItem) -> None:
    """Keep the first action at or before the resolution: resolving is itself an action (an
    item the desk gave and someone resolved untouched has its first action then), and a first
    action stamped by another server whose clock runs ahead never comes after the resolution.
    The database refuses a row that breaks this (migration 0025)."""
    if item.resolved_at is None:
        return
    if item.first_action_at is None or item.first_action_at > item.resolved_at:
        item.first_action_at = item.resolved_at


def resolve(
    session: Session,
    item: WorkItem,
    user: User,
    outcome_code: str | None,
    text: str | None = None,
    *,
    expected_version: int | None = None,
) -> WorkItem:
    """Close a held item with an outcome; the holder stays recorded as the one who resolved it."""
    check_access(item, user)
    check_holder(item, user)
    check_version(item, expected_version)
    outcome = session.get(OutcomeCode, outcome_code) if outcome_code else None
    if outcome is None or not outcome.active:
        raise UnknownOutcome()
    text = clean_text(text, required=False)
    now = utcnow()
    item.status = ItemStatus.RESOLVED.value
    item.outcome_code = outcome.code
    item.resolved_at = now
    settle_first_action(item)
    return changed(
        session, item, user, EventKind.RESOLVED, now=now, outcome_code=outcome.code, text=text
    )


def reveal_personal_id(session: Session, item: WorkItem, user: User) -> str | None:
    """Show the full personal identity code; the reveal is recorded in the timeline."""
    check_access(item, user)
    if item.personal_id is None:
        return None
    record(session, item, user, EventKind.PID_REVEALED)
    record_access(session, user, AccessPurpose.REVEAL, item=item)
    session.flush()
    return item.personal_id


def request_elsewhere(
    session: Session, item: WorkItem, user: User, municipality_code: str | None
) -> WorkItem:
    """Note that the resident asks service from another municipality than their own (or, with
    None or their own, that they no longer do); the instructions for that case then apply."""
    check_access(item, user)
    if item.status == ItemStatus.RESOLVED.value:
        raise ItemClosed()
    code = municipality_code or None
    if code is not None and session.get(Municipality, code) is None:
        raise UnknownMunicipality()
    if code == item.municipality_code:
        code = None
    if code == item.requested_municipality_code:
        return item
    item.requested_municipality_code = code
    return changed(session, item, user, EventKind.REQUESTED_ELSEWHERE, municipality_code=code)
