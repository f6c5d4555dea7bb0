"""Phone calls on an item: attempts, the queue's rule for trying again, "not reached", and a
caller who identifies themselves on the phone. Plain Python, like the other lifecycle verbs:
each checks, changes, records an event and flushes; the caller commits once.

An item can be called when it has a phone number (a callback's number, or the resident's). An
unanswered attempt sends the item back to its queue, unassigned, to wait for its next try
(status "waiting" with `retry_at`; the takeable index holds only new items, so it never scans
them); the sweep (`bring_back`) makes it new again when the time comes, and it is taken in work
order like anything else. The rule is data per queue: at least so many minutes after the last
attempt, within the queue's calling hours on a working day (the deadlines' calendar), at most
so many attempts. After the last one (or a wrong number) the holder decides: resolve it as not
reached, or call later, which grants one more attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..errors import (
    AttemptLimit,
    InvalidPersonalId,
    NameRequired,
    NoPhoneNumber,
    RetryOutsideHours,
    TextTooLong,
    UnknownCallResult,
    UnknownMunicipality,
)
from ..inbound.deadlines import HELSINKI, is_working_day, next_working_day
from ..inbound.routing import RoutingError, route
from ..models import (
    AccessPurpose,
    EventKind,
    ItemStatus,
    Municipality,
    Queue,
    User,
    WorkItem,
    utcnow,
)
from ..outbound import outbox
from ..pid import problem
from .access import may_work_on, record_access
from .lifecycle import (
    check_access,
    check_holder,
    check_version,
    clean_text,
    record,
)

REACHED = "reached"
#: the results of an attempt, in the order the page offers them (its keys 1–5)
RESULTS = (REACHED, "no-answer", "busy", "voicemail", "wrong-number")
#: the resident may answer the next time
UNANSWERED = frozenset({"no-answer", "busy", "voicemail"})
WRONG_NUMBER = "wrong-number"
#: the outcome an item is resolved with when the resident could not be reached
NOT_REACHED = "resident-unreachable"
#: a name as the contract takes it
NAME_LIMIT = 200
#: how far ahead the holder may set the next call
LATEST_CALL = timedelta(days=30)


@dataclass(frozen=True)
class RetryRule:
    """A queue's rule for calling again."""

    minutes: int
    attempts: int
    opens: time
    closes: time

    @classmethod
    def of(cls, queue: Queue) -> RetryRule:
        return cls(
            queue.call_retry_minutes,
            queue.call_max_attempts,
            time.fromisoformat(queue.call_hours_from),
            time.fromisoformat(queue.call_hours_to),
        )

    def within_hours(self, moment: datetime) -> bool:
        """Whether `moment` is in the calling hours of a working day (Europe/Helsinki)."""
        local = moment.astimezone(HELSINKI)
        return is_working_day(local.date()) and self.opens <= local.time() < self.closes

    def next_try(self, last: datetime) -> datetime:
        """The earliest moment for the next attempt after one at `last`: the rule's interval
        later, moved to the next opening when that falls outside the calling hours."""
        earliest = (last + timedelta(minutes=self.minutes)).astimezone(HELSINKI)
        day = earliest.date()
        if is_working_day(day) and earliest.time() < self.opens:
            return datetime.combine(day, self.opens, tzinfo=HELSINKI)
        if self.within_hours(earliest):
            return earliest
        return datetime.combine(next_working_day(day), self.opens, tzinfo=HELSINKI)


def allowed(item: WorkItem) -> int:
    """How many attempts may be made on the item: its queue's rule and any granted since."""
    return item.queue.call_max_attempts + item.extra_attempts


def needs_decision(item: WorkItem) -> bool:
    """The last attempt failed and no other is allowed (or the number was wrong): resolve as
    not reached, or call later."""
    if item.call_attempts == 0 or item.call_result == REACHED or item.retry_at is not None:
        return False
    return item.call_result == WRONG_NUMBER or item.call_attempts >= allowed(item)


def waiting_for_retry(item: WorkItem) -> bool:
    return item.retry_at is not None and item.status == ItemStatus.WAITING.value


def _callable(item: WorkItem) -> None:
    if not item.resident_phone:
        raise NoPhoneNumber()


def _to_queue(session: Session, item: WorkItem, at: datetime, now: datetime) -> None:
    """The item waits in its queue, unassigned, until `at`."""
    item.retry_at = at
    item.assignee = None
    item.status = ItemStatus.WAITING.value
    item.updated_at = now


def record_attempt(
    session: Session,
    item: WorkItem,
    user: User,
    result: str | None,
    note: str | None = None,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> WorkItem:
    """Record one call to the resident and what came of it. Reached: the holder goes on with
    the item. Unanswered with attempts left: the item waits in its queue for the next try by
    the queue's rule. Otherwise it stays with the holder for a decision."""
    check_access(item, user)
    check_holder(item, user)
    check_version(item, expected_version)
    _callable(item)
    if result not in RESULTS:
        raise UnknownCallResult()
    note = clean_text(note, required=False)
    if item.call_attempts >= allowed(item):
        raise AttemptLimit(limit=allowed(item))
    now = now or utcnow()
    item.call_attempts += 1
    item.call_result = result
    item.updated_at = now
    item.first_action_at = item.first_action_at or now
    record(session, item, user, EventKind.CALL_ATTEMPT, at=now, outcome_code=result, text=note)
    if result in UNANSWERED and item.call_attempts < allowed(item):
        _to_queue(session, item, RetryRule.of(item.queue).next_try(now), now)
        outbox.item_updated(session, item, now)  # a state change the attempt's kind is not
    session.flush()
    return item


def call_later(
    session: Session,
    item: WorkItem,
    user: User,
    at: datetime | None = None,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> WorkItem:
    """The holder sets when to call next (by default the rule's next try): the item waits in its
    queue until then. After the rule's last attempt this grants one more. The moment must be
    within the queue's calling hours on a working day."""
    check_access(item, user)
    check_holder(item, user)
    check_version(item, expected_version)
    _callable(item)
    now = now or utcnow()
    rule = RetryRule.of(item.queue)
    at = at or rule.next_try(now)
    if at <= now or at > now + LATEST_CALL or not rule.within_hours(at):
        raise RetryOutsideHours(
            opens=rule.opens.strftime("%H.%M"), closes=rule.closes.strftime("%H.%M")
        )
    granted = item.call_attempts >= allowed(item)
    if granted:
        item.extra_attempts += 1
    _to_queue(session, item, at, now)
    record(session, item, user, EventKind.CALL_LATER, at=now, text=at.isoformat())
    session.flush()
    return item


def bring_back(session: Session, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Items whose next try has come go back to their queue as new, in work order; returns
    their ids. One conditional UPDATE: an item its holder took meanwhile stays theirs."""
    now = now or utcnow()
    due = (
        select(WorkItem.id)
        .where(WorkItem.retry_at.is_not(None), WorkItem.retry_at <= now)
        .order_by(WorkItem.retry_at)
        .limit(limit)
        .scalar_subquery()
    )
    back = session.scalars(
        update(WorkItem)
        .where(
            WorkItem.id.in_(due),
            WorkItem.status == ItemStatus.WAITING.value,
            WorkItem.assignee_id.is_(None),
        )
        .values(
            status=ItemStatus.NEW.value,
            retry_at=None,
            version=WorkItem.version + 1,
            updated_at=now,
        )
        .returning(WorkItem.id)
        .execution_options(synchronize_session=False)
    ).all()
    items = session.scalars(
        select(WorkItem).where(WorkItem.id.in_(back)).execution_options(populate_existing=True)
    )
    for item in items:
        record(
            session,
            item,
            None,
            EventKind.RETRY_DUE,
            at=now,
            outcome_code=str(item.call_attempts + 1),
        )
    session.flush()
    return sorted(back)


def identify_caller(
    session: Session,
    item: WorkItem,
    user: User,
    *,
    personal_id: str | None,
    name: str | None,
    municipality_code: str | None,
    form_type: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> WorkItem:
    """The caller told who they are and the professional checked it: the personal identity
    code (checked like the contract's), the name and the home municipality. The item becomes
    identified (on the phone), is written to the access log and the timeline, and, if its queue
    is regional, moves to its system area's queue by the routing rules for an identified
    resident. The holder keeps it if they work in that queue; otherwise it waits there."""
    check_access(item, user)
    check_holder(item, user)
    check_version(item, expected_version)
    code = (personal_id or "").strip().upper()
    if reason := problem(code):
        raise InvalidPersonalId(reason=reason)
    name = (name or "").strip()
    if not name:
        raise NameRequired()
    if len(name) > NAME_LIMIT:
        raise TextTooLong(limit=NAME_LIMIT)
    municipality = session.get(Municipality, municipality_code or "")
    if municipality is None:
        raise UnknownMunicipality()
    now = now or utcnow()
    item.personal_id = code
    item.resident_name = name
    if item.municipality_code != municipality.code:
        from ..reports.targets import forget_arrivals  # (the reports import this module)

        forget_arrivals(session, item.created_at)  # the targets count its month again
    item.municipality_code = municipality.code
    if item.identification != "strong":
        item.identification = "phone"
    item.updated_at = now
    record(
        session,
        item,
        user,
        EventKind.IDENTIFIED_ON_PHONE,
        at=now,
        municipality_code=municipality.code,
    )
    record_access(session, user, AccessPurpose.IDENTIFY, item=item)
    if item.queue.system_area_code is None:
        _route_identified(session, item, user, form_type, now)
    session.flush()
    return item


def _route_identified(
    session: Session, item: WorkItem, user: User, form_type: str | None, now: datetime
) -> None:
    try:
        queue = route(
            session,
            channel=item.channel,
            identified=True,
            municipality=item.municipality_code,
            form_type=form_type,
            day=now.astimezone(HELSINKI).date(),
        )
    except RoutingError:
        return  # no rule for it: it stays where it is
    if queue.code == item.queue_code or queue.system_area_code is None:
        return
    from_code = item.queue_code
    item.queue, item.queue_code = queue, queue.code
    item.service_area_code = queue.service_area_code
    if not may_work_on(user, item):
        item.assignee = None
        item.status = ItemStatus.NEW.value
    record(
        session,
        item,
        user,
        EventKind.TRANSFERRED,
        at=now,
        from_queue_code=from_code,
        to_queue_code=queue.code,
    )
