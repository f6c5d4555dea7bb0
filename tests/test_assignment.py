"""Availability, capacity and the desk's assignment policies, as plain domain code; with a
property-based test that drives random arrivals, status changes and resolutions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.errors import NotPermitted
from desk.models import ItemEvent, ItemStatus, Queue, WorkItem, utcnow
from desk.work import lifecycle
from desk.work.access import may_work_on
from desk.work.assignment import (
    Policy,
    Status,
    dispatch,
    in_team,
    loads,
    may_give,
    may_hold,
    may_join,
    reassign,
    set_status,
    team,
)
from tests.factories import CHANNELS, make_item, make_user


def _policy(session, queue: str, policy: Policy) -> None:
    session.get(Queue, queue).assignment = policy.value
    session.flush()


def test_round_robin_gives_in_turn_and_least_loaded_to_the_lightest(session):
    _policy(session, "omaolo-porvoo", Policy.ROUND_ROBIN)
    a = make_user(session, queues=["omaolo-porvoo"], name="A")
    b = make_user(session, queues=["omaolo-porvoo"], name="B")
    for user in (a, b):
        set_status(session, user, Status.AVAILABLE)
    items = [make_item(session, queue="omaolo-porvoo", channel="omaolo") for _ in range(4)]
    given = dispatch(session, CHANNELS.weight)
    assert [user.display_name for _, user in given] == ["A", "B", "A", "B"]
    assert all(i.status == ItemStatus.IN_PROGRESS.value for i in items)
    kinds = session.scalars(select(ItemEvent.kind).where(ItemEvent.item_id == items[0].id)).all()
    assert kinds[-1] == "assigned"

    _policy(session, "omaolo-porvoo", Policy.LEAST_LOADED)
    for item, user in given:
        if user is a:
            lifecycle.resolve(session, item, a, "self-care-guidance")
    more = [make_item(session, queue="omaolo-porvoo", channel="omaolo") for _ in range(3)]
    assert [u.display_name for _, u in dispatch(session, CHANNELS.weight)] == ["A", "A", "B"]
    assert loads(session, [a, b], CHANNELS.weight) == {a.id: 2, b.id: 3} and more


def test_only_available_members_in_scope_with_room_get_items(session):
    _policy(session, "chat-regional", Policy.LEAST_LOADED)
    full = make_user(session, queues=["chat-regional"], name="Full")
    full.capacity = 2
    away = make_user(session, queues=["chat-regional"], name="Away")
    sipoo_only = make_user(session, queues=["chat-regional"], municipalities=["sipoo"], name="S")
    set_status(session, full, Status.AVAILABLE)
    set_status(session, away, Status.BREAK)
    set_status(session, sipoo_only, Status.AVAILABLE)
    start = utcnow() - timedelta(hours=1)
    porvoo_chat, sipoo_chat, later = (
        make_item(
            session,
            queue="chat-regional",
            municipality=municipality,
            submitted_at=start + timedelta(minutes=n),
        )
        for n, municipality in enumerate(["porvoo", "sipoo", "porvoo"])
    )
    given_now = {(i.id, u.display_name) for i, u in dispatch(session, CHANNELS.weight)}
    # A chat weighs 2: Full takes the first Porvoo chat and is then full; S may not see Porvoo.
    assert given_now == {(porvoo_chat.id, "Full"), (sipoo_chat.id, "S")}
    assert later.assignee_id is None, "it waits, in order, and the board says so"
    assert CHANNELS.weight("chat") == 2


def test_going_offline_returns_untouched_items_and_keeps_the_rest(session):
    _policy(session, "omaolo-porvoo", Policy.ROUND_ROBIN)
    nurse = make_user(session, queues=["omaolo-porvoo"])
    set_status(session, nurse, Status.AVAILABLE)
    touched = make_item(session, queue="omaolo-porvoo", channel="omaolo")
    fresh = make_item(session, queue="omaolo-porvoo", channel="omaolo")
    dispatch(session, CHANNELS.weight)
    lifecycle.add_note(session, touched, nurse, "Soitin, ei vastannut.")
    returned = set_status(session, nurse, Status.OFFLINE)
    assert returned == [fresh]
    assert fresh.assignee_id is None and fresh.status == ItemStatus.NEW.value
    assert touched.assignee_id == nurse.id
    last = session.scalars(
        select(ItemEvent).where(ItemEvent.item_id == fresh.id).order_by(ItemEvent.id.desc())
    ).first()
    assert last.kind == "returned"
    assert dispatch(session, CHANNELS.weight) == [], "nobody is available to take it"


def test_a_lead_reassigns_within_queue_and_scope(session):
    lead = make_user(session, role="team_lead", queues=["omaolo-porvoo"])
    a = make_user(session, queues=["omaolo-porvoo"])
    outsider = make_user(session, queues=["omaolo-porvoo"], municipalities=["sipoo"])
    item = make_item(session, queue="omaolo-porvoo", municipality="porvoo")
    lifecycle.take(session, item, a)
    reassign(session, item, lead, None)
    assert item.assignee_id is None and item.status == ItemStatus.NEW.value
    reassign(session, item, lead, a)
    assert item.assignee_id == a.id and item.status == ItemStatus.IN_PROGRESS.value
    with pytest.raises(NotPermitted):
        reassign(session, item, lead, outsider)


def _lead_of_social_services(session):
    """A lead of two social-services queues (Porvoo and Sipoo), serving those municipalities."""
    return make_user(
        session,
        role="team_lead",
        queues=["social-porvoo", "social-sipoo"],
        municipalities=["porvoo", "sipoo"],
    )


def test_a_leads_team_is_the_real_desks_people_of_their_queues_and_municipalities(session):
    lead = _lead_of_social_services(session)
    worker = make_user(session, queues=["social-porvoo"], municipalities=["porvoo"])
    co_lead = make_user(session, role="team_lead", queues=["social-sipoo"], municipalities=None)
    nearby = make_user(session, queues=["health-porvoo"], municipalities=["porvoo"])
    far = make_user(session, queues=["health-askola"], municipalities=["askola"])
    elsewhere_in_queue = make_user(session, queues=["social-porvoo"], municipalities=["askola"])
    admin = make_user(session, role="admin", queues=["social-porvoo"])
    trainee, trainer, auditor = (
        make_user(session, role=role, queues=["social-porvoo"])
        for role in ("trainee", "trainer", "auditor")
    )
    gone = make_user(session, queues=["social-porvoo"], municipalities=["porvoo"])
    gone.active = False
    session.flush()

    assert {u.id for u in team(session, lead)} == {lead.id, worker.id, co_lead.id}
    for person in (lead, worker, co_lead):
        assert in_team(lead, person) and may_join(lead, person)
    # Not of the team, but serving a municipality of the lead's: may be added to a queue.
    assert not in_team(lead, nearby) and may_join(lead, nearby)
    assert not in_team(lead, elsewhere_in_queue) and not may_join(lead, elsewhere_in_queue)
    for person in (far, admin, trainee, trainer, auditor, gone):
        assert not in_team(lead, person) and not may_join(lead, person), person.role

    # An admin manages everyone who works items in the real desk, and nobody else.
    chief = make_user(session, role="admin", queues=[])
    for person in (lead, worker, nearby, far, admin):
        assert in_team(chief, person)
    for person in (trainee, trainer, auditor, gone):
        assert not in_team(chief, person) and not may_join(chief, person), person.role
    # A professional leads nobody.
    assert not in_team(worker, worker) and not may_join(worker, nearby)


def test_items_go_only_to_people_who_may_work_on_them_in_the_real_desk(session):
    lead = _lead_of_social_services(session)
    holder = make_user(session, queues=["social-porvoo"], municipalities=["porvoo"])
    sipoo_only = make_user(
        session, queues=["social-porvoo", "social-sipoo"], municipalities=["sipoo"]
    )
    admin = make_user(session, role="admin", queues=[])
    trainee = make_user(session, role="trainee", queues=["social-porvoo"])
    item = make_item(session, queue="social-porvoo", municipality="porvoo")
    lifecycle.take(session, item, holder)
    assert may_hold(holder, item) and may_give(lead, item, holder)
    for person in (sipoo_only, admin, trainee):
        assert not may_hold(person, item) or not may_give(lead, item, person)
        with pytest.raises(NotPermitted):
            reassign(session, item, lead, person)
        assert item.assignee_id == holder.id, "nothing changed"
    # Not the lead's item (another queue): not theirs to move, not even back to the queue.
    health = make_item(session, queue="health-porvoo", municipality="porvoo")
    with pytest.raises(NotPermitted):
        reassign(session, health, lead, None)
    assert health.status == ItemStatus.NEW.value


# --- the invariants under random traffic -------------------------------------------------------

ACTIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("arrive"),
            st.sampled_from(["omaolo-porvoo", "chat-regional"]),
            st.sampled_from(["porvoo", "sipoo", None]),
            st.sampled_from(["chat", "omaolo"]),
        ),
        st.tuples(st.just("status"), st.integers(0, 3), st.sampled_from(list(Status))),
        st.tuples(st.just("resolve"), st.integers(0, 30)),
    ),
    min_size=1,
    max_size=25,
)
PEOPLE = st.lists(
    st.tuples(
        st.sets(st.sampled_from(["omaolo-porvoo", "chat-regional"]), min_size=1),
        st.sampled_from([None, ["porvoo"], ["sipoo"]]),
        st.integers(1, 4),
    ),
    min_size=1,
    max_size=4,
)


def _check_invariants(session) -> None:
    users = {u.id: u for u in _people}
    load = loads(session, users.values(), CHANNELS.weight)
    held = session.scalars(
        select(WorkItem).where(WorkItem.assignee_id.is_not(None), WorkItem.status != "resolved")
    ).all()
    for item in held:
        assert may_work_on(users[item.assignee_id], item), "someone outside the scope"
    for user in users.values():
        assert load[user.id] <= user.capacity, "someone above capacity"
    for item in session.scalars(
        select(WorkItem).where(WorkItem.status == "new", WorkItem.assignee_id.is_(None))
    ):
        for user in users.values():
            eligible = (
                user.status == "available"
                and may_work_on(user, item)
                and user.capacity - load[user.id] >= CHANNELS.weight(item.channel)
            )
            assert not eligible, (
                f"{item.id} waits while {user.display_name} has room",
                session.get(Queue, item.queue_code).assignment,
                user.capacity,
                user.status,
                item.queue_code,
                item.channel,
                item.municipality_code,
                user.queue_codes,
                load[user.id],
                user.capacity,
                session.get(Queue, item.queue_code).assignment,
            )
    for item in session.scalars(select(WorkItem)):
        events = session.scalars(
            select(ItemEvent.kind).where(ItemEvent.item_id == item.id).order_by(ItemEvent.id)
        ).all()
        holders = 0
        for kind in events:
            if kind in ("assigned", "taken"):
                holders += 1
                assert holders == 1, "one item held by two"
            elif kind in ("returned", "released", "resolved"):
                holders = 0


_people: list = []


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people=PEOPLE, actions=ACTIONS)
def test_random_traffic_keeps_every_invariant(engines, people, actions):
    # Each example on its own connection, in a transaction rolled back at its end.
    with engines["postgresql"].connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection) as session:
            _run(session, people, actions)
        transaction.rollback()


def _run(session: Session, people, actions) -> None:
    session.get(Queue, "chat-regional").assignment = Policy.LEAST_LOADED.value
    session.get(Queue, "omaolo-porvoo").assignment = Policy.ROUND_ROBIN.value
    _people.clear()
    for queues, municipalities, capacity in people:
        user = make_user(session, queues=sorted(queues), municipalities=municipalities)
        user.capacity = capacity
        set_status(session, user, Status.AVAILABLE)
        _people.append(user)
    for action in actions:
        if action[0] == "arrive":
            _, queue, municipality, channel = action
            make_item(session, queue=queue, municipality=municipality, channel=channel)
        elif action[0] == "status":
            set_status(session, _people[action[1] % len(_people)], action[2])
        else:
            held = session.scalars(
                select(WorkItem).where(WorkItem.status == "in_progress").order_by(WorkItem.id)
            ).all()
            if held:
                item = held[action[1] % len(held)]
                lifecycle.resolve(session, item, item.assignee, "self-care-guidance")
        dispatch(session, CHANNELS.weight)
        _check_invariants(session)


def test_cautions_before_giving_items_count_what_would_be_in_progress(session):
    from desk.work.assignment import cautions

    anna = make_user(session, queues=["chat-regional", "omaolo-porvoo"])
    set_status(session, anna, Status.AVAILABLE)
    anna.capacity = 3
    held = make_item(session, channel="chat")  # 2 of 3
    lifecycle.take(session, held, anna)
    waiting = make_item(session, queue="omaolo-porvoo", channel="omaolo")
    waiting.status = ItemStatus.WAITING.value  # stays waiting: not in progress
    new = make_item(session, queue="omaolo-porvoo", channel="omaolo")
    assert cautions(session, anna, [held, waiting, new], CHANNELS.weight) == [], "2 + 1 = 3: room"
    chat = make_item(session, channel="chat")
    [over] = cautions(session, anna, [new, chat], CHANNELS.weight)
    assert (over.kind, over.load, over.adding, over.capacity) == ("over_capacity", 2, 3, 3)
    set_status(session, anna, Status.BREAK)
    assert [c.kind for c in cautions(session, anna, [new], CHANNELS.weight)] == ["away"]
    assert cautions(session, anna, [new], CHANNELS.weight)[0].status == "break"
