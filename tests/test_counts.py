"""The kept counts (desk.work.counts) stay exactly the items' numbers, on PostgreSQL and SQLite,
through every kind of change, folding, and concurrent work."""

from __future__ import annotations

import logging
import random
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from desk.models import (
    OPEN_STATUSES,
    ItemStatus,
    Queue,
    User,
    WorkItem,
    item_hour_count,
    open_item_count,
    utcnow,
)
from desk.work import counts, lifecycle, situation
from desk.work.situation import Filters
from tests.factories import make_item, make_user

QUEUES = ["omaolo-porvoo", "chat-regional", "help-regional", "social-sipoo"]
MUNICIPALITIES = [None, "porvoo", "sipoo", "loviisa"]


def _change_something(session, rng: random.Random, people: list[User], items: list[WorkItem]):
    """One change a user or the desk makes, at random."""
    person = rng.choice(people)
    open_items = [item for item in items if item.status in OPEN_STATUSES]
    choice = rng.random()
    if choice < 0.3 or not open_items:
        item = make_item(
            session,
            queue=rng.choice(QUEUES),
            municipality=rng.choice(MUNICIPALITIES),
            channel=rng.choice(["chat", "omaolo", "eform"]),
            emergency=rng.random() < 0.1,
            due_in=rng.choice(
                [None, timedelta(hours=-30), timedelta(minutes=-5), timedelta(hours=4)]
            ),
            # submitted on different days: the lists order the items without a deadline by it
            submitted_at=utcnow() - timedelta(hours=rng.randint(0, 100)),
        )
        items.append(item)
        return
    item = rng.choice(open_items)
    if item.status == ItemStatus.NEW.value and item.assignee_id is None:
        if choice < 0.5:
            lifecycle.take(session, item, person)
        elif choice < 0.6:
            elsewhere = rng.choice([queue for queue in QUEUES if queue != item.queue_code])
            lifecycle.transfer(session, item, person, session.get(Queue, elsewhere), "x")
        elif choice < 0.7:
            moment = utcnow() + timedelta(hours=rng.randint(-50, 50))
            if rng.random() < 0.7:
                item.due_at = moment
            else:  # no deadline, but a response target: the lists order it by that
                item.due_at, item.answer_by = None, moment
        elif choice < 0.8:
            item.municipality_code = rng.choice(MUNICIPALITIES)
            item.identification = rng.choice(["none", "strong"])
        elif choice < 0.9 and not item.events:
            session.delete(item)
            items.remove(item)
        else:
            item.emergency = not item.emergency
    else:  # someone holds it (or the desk gave it to someone)
        holder = session.get(User, item.assignee_id)
        if item.status == ItemStatus.WAITING.value:
            lifecycle.resume(session, item, holder)
        elif choice < 0.5:
            lifecycle.resolve(session, item, holder, "no-action-needed")
        elif choice < 0.7:
            lifecycle.wait_for_resident(session, item, holder)
        else:
            lifecycle.release(session, item, holder)
    session.flush()


def _everyone(session) -> list[User]:
    return [
        make_user(
            session,
            role="team_lead",
            queues=QUEUES,
            municipalities=[m for m in MUNICIPALITIES if m],
        )
        for _ in range(3)
    ]


def test_every_kind_of_change_keeps_the_counts_exact(session):
    rng = random.Random(21)
    people = _everyone(session)
    items: list[WorkItem] = []
    now = utcnow()
    for step in range(240):
        _change_something(session, rng, people, items)
        if step % 20 == 19:
            assert counts.reconcile(session, now) == [], f"after step {step}"
        if step % 60 == 59:
            counts.fold(session, now)
            keys = session.execute(
                select(func.count()).select_from(
                    select(*(c for c in open_item_count.c if c.name != "n")).distinct().subquery()
                )
            ).scalar_one()
            assert session.scalar(select(func.count()).select_from(open_item_count)) == keys
            assert counts.reconcile(session, now) == []
    # And the view's numbers are those of a direct count, for each state and queue.
    viewer = people[0]
    numbers = situation.counts(session, viewer, Filters(), now)
    for queue in QUEUES:
        for state in situation.STATES:
            direct = session.scalar(
                select(func.count()).where(
                    WorkItem.queue_code == queue,
                    WorkItem.status.in_(OPEN_STATUSES),
                    situation.state_condition(state, now),
                )
            )
            assert getattr(numbers.get(queue, situation.Counts()), state) == direct, (queue, state)


def test_overdue_and_due_soon_around_midnight(session):
    """Deadlines of earlier days come from the kept counts, today's from the index: the sum
    is the direct count whatever the time of day."""
    nurse = make_user(session, queues=["omaolo-porvoo"], municipalities=["porvoo"])
    for now in (
        datetime(2026, 3, 14, 0, 0, 30, tzinfo=UTC),
        datetime(2026, 3, 14, 23, 30, tzinfo=UTC),
        datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
    ):
        for offset in (
            timedelta(days=-2),
            timedelta(hours=-24, seconds=-1),
            timedelta(minutes=-31),
            timedelta(seconds=-1),
            timedelta(seconds=1),
            timedelta(minutes=59),
            timedelta(minutes=61),
            timedelta(days=1),
        ):
            item = make_item(session, queue="omaolo-porvoo", municipality="porvoo")
            item.due_at = now + offset
        session.flush()
        numbers = situation.counts(session, nurse, Filters(), now)["omaolo-porvoo"]
        for state in ("overdue", "due_soon"):
            direct = session.scalar(
                select(func.count()).where(
                    WorkItem.queue_code == "omaolo-porvoo",
                    WorkItem.status.in_(OPEN_STATUSES),
                    situation.state_condition(state, now),
                )
            )
            assert getattr(numbers, state) == direct, (now, state)


def test_oldest_waiting_is_the_oldest_the_viewer_may_see(session):
    nurse = make_user(session, queues=["chat-regional"], municipalities=["porvoo"])
    now = utcnow()
    hidden = make_item(session, queue="chat-regional", municipality="sipoo")
    hidden.submitted_at = now - timedelta(hours=9)
    seen = make_item(session, queue="chat-regional", municipality="porvoo")
    seen.submitted_at = now - timedelta(hours=3)
    taken = make_item(session, queue="chat-regional", municipality="porvoo")
    taken.submitted_at = now - timedelta(hours=5)
    lifecycle.take(session, taken, nurse)
    session.flush()
    assert situation.counts(session, nurse, Filters(), now)["chat-regional"].oldest == (
        seen.submitted_at
    )


def _count_behind_the_triggers_back(session, n: int) -> None:
    """A kept count of `n` waiting chats in chat-regional that no item stands for."""
    session.execute(
        insert(open_item_count).values(
            queue_code="chat-regional",
            status="new",
            emergency=False,
            assigned=False,
            municipality_code=None,
            channel="chat",
            service_area_code="health",
            identification="none",
            due_day=None,
            n=n,
        )
    )


def test_reconciliation_logs_and_corrects_a_drift(session, caplog):
    nurse = make_user(session, queues=["chat-regional"])
    now = utcnow()
    make_item(session, queue="chat-regional")
    before = situation.counts(session, nurse, Filters(), now)["chat-regional"].waiting
    # A change made behind the triggers' back: a count that no item stands for.
    _count_behind_the_triggers_back(session, 2)
    assert situation.counts(session, nurse, Filters(), now)["chat-regional"].waiting == before + 2
    with caplog.at_level(logging.ERROR, logger="desk.work.counts"):
        drift = counts.reconcile(session, now)
    assert [(d.table, d.key["queue_code"], d.difference) for d in drift] == [
        ("open_item_count", "chat-regional", 2)
    ]
    assert "kept count drift in open_item_count" in caplog.text
    assert situation.counts(session, nurse, Filters(), now)["chat-regional"].waiting == before
    assert counts.reconcile(session, now) == []


def test_folding_drops_hours_the_trend_no_longer_reads(session):
    now = utcnow()
    old = counts.epoch(now, counts.HOUR) - counts.KEEP_HOURS - 1
    session.execute(
        insert(item_hour_count).values(
            kind="arrived",
            hour=old,
            queue_code="chat-regional",
            municipality_code=None,
            channel="chat",
            service_area_code="health",
            identification="none",
            n=1,
        )
    )
    counts.fold(session, now)
    assert session.scalar(select(func.count()).where(item_hour_count.c.hour == old)) == 0


def test_folding_again_and_again_does_not_grow_the_tables(app, committed):
    """A fold deletes every row and inserts the sums: what it deleted is cleared, so the
    kept counts' tables stay the size of what they hold however often they are folded, also
    on a server whose autovacuum is off or behind (this machine's is off)."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from desk.tasks.counts import fold_counts

    with Session(committed) as s:
        for day in range(600):  # 600 keys, counts that no item stands for
            _count_behind_the_triggers_back(s, 1)
            s.execute(
                open_item_count.update()
                .where(open_item_count.c.due_day.is_(None))
                .values(due_day=day)
            )
        s.commit()

    def pages() -> int:
        with committed.connect() as connection:
            return connection.scalar(text("SELECT pg_relation_size('open_item_count') / 8192"))

    with app.app_context():
        fold_counts()
        first = pages()
        for _ in range(10):
            fold_counts()
    assert first >= 3, first  # the 600 rows take a few pages
    assert pages() <= first + 1, (first, pages())


def test_counts_stay_exact_under_concurrent_changes_and_folds(app, committed):
    """Four people changing the same items at once on PostgreSQL, with the fold running
    beside them; a change that meets another's is refused, as it would be for them."""
    from sqlalchemy.exc import IntegrityError, InvalidRequestError
    from sqlalchemy.orm import Session
    from sqlalchemy.orm.exc import StaleDataError

    from desk.errors import DomainError

    with Session(committed) as s:
        ids = [person.id for person in _everyone(s)]
        s.commit()
    stop = threading.Event()
    failures: list[BaseException] = []
    done = []

    def work(number: int) -> None:
        rng = random.Random(number)
        for _ in range(60):
            with Session(committed) as s:
                recent = list(s.scalars(select(WorkItem).order_by(WorkItem.id.desc()).limit(12)))
                try:
                    _change_something(s, rng, [s.get(User, i) for i in ids], recent)
                    s.commit()
                    done.append(number)
                except (DomainError, StaleDataError, IntegrityError, InvalidRequestError):
                    # met another's change (taken, changed or deleted meanwhile): refused
                    s.rollback()
                except BaseException as error:
                    failures.append(error)
                    return

    def folding() -> None:
        while not stop.is_set():
            with Session(committed) as s:
                counts.fold(s, utcnow())
                s.commit()

    folder = threading.Thread(target=folding)
    folder.start()
    workers = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    folder.join()
    assert failures == []
    assert len(done) > 150
    with Session(committed) as s:
        assert s.scalar(select(func.count()).select_from(WorkItem)) > 20
        assert counts.reconcile(s, utcnow()) == []


def test_a_recount_gives_what_the_triggers_kept(session):
    rng = random.Random(3)
    people = _everyone(session)
    items: list[WorkItem] = []
    for _ in range(60):
        _change_something(session, rng, people, items)
    now = utcnow()
    viewer = people[0]
    kept = situation.counts(session, viewer, Filters(), now)
    trends = situation.trends(session, viewer, Filters(), now)
    counts.recount(session, now)
    assert counts.reconcile(session, now) == []
    assert situation.counts(session, viewer, Filters(), now) == kept
    assert situation.trends(session, viewer, Filters(), now) == trends


def test_without_redis_the_desks_own_thread_folds_and_reconciles(app, committed, monkeypatch):
    """The embedded default keeps its counts too: its thread folds every FOLD_SECONDS and
    reconciles every RECONCILE_SECONDS (shortened here to half a second)."""
    import time

    from sqlalchemy.orm import Session

    from desk.tasks.outbound import Courier

    monkeypatch.setattr("desk.work.counts.FOLD_SECONDS", 0.5)
    monkeypatch.setattr("desk.work.counts.RECONCILE_SECONDS", 0.5)
    monkeypatch.setattr("desk.tasks.outbound.THREAD_SWEEP_SECONDS", 0.2)
    with Session(committed) as s:
        for _ in range(3):
            make_item(s, queue="chat-regional")
        _count_behind_the_triggers_back(s, 5)
        s.commit()

    def state() -> tuple[int, int]:
        with Session(committed) as s:
            rows = s.scalar(select(func.count()).select_from(open_item_count))
            total = s.scalar(select(func.coalesce(func.sum(open_item_count.c.n), 0)))
            return rows, total

    assert state() == (4, 8)
    courier = Courier(app)
    try:
        courier.wake(())
        deadline = time.monotonic() + 30
        while state() != (1, 3) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        courier.close()
    assert state() == (1, 3)  # the drift corrected, and the rows folded into one
