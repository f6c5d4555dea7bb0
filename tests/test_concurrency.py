"""One owner at a time, on real PostgreSQL with concurrent transactions."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from desk.errors import AlreadyTaken
from desk.models import ItemEvent, User, WorkItem
from desk.work import lifecycle
from tests.factories import make_item, make_user

PEOPLE = 20


def _setup(engine, items: int) -> tuple[list[int], list[int]]:
    with Session(engine) as s:
        users = [make_user(s, name=f"Hoitaja {n}") for n in range(PEOPLE)]
        work = [make_item(s) for _ in range(items)]
        s.commit()
        return [u.id for u in users], [i.id for i in work]


def _together(engine, user_ids, action):
    # A connection for everyone, so that nobody waits for the pool at the starting line.
    engine = create_engine(engine.url, pool_size=len(user_ids))
    barrier = threading.Barrier(len(user_ids), timeout=30)

    def run(user_id):
        with Session(engine) as s:
            user = s.get(User, user_id)
            barrier.wait()
            try:
                result = action(s, user)
                s.commit()
                return result
            except AlreadyTaken as refused:
                s.rollback()
                return refused

    try:
        with ThreadPoolExecutor(len(user_ids)) as pool:
            return list(pool.map(run, user_ids))
    finally:
        engine.dispose()


def test_twenty_professionals_pressing_take_together_leave_one_owner(committed):
    user_ids, (item_id,) = _setup(committed, 1)

    def take(s, user):
        lifecycle.take(s, s.get(WorkItem, item_id), user)
        return user.display_name

    results = _together(committed, user_ids, take)
    winners = [r for r in results if isinstance(r, str)]
    refusals = [r for r in results if isinstance(r, AlreadyTaken)]
    assert len(winners) == 1 and len(refusals) == PEOPLE - 1
    # Everyone who lost is told who won.
    assert {r.params["holder"] for r in refusals} == set(winners)
    with Session(committed) as s:
        item = s.get(WorkItem, item_id)
        assert item.assignee.display_name == winners[0]
        taken = s.scalar(
            select(func.count()).where(ItemEvent.item_id == item_id, ItemEvent.kind == "taken")
        )
        assert taken == 1


def test_take_next_pressed_together_never_hands_out_one_item_twice(committed):
    user_ids, item_ids = _setup(committed, 12)

    def take_next(s, user):
        item = lifecycle.take_next(s, user)
        return item.id if item else None

    results = _together(committed, user_ids, take_next)
    handed_out = [r for r in results if r is not None]
    assert sorted(handed_out) == sorted(item_ids)
    assert results.count(None) == PEOPLE - len(item_ids)
    with Session(committed) as s:
        owners = s.execute(select(WorkItem.id, WorkItem.assignee_id)).all()
        assert len({owner for _, owner in owners}) == len(item_ids)
