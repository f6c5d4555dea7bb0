"""The situation view's numbers and lists, on PostgreSQL and SQLite."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from desk import lifecycle, situation
from desk.lifecycle import work_order
from desk.models import OPEN_STATUSES, WorkItem, utcnow
from desk.situation import Cursor, Filters
from tests.factories import make_item, make_user


def test_counts_per_queue_match_a_direct_count(session):
    now = utcnow()
    nurse = make_user(session, queues=["omaolo-porvoo", "chat-regional"])
    other = make_user(session, queues=["omaolo-porvoo"])
    make_item(session, queue="omaolo-porvoo", emergency=True, due_in=timedelta(minutes=10))
    make_item(session, queue="omaolo-porvoo", due_in=timedelta(minutes=-5))
    make_item(session, queue="omaolo-porvoo", due_in=timedelta(hours=3))
    taken = make_item(session, queue="omaolo-porvoo", due_in=timedelta(minutes=30))
    parked = make_item(session, queue="omaolo-porvoo")
    done = make_item(session, queue="omaolo-porvoo", due_in=timedelta(minutes=-50))
    make_item(session, queue="chat-regional", municipality="sipoo")
    make_item(session, queue="social-sipoo")  # not the nurse's queue
    lifecycle.take(session, taken, other)
    lifecycle.take(session, parked, other)
    lifecycle.wait_for_resident(session, parked, other)
    lifecycle.take(session, done, other)
    lifecycle.resolve(session, done, other, "no-action-needed")

    numbers = situation.counts(session, nurse, Filters(), now)
    assert set(numbers) == {"omaolo-porvoo", "chat-regional"}
    omaolo = numbers["omaolo-porvoo"]
    assert (omaolo.waiting, omaolo.in_progress, omaolo.waiting_resident) == (3, 1, 1)
    assert (omaolo.due_soon, omaolo.overdue, omaolo.emergency) == (2, 1, 1)
    for state in situation.STATES:
        direct = session.scalars(
            select(WorkItem.id).where(
                WorkItem.queue_code == "omaolo-porvoo",
                WorkItem.status.in_(OPEN_STATUSES),
                situation.state_condition(state, now),
            )
        ).all()
        assert getattr(omaolo, state) == len(direct), state
    assert numbers["chat-regional"].waiting == 1
    only_sipoo = situation.counts(session, nurse, Filters(municipality="sipoo"), now)
    assert set(only_sipoo) == {"chat-regional"}


def test_keyset_pages_follow_the_contract_order_without_gaps_or_repeats(session):
    nurse = make_user(session, queues=["omaolo-porvoo"])
    rng = random.Random(5)
    base = utcnow() - timedelta(hours=5)
    for _ in range(57):
        item = make_item(
            session,
            queue="omaolo-porvoo",
            title=rng.choice("ABC"),
            emergency=rng.random() < 0.2,
            due_in=rng.choice([None, timedelta(hours=1), timedelta(hours=2)]),
            submitted_at=base + timedelta(minutes=rng.choice([0, 1, 2])),
        )
        if item.due_at is not None:
            item.due_at = item.due_at.replace(second=0, microsecond=0)
    session.flush()
    expected = session.scalars(
        select(WorkItem.id).where(WorkItem.queue_code == "omaolo-porvoo").order_by(*work_order())
    ).all()
    pages, after = [], None
    while True:
        page = situation.items(
            session,
            nurse,
            Filters(),
            utcnow(),
            queue="omaolo-porvoo",
            state=None,
            after=after,
            limit=10,
        )
        if not page:
            break
        pages.extend(item.id for item in page)
        after = Cursor.after(page[-1])
    assert pages == expected


def test_the_days_trend_counts_arrivals_and_resolutions_per_hour(session):
    now = utcnow() + timedelta(seconds=5)  # the view's moment: after the resolution below
    nurse = make_user(session, queues=["omaolo-porvoo"])
    recent = make_item(session, queue="omaolo-porvoo")
    recent.created_at = now - timedelta(minutes=10)
    older = make_item(session, queue="omaolo-porvoo")
    older.created_at = now - timedelta(hours=5, minutes=30)
    ancient = make_item(session, queue="omaolo-porvoo")
    ancient.created_at = now - timedelta(days=3)
    lifecycle.take(session, ancient, nurse)
    lifecycle.resolve(session, ancient, nurse, "no-action-needed")
    session.flush()
    trend = situation.trends(session, nurse, Filters(), now)["omaolo-porvoo"]
    assert trend.arrived[23] == 1 and trend.arrived[18] == 1 and sum(trend.arrived) == 2
    assert trend.resolved[23] == 1 and sum(trend.resolved) == 1
