"""Phone calls on PostgreSQL and SQLite: attempts, the queue's rule for trying again with the
working-day calendar, the sweep that brings retries back (the clock moved), the decision after
the last attempt, and a caller identified on the phone."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from desk.errors import (
    AttemptLimit,
    InvalidPersonalId,
    NameRequired,
    NoPhoneNumber,
    NotHolder,
    RetryOutsideHours,
    UnknownCallResult,
    UnknownMunicipality,
)
from desk.inbound.deadlines import HELSINKI
from desk.models import AccessLog, ItemEvent, Queue, WorkItem
from desk.work import calls, lifecycle
from tests.factories import make_item, make_user

#: a Wednesday, a working day
WEDNESDAY = datetime(2026, 12, 9, tzinfo=HELSINKI)
PID = "131052-308T"


def at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute)


def rule(minutes=60, attempts=3, opens="08:00", closes="16:00") -> calls.RetryRule:
    queue = Queue(
        call_retry_minutes=minutes,
        call_max_attempts=attempts,
        call_hours_from=opens,
        call_hours_to=closes,
    )
    return calls.RetryRule.of(queue)


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        # within the hours: the interval later
        (at(WEDNESDAY, 10), at(WEDNESDAY, 11)),
        # past closing: the next working day's opening
        (at(WEDNESDAY, 15, 30), at(WEDNESDAY + timedelta(days=1), 8)),
        # Friday afternoon: Monday morning
        (at(WEDNESDAY + timedelta(days=2), 15, 30), at(WEDNESDAY + timedelta(days=5), 8)),
        # before opening: the opening
        (at(WEDNESDAY, 6), at(WEDNESDAY, 8)),
        # 23 December afternoon: Christmas Eve, Christmas and the weekend are not working days
        (
            datetime(2026, 12, 23, 15, 30, tzinfo=HELSINKI),
            datetime(2026, 12, 28, 8, tzinfo=HELSINKI),
        ),
        # a Saturday: Monday
        (at(WEDNESDAY + timedelta(days=3), 11), at(WEDNESDAY + timedelta(days=5), 8)),
    ],
)
def test_the_next_try_follows_the_rule_and_the_working_day_calendar(last, expected):
    assert rule().next_try(last) == expected


def test_a_rule_of_other_hours_and_interval():
    evening = rule(minutes=30, opens="12:00", closes="20:00")
    assert evening.next_try(at(WEDNESDAY, 9)) == at(WEDNESDAY, 12)
    assert evening.next_try(at(WEDNESDAY, 19, 20)) == at(WEDNESDAY, 19, 50)
    assert evening.next_try(at(WEDNESDAY, 19, 40)) == at(WEDNESDAY + timedelta(days=1), 12)
    assert evening.within_hours(at(WEDNESDAY, 19, 59))
    assert not evening.within_hours(at(WEDNESDAY, 20))


def callback_item(session, queue="callback-regional", municipality=None) -> WorkItem:
    item = make_item(
        session,
        queue=queue,
        channel="callback",
        municipality=municipality,
        content={"callback": {"phone": "+358401234567", "topic": "health"}},
    )
    item.resident_phone = "+358401234567"
    session.flush()
    return item


def events(session, item):
    return [
        (e.kind, e.outcome_code)
        for e in session.scalars(
            select(ItemEvent).where(ItemEvent.item_id == item.id).order_by(ItemEvent.id)
        )
    ]


def test_an_unanswered_call_waits_in_the_queue_until_its_next_try_then_comes_back(session):
    nurse = make_user(session, queues=["callback-regional"])
    item = callback_item(session)
    lifecycle.take(session, item, nurse)
    first = at(WEDNESDAY, 9, 10)
    calls.record_attempt(session, item, nurse, "no-answer", "Ei vastannut", now=first)
    assert (item.status, item.assignee_id, item.call_attempts) == ("waiting", None, 1)
    assert item.retry_at == at(WEDNESDAY, 10, 10)
    # Out of My work and out of take next: nothing to take.
    assert lifecycle.take_next(session, nurse) is None
    # The sweep before its time leaves it; at its time, it is new in its queue again.
    assert calls.bring_back(session, now=at(WEDNESDAY, 10, 9)) == []
    assert calls.bring_back(session, now=at(WEDNESDAY, 10, 10)) == [item.id]
    session.refresh(item)
    assert (item.status, item.retry_at, item.assignee_id) == ("new", None, None)
    assert lifecycle.take_next(session, nurse).id == item.id
    assert events(session, item)[-3:] == [
        ("call_attempt", "no-answer"),
        ("retry_due", "2"),
        ("taken", None),
    ]


def test_reached_keeps_the_item_with_its_holder(session):
    nurse = make_user(session, queues=["callback-regional"])
    item = callback_item(session)
    lifecycle.take(session, item, nurse)
    calls.record_attempt(session, item, nurse, "reached", now=at(WEDNESDAY, 9))
    assert (item.status, item.assignee_id, item.retry_at) == ("in_progress", nurse.id, None)
    assert not calls.needs_decision(item)


def test_after_the_last_attempt_the_holder_decides(session):
    nurse = make_user(session, queues=["callback-regional"])
    item = callback_item(session)
    moment = at(WEDNESDAY, 8, 30)
    for _ in range(2):
        lifecycle.take(session, item, nurse)
        calls.record_attempt(session, item, nurse, "busy", now=moment)
        moment = item.retry_at
        calls.bring_back(session, now=moment)
        session.refresh(item)
    lifecycle.take(session, item, nurse)
    calls.record_attempt(session, item, nurse, "voicemail", now=moment)
    # The third of three: it stays with the holder, who decides.
    assert (item.status, item.assignee_id, item.call_attempts) == ("in_progress", nurse.id, 3)
    assert calls.needs_decision(item)
    with pytest.raises(AttemptLimit):
        calls.record_attempt(session, item, nurse, "no-answer", now=moment)
    assert item.call_attempts == 3
    # A time outside the calling hours, in the past or far ahead is refused.
    for wrong in (at(WEDNESDAY, 17), at(WEDNESDAY, 7), moment - timedelta(minutes=1)):
        with pytest.raises(RetryOutsideHours):
            calls.call_later(session, item, nurse, wrong, now=moment)
    with pytest.raises(RetryOutsideHours):
        calls.call_later(session, item, nurse, moment + timedelta(days=45), now=moment)
    assert item.assignee_id == nurse.id and item.extra_attempts == 0
    # Calling later grants one more attempt.
    later = at(WEDNESDAY + timedelta(days=1), 14)
    calls.call_later(session, item, nurse, later, now=moment)
    assert (item.status, item.retry_at, item.extra_attempts) == ("waiting", later, 1)
    calls.bring_back(session, now=later)
    session.refresh(item)
    lifecycle.take(session, item, nurse)
    calls.record_attempt(session, item, nurse, "reached", now=later)
    assert item.call_attempts == 4 and not calls.needs_decision(item)


def test_a_wrong_number_asks_for_a_decision_at_once(session):
    nurse = make_user(session, queues=["callback-regional"])
    item = callback_item(session)
    lifecycle.take(session, item, nurse)
    calls.record_attempt(session, item, nurse, "wrong-number", now=at(WEDNESDAY, 9))
    assert item.assignee_id == nurse.id and calls.needs_decision(item)
    lifecycle.resolve(session, item, nurse, calls.NOT_REACHED)
    assert item.outcome_code == "resident-unreachable"


def test_attempts_are_refused_to_whoever_does_not_hold_the_item_and_without_a_number(session):
    nurse = make_user(session, queues=["callback-regional", "chat-regional"])
    item = callback_item(session)
    with pytest.raises(NotHolder):
        calls.record_attempt(session, item, nurse, "reached")
    lifecycle.take(session, item, nurse)
    with pytest.raises(UnknownCallResult):
        calls.record_attempt(session, item, nurse, "hung-up")
    chat = make_item(session)
    lifecycle.take(session, chat, nurse)
    with pytest.raises(NoPhoneNumber):
        calls.record_attempt(session, chat, nurse, "reached")
    assert item.call_attempts == 0 and chat.call_attempts == 0
    assert events(session, item) == [("taken", None)]


def test_an_item_waiting_for_its_next_call_can_be_taken_early(session):
    nurse = make_user(session, queues=["callback-regional"])
    item = callback_item(session)
    lifecycle.take(session, item, nurse)
    calls.record_attempt(session, item, nurse, "no-answer", now=at(WEDNESDAY, 9))
    lifecycle.take(session, item, nurse)  # the resident called again
    assert (item.status, item.retry_at, item.assignee_id) == ("in_progress", None, nurse.id)
    assert calls.bring_back(session, now=at(WEDNESDAY, 12)) == []


def test_a_caller_identified_on_the_phone_moves_to_their_system_areas_queue(session):
    nurse = make_user(session, queues=["callback-regional", "health-sipoo"])
    item = callback_item(session)
    lifecycle.take(session, item, nurse)
    with pytest.raises(InvalidPersonalId):
        calls.identify_caller(
            session, item, nurse, personal_id="131052-308X", name="Maija", municipality_code="sipoo"
        )
    with pytest.raises(NameRequired):
        calls.identify_caller(
            session, item, nurse, personal_id=PID, name="  ", municipality_code="sipoo"
        )
    with pytest.raises(UnknownMunicipality):
        calls.identify_caller(
            session, item, nurse, personal_id=PID, name="Maija", municipality_code="helsinki"
        )
    assert item.identification == "none" and item.personal_id is None
    calls.identify_caller(
        session,
        item,
        nurse,
        personal_id=PID.lower(),
        name="Maija Meikäläinen",
        municipality_code="sipoo",
        form_type="health",
    )
    assert (item.identification, item.personal_id, item.resident_name) == (
        "phone",
        PID,
        "Maija Meikäläinen",
    )
    assert (item.queue_code, item.municipality_code, item.assignee_id) == (
        "health-sipoo",
        "sipoo",
        nurse.id,
    )
    assert events(session, item)[-2:] == [("identified_on_phone", None), ("transferred", None)]
    logged = session.scalars(select(AccessLog).where(AccessLog.item_id == item.id)).all()
    assert [(row.purpose, row.resident_id) for row in logged] == [("identify", PID)]


def test_identified_in_a_queue_the_holder_does_not_work_in_it_waits_there(session):
    nurse = make_user(session, queues=["callback-regional"])
    item = callback_item(session)
    lifecycle.take(session, item, nurse)
    calls.identify_caller(
        session,
        item,
        nurse,
        personal_id=PID,
        name="Maija",
        municipality_code="sipoo",
        form_type="social",
    )
    assert (item.queue_code, item.status, item.assignee_id) == ("social-sipoo", "new", None)
