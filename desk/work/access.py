"""Who may see and work on what, and the one path by which resident data is loaded for display.

Every page that shows a resident's data calls `load_item_for_display` (or, for the residents'
comments on their satisfaction answers, `load_comments_for_display`), which writes the access
log row (asiakastietolaki 703/2023: the resident may ask who processed their data); no other
path may render an item.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, bindparam, false, insert, or_, select, true
from sqlalchemy.orm import Session, joinedload

from ..errors import ItemNotFound
from ..models import AccessLog, AccessPurpose, ItemEvent, ItemFeedback, User, WorkItem, utcnow


def may_work_on(user: User, item: WorkItem) -> bool:
    """Whether `user` may see and act on `item`: its queue is theirs and its resident in scope."""
    if user.is_admin:
        return True
    if item.queue_code not in user.queue_codes:
        return False
    return item.municipality_code is None or item.municipality_code in user.municipality_codes


def written(column, values) -> ColumnElement[bool]:
    """`column` is one of `values`, with the values written into the statement, not bound.

    PostgreSQL plans a statement with bound values again on every execution whenever the
    plan for any values would be worse, and a partial index (what may be taken, open items)
    never fits any values. Planning a list's or the emergency watch's statement took 0.5 to
    1 ms, three to five times its execution. Written out, the statement's text is the same
    for the same user (the values sorted), psycopg prepares it after five executions, and
    PostgreSQL plans it once per connection."""
    if isinstance(values, str | int):
        return column == bindparam(None, values, literal_execute=True)
    return column.in_(bindparam(None, sorted(values), expanding=True, literal_execute=True))


@dataclass(frozen=True)
class Who:
    """What the visibility rules read of a user (`visible_to`, `may_work_on`), as a value.

    A statement built from it may be kept (`functools.lru_cache`) and run again for every
    request of that user while their queues and municipalities stay the same: building the
    emergency watch's statement afresh, and working out its cache key, cost more than running
    it."""

    id: int
    is_admin: bool
    queue_codes: frozenset[str]
    municipality_codes: frozenset[str]

    @classmethod
    def of(cls, user: User) -> Who:
        return cls(
            user.id, user.is_admin, frozenset(user.queue_codes), frozenset(user.municipality_codes)
        )


def visible_to(
    user: User | Who, within: set[str] | None = None, rows=WorkItem
) -> ColumnElement[bool]:
    """The same rule as `may_work_on`, as a SQL condition for lists; `within` narrows it to
    some queues (one IN list, so the planner estimates the rows right). `rows`: what has the
    item's queue_code and municipality_code (the items, or a kept count's columns)."""
    if user.is_admin:
        return true() if within is None else written(rows.queue_code, within)
    queues = user.queue_codes if within is None else user.queue_codes & within
    if not queues:
        return false()
    return and_(
        written(rows.queue_code, queues),
        or_(
            rows.municipality_code.is_(None),
            written(rows.municipality_code, user.municipality_codes),
        ),
    )


def record_access(
    session: Session,
    user: User,
    purpose: AccessPurpose,
    *,
    item: WorkItem | None = None,
    resident_id: str | None = None,
) -> None:
    """Append one row to the access log: who looked at which resident's data, and why. Written
    at once, in the session's transaction (one INSERT: nothing reads the row back)."""
    session.execute(
        _ACCESS,
        {
            "at": utcnow(),
            "user_id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role,
            "purpose": purpose.value,
            "item_id": item.id if item is not None else None,
            "resident_id": item.personal_id if item is not None else resident_id,
            "queue_code": item.queue_code if item is not None else None,
            "municipality_code": item.municipality_code if item is not None else None,
        },
    )


#: the access log's INSERT, built once, in Core (the ORM's bulk insert built and checked its
#: values on every call: 8 % of the item page); inline: the new row's id is not read back
_ACCESS = insert(AccessLog.__table__).inline()


#: one item with its timeline, built once (every item page asks it): in one statement, a
#: row per event (a handful; a second statement for them cost more than their rows)
_ITEM = (
    select(WorkItem)
    .where(WorkItem.id == bindparam("item_id"))
    .options(joinedload(WorkItem.events).joinedload(ItemEvent.actor))
)


def load_item_for_display(
    session: Session,
    item_id: int,
    user: User,
    *,
    purpose: AccessPurpose = AccessPurpose.VIEW,
) -> WorkItem:
    """Load one item with its timeline for showing to `user`, or raise; the look is logged.

    An item the user may not see is reported as not found, so that its existence does not leak.
    """
    item = session.execute(_ITEM, {"item_id": item_id}).unique().scalar_one_or_none()
    if item is None or not may_work_on(user, item):
        raise ItemNotFound(item_id=item_id)
    record_access(session, user, purpose, item=item)
    return item


def load_comments_for_display(
    session: Session,
    user: User,
    begin,
    finish,
    *,
    most: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[ItemFeedback, WorkItem]], bool]:
    """The residents' comments on their satisfaction answers given in [begin, finish), newest
    first, on items `user` may see (scores of `most` or less only, when given); a page of
    `limit`, and whether there are more. A comment is resident text: each item whose comment
    is shown is logged, as its page would be."""
    query = (
        select(ItemFeedback, WorkItem)
        .join(WorkItem, WorkItem.id == ItemFeedback.item_id)
        .where(
            ItemFeedback.comment.is_not(None),
            ItemFeedback.at >= begin,
            ItemFeedback.at < finish,
            visible_to(user),
        )
        .order_by(ItemFeedback.at.desc(), ItemFeedback.id.desc())
        .offset(offset)
        .limit(limit + 1)
    )
    if most is not None:
        query = query.where(ItemFeedback.score <= most)
    rows = [tuple(row) for row in session.execute(query)]
    shown = rows[:limit]
    for item in {item.id: item for _feedback, item in shown}.values():
        record_access(session, user, AccessPurpose.FEEDBACK, item=item)
    return shown, len(rows) > limit
