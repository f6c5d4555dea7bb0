"""The live stream's shelf (desk.work.worklist.Shelf): My work's lists composed from what it
keeps per queue and municipality are the lists read directly, for views of every shape,
through every kind of change, on PostgreSQL and SQLite."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from desk.models import WorkItem, utcnow
from desk.work import worklist
from desk.work.worklist import Shelf
from tests.factories import make_item, make_user
from tests.test_counts import MUNICIPALITIES, QUEUES, _change_something, _everyone


def _seen(lists: worklist.Waiting) -> tuple:
    """Everything the page shows of the lists."""
    beyond = lists.beyond
    return (
        [row.id for row in lists.emergencies],
        lists.emergency_count,
        [row.id for row in lists.items],
        [(row.queue.code, row.municipality and row.municipality.code) for row in lists.items],
        lists.count,
        (beyond.count, beyond.overdue, beyond.first.id if beyond.first else None),
        lists.first_new_id,
    )


def _state(items: list[WorkItem]) -> dict[int, tuple]:
    """What of each item a list shows or chooses by."""
    return {
        item.id: (
            item.queue_code,
            item.municipality_code,
            item.status,
            item.assignee_id,
            item.emergency,
            item.due_at,
            item.answer_by,
            item.title,
        )
        for item in items
    }


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of 4 rows and 3 emergencies, so that a few dozen items fill several parts past
    what a view shows (the merge and the numbers beyond it are what is tested)."""
    monkeypatch.setattr(worklist, "PAGE", 4)
    monkeypatch.setattr(worklist, "EMERGENCIES", 3)


def test_composed_lists_are_the_lists_read_directly_through_every_change(session, small_pages):
    rng = random.Random(2112)
    now = utcnow()
    people = _everyone(session)
    viewers = [
        people[0],  # every queue of the test, four municipalities
        make_user(session, queues=QUEUES[:2], municipalities=["porvoo"]),
        make_user(session, queues=QUEUES[1:], municipalities=["sipoo", "loviisa"]),
        make_user(session, queues=[QUEUES[3]], municipalities=[]),  # items of no municipality
        make_user(session, queues=[]),
    ]
    views = [(viewer, None) for viewer in viewers] + [
        (viewers[0], {QUEUES[1]}),
        (viewers[2], {QUEUES[2], "not-mine"}),
    ]
    items: list[WorkItem] = []
    for n in range(40):  # enough that every view has more than a page and its emergencies
        items.append(
            make_item(
                session,
                queue=QUEUES[n % 4],
                municipality=MUNICIPALITIES[n % 3],
                emergency=n % 5 == 0,
                due_in=rng.choice([None, timedelta(hours=-30), timedelta(minutes=-5)]),
                title=rng.choice(["Same", f"Item {n}"]),
            )
        )
    session.flush()
    shelf = Shelf(clock=lambda: 0.0)  # nothing ages: only what it is told makes it read again
    checked = beyond = read_again = in_queues = 0
    for step in range(160):
        before = _state(items)
        _change_something(session, rng, people, items)
        after = _state(items)
        # What the live message names (desk.live): the queue and municipality of every item
        # that changed, before and after.
        places: dict[str, set] = {}
        for item_id in before.keys() | after.keys():
            if before.get(item_id) != after.get(item_id):
                for state in (before.get(item_id), after.get(item_id)):
                    if state is not None:
                        places.setdefault(state[0], set()).add(state[1])
        kept = set(shelf._parts)
        shelf.forget(places.keys(), places)
        read_again += len(kept - set(shelf._parts))
        in_queues += sum(1 for key in kept if key[0] in places)
        for viewer, within in views:
            direct = worklist.waiting(session, viewer, now, within=within, shown=worklist.PAGE)
            composed = shelf.waiting(session, viewer, now, within=within, shown=worklist.PAGE)
            assert _seen(composed) == _seen(direct), (step, viewer.username, within)
            checked += 1
            beyond += direct.beyond.count > 0
    # The views were long enough to have something beyond the page most of the time.
    assert beyond > checked / 2
    # A change's municipalities spared most of its queues' parts from being read again.
    assert 0 < read_again < in_queues / 2


def test_a_change_not_told_is_not_seen_until_the_parts_age(session):
    """The shelf trusts what it read until told of a change, or for keep_seconds at most."""
    clock = [0.0]
    shelf = Shelf(keep_seconds=60, clock=lambda: clock[0])
    nurse = make_user(session, queues=["omaolo-porvoo"], municipalities=["porvoo"])
    first = make_item(session, queue="omaolo-porvoo", municipality="porvoo")
    now = utcnow()
    assert [row.id for row in shelf.waiting(session, nurse, now).items] == [first.id]
    second = make_item(session, queue="omaolo-porvoo", municipality="porvoo")
    session.flush()
    assert [row.id for row in shelf.waiting(session, nurse, now).items] == [first.id]
    clock[0] = 61
    assert {row.id for row in shelf.waiting(session, nurse, now).items} == {first.id, second.id}
    third = make_item(session, queue="omaolo-porvoo", municipality="porvoo")
    shelf.forget({"chat-regional"})  # another queue's change
    assert third.id not in {row.id for row in shelf.waiting(session, nurse, now).items}
    shelf.forget({"omaolo-porvoo"}, {"omaolo-porvoo": {"sipoo", None}})  # other municipalities
    assert third.id not in {row.id for row in shelf.waiting(session, nurse, now).items}
    shelf.forget({"omaolo-porvoo"}, {"omaolo-porvoo": {"porvoo"}})
    assert third.id in {row.id for row in shelf.waiting(session, nurse, now).items}
    fourth = make_item(session, queue="omaolo-porvoo", municipality="porvoo")
    shelf.forget({"omaolo-porvoo"})  # no municipality named: all of the queue
    assert fourth.id in {row.id for row in shelf.waiting(session, nurse, now).items}


def test_an_admin_and_a_longer_list_get_their_whole_lists(session, small_pages):
    """An admin's lists span every queue and municipality, and a grown list is longer than
    the parts the shelf keeps: both are what the direct read gives, not a shelf's page."""
    admin = make_user(session, role="admin", queues=QUEUES, municipalities=[])
    nurse = make_user(session, queues=QUEUES, municipalities=["porvoo"])
    for _n in range(3 * worklist.PAGE):
        make_item(session, queue=QUEUES[0], municipality="porvoo")  # one part, past its rows
    session.flush()
    now, shelf = utcnow(), Shelf()
    for viewer, shown in ((admin, worklist.PAGE), (nurse, 2 * worklist.PAGE)):
        direct = worklist.waiting(session, viewer, now, shown=shown)
        composed = shelf.waiting(session, viewer, now, shown=shown)
        assert len(direct.items) == shown, "the list is full"
        assert _seen(composed) == _seen(direct)
