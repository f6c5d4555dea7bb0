"""The situation view's numbers and lists, on PostgreSQL and SQLite."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from desk.models import OPEN_STATUSES, Queue, WorkItem, utcnow
from desk.work import lifecycle, situation
from desk.work.lifecycle import work_order
from desk.work.situation import Cursor, Filters
from tests.factories import make_item, make_user


def test_counts_per_queue_match_a_direct_count(session):
    now = utcnow()
    nurse = make_user(session, queues=["omaolo-porvoo", "chat-regional"])
    other = make_user(session, queues=["omaolo-porvoo"])
    make_item(session, queue="omaolo-porvoo", emergency=True, due_in=timedelta(minutes=10))
    make_item(session, queue="omaolo-porvoo", due_in=timedelta(minutes=-5))
    make_item(session, queue="omaolo-porvoo", due_in=timedelta(hours=3))
    make_item(session, queue="omaolo-porvoo", due_in=timedelta(minutes=90))  # not due soon
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
    assert (omaolo.waiting, omaolo.in_progress, omaolo.waiting_resident) == (4, 1, 1)
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
        # The number's list holds the same items (its statement is kept, `now` bound).
        listed = situation.items(session, nurse, Filters(), now, queue="omaolo-porvoo", state=state)
        assert sorted(row.id for row in listed) == sorted(direct), state
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


def test_the_days_trend_counts_arrivals_and_resolutions_per_clock_hour(session):
    # The view's moment: half past the current hour (the 24th bar is the hour so far).
    now = utcnow().replace(minute=30, second=0, microsecond=0)
    nurse = make_user(session, queues=["omaolo-porvoo"])
    recent = make_item(session, queue="omaolo-porvoo")
    recent.created_at = now - timedelta(minutes=10)
    older = make_item(session, queue="omaolo-porvoo")
    older.created_at = now - timedelta(hours=5, minutes=30)
    first = now.replace(minute=0) - timedelta(hours=23)
    earliest = make_item(session, queue="omaolo-porvoo")
    earliest.created_at = first
    too_early = make_item(session, queue="omaolo-porvoo")
    too_early.created_at = first - timedelta(seconds=1)
    ancient = make_item(session, queue="omaolo-porvoo")
    ancient.created_at = now - timedelta(days=3)
    lifecycle.take(session, ancient, nurse)
    lifecycle.resolve(session, ancient, nurse, "no-action-needed")
    ancient.first_action_at = now - timedelta(minutes=2)
    ancient.resolved_at = now - timedelta(minutes=1)
    session.flush()
    trend = situation.trends(session, nurse, Filters(), now)["omaolo-porvoo"]
    assert (trend.arrived[0], trend.arrived[18], trend.arrived[23]) == (1, 1, 1)
    assert sum(trend.arrived) == 3
    assert trend.resolved[23] == 1 and sum(trend.resolved) == 1
    # A transfer moves an item's arrival to its new queue's line.
    lifecycle.take(session, recent, nurse)
    lifecycle.transfer(session, recent, nurse, session.get(Queue, "chat-regional"), "Chat")
    session.flush()
    assert sum(situation.trends(session, nurse, Filters(), now)["omaolo-porvoo"].arrived) == 2


def test_the_view_matches_a_direct_count_after_concurrent_arrivals_takes_and_resolutions(
    app, committed
):
    """Arrivals through the API, takes and resolutions by several people at once."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import create_engine, func
    from sqlalchemy.orm import Session as PlainSession

    from desk.extensions import db
    from desk.inbound import tokens
    from desk.models import ItemStatus, User
    from tests import contract

    with app.app_context():
        _, secret = tokens.create(db.session, "t", ["help-request"])
        people = [make_user(db.session, queues=["help-regional"]).id for _ in range(4)]
        lead = make_user(db.session, role="team_lead", queues=["help-regional"]).id
        db.session.commit()
        db.session.remove()

    def arrive(n):
        payload = contract.example("help-request.json")
        payload["external_id"] = f"count-{n}"
        return (
            app.test_client()
            .post(
                "/api/v1/inbound/help-request",
                json=payload,
                headers={"Authorization": f"Bearer {secret}"},
            )
            .status_code
        )

    engine = create_engine(committed.url, pool_size=8)

    def work(user_id):
        done = 0
        for _ in range(200):
            if done == 3:
                break
            with PlainSession(engine) as s:
                user = s.get(User, user_id)
                item = lifecycle.take_next(s, user)
                if item is None:
                    s.commit()
                    time.sleep(0.01)
                    continue
                if done % 2 == 0:
                    lifecycle.resolve(s, item, user, "no-action-needed")
                s.commit()
                done += 1
        return done

    with ThreadPoolExecutor(8) as pool:
        arrivals = pool.map(arrive, range(40))
        takes = [pool.submit(work, person) for person in people]
        assert set(arrivals) == {202}
        assert sum(t.result() for t in takes) == 12
    engine.dispose()

    now = utcnow()
    with PlainSession(committed) as s:
        viewer = s.get(User, lead)
        numbers = situation.counts(s, viewer, Filters(), now)["help-regional"]
        direct = dict(
            s.execute(
                select(WorkItem.status, func.count())
                .where(WorkItem.queue_code == "help-regional")
                .group_by(WorkItem.status)
            ).all()
        )
    assert numbers.waiting == direct.get(ItemStatus.NEW.value, 0)
    assert numbers.in_progress == direct.get(ItemStatus.IN_PROGRESS.value, 0)
    assert numbers.waiting + numbers.in_progress + direct.get("resolved", 0) == 40


def test_phone_work_counts_callbacks_and_items_waiting_for_the_next_call(session):
    from desk.work import calls

    now = utcnow()
    nurse = make_user(session, queues=["callback-regional", "omaolo-porvoo"])
    lead = make_user(session, queues=["callback-regional"])
    make_item(session, queue="callback-regional", channel="callback", due_in=timedelta(minutes=20))
    make_item(session, queue="callback-regional", channel="callback", due_in=timedelta(hours=3))
    late = make_item(
        session, queue="callback-regional", channel="callback", due_in=timedelta(minutes=-1)
    )
    lifecycle.take(session, late, lead)  # in hand: overdue, but no longer waiting
    # An Omaolo contact request called without an answer: it waits in its queue for the next try.
    unanswered = make_item(session, queue="omaolo-porvoo", due_in=timedelta(hours=5))
    unanswered.resident_phone = "+358401234567"
    lifecycle.take(session, unanswered, nurse)
    calls.record_attempt(session, unanswered, nurse, "no-answer", now=now)
    make_item(session, queue="omaolo-porvoo", due_in=timedelta(minutes=-30))  # no phone work
    resolved = make_item(session, queue="callback-regional", channel="callback")
    lifecycle.take(session, resolved, lead)
    lifecycle.resolve(session, resolved, lead, "no-action-needed")
    session.flush()

    phone = situation.phone_counts(session, nurse, Filters(), now)
    assert set(phone) == {"callback-regional", "omaolo-porvoo"}
    regional = phone["callback-regional"]
    assert (regional.callbacks_waiting, regional.callbacks_due_soon) == (2, 1)
    assert (regional.callbacks_overdue, regional.retrying) == (1, 0)
    omaolo = phone["omaolo-porvoo"]
    assert (omaolo.callbacks_waiting, omaolo.callbacks_overdue, omaolo.retrying) == (0, 0, 1)
    assert omaolo.next_retry == unanswered.retry_at
    # The lists behind the numbers hold the same items.
    for state in situation.PHONE_STATES:
        listed = situation.items(session, nurse, Filters(), now, queue=None, state=state)
        total = sum(getattr(counts, state) for counts in phone.values())
        assert len(listed) == total, state
    assert [
        i.id for i in situation.items(session, nurse, Filters(), now, queue=None, state="retrying")
    ] == [unanswered.id]
    # What a professional may not see is not counted.
    assert set(situation.phone_counts(session, lead, Filters(), now)) == {"callback-regional"}
    assert situation.phone_counts(session, nurse, Filters(channel="chat"), now) == {
        "omaolo-porvoo": situation.PhoneCounts(retrying=1, next_retry=unanswered.retry_at)
    }


def test_what_lies_beyond_each_page_is_exact_on_every_page(session):
    """The figures under a page ("N more items, M of them overdue"): on the first page the
    kept numbers less the page, further on the kept numbers of the later days in the lists'
    order plus the rest of the page's own day. Deadlines, response targets and submissions
    fall on several days, so pages end early, midway and late in a day and on its last row;
    on every page of every list the figures are those of the list itself."""
    now = utcnow()
    nurse = make_user(session, queues=["omaolo-porvoo", "chat-regional"])
    rng = random.Random(8)
    for _ in range(90):
        item = make_item(
            session,
            queue=rng.choice(["omaolo-porvoo", "chat-regional"]),
            title=rng.choice("AB"),
            emergency=rng.random() < 0.15,
            due_in=rng.choice(
                [
                    None,
                    None,
                    timedelta(days=-2, hours=rng.randint(0, 23)),
                    timedelta(minutes=-20),
                    timedelta(minutes=30),
                    timedelta(days=1, hours=rng.randint(0, 23)),
                    timedelta(days=3),
                ]
            ),
            submitted_at=now - timedelta(hours=rng.randint(0, 80)),
            municipality=rng.choice([None, "porvoo"]),
        )
        if item.due_at is None and rng.random() < 0.3:
            # a chat waiting for an answer: ordered by its response target
            item.answer_by = now + timedelta(hours=rng.randint(-30, 30))
        if rng.random() < 0.2:
            lifecycle.take(session, item, nurse)
    # deadlines at midnight itself, which begins the next day
    midnight = datetime.combine(now.date() + timedelta(days=2), time(), UTC)
    for title in "AB":
        make_item(session, queue="chat-regional", title=title).due_at = midnight
    session.flush()
    for state, filters in (
        (None, Filters()),
        ("waiting", Filters(municipality="porvoo")),
        ("overdue", Filters()),
        ("emergency", Filters()),
        ("due_soon", Filters()),
    ):
        ordered = situation.items(session, nurse, filters, now, queue=None, state=state, limit=1000)
        assert len({day(i) for i in ordered}) > 2 or state in ("due_soon", "emergency"), state
        for size in (7, 10):
            after, position = None, 0
            while position + size < len(ordered):
                shown = situation.items(
                    session, nurse, filters, now, queue=None, state=state, after=after, limit=size
                )
                assert [i.id for i in shown] == [i.id for i in ordered[position : position + size]]
                rest = ordered[position + size :]
                expected = (len(rest), sum(1 for i in rest if i.due_at and i.due_at < now))
                beyond = situation.count_beyond(
                    session, nurse, filters, now, queue=None, state=state, after=after, shown=shown
                )
                assert beyond == expected, (state, size, position)
                after, position = Cursor.after(shown[-1]), position + size


def day(item) -> tuple:
    """An item's day in the lists' order."""
    return (item.order_due or item.submitted_at).date(), item.order_due is None
