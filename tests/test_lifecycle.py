"""The lifecycle verbs on PostgreSQL and SQLite: what a professional may and may not do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from desk.errors import (
    AlreadyTaken,
    InactiveQueue,
    ItemClosed,
    NotHolder,
    NotPermitted,
    SameQueue,
    StaleItem,
    TextRequired,
    UnknownOutcome,
    WrongStatus,
)
from desk.models import ItemEvent, Queue, WorkItem
from desk.work import lifecycle
from tests.factories import make_item, make_user


def kinds(session, item):
    return [
        e.kind
        for e in session.scalars(
            select(ItemEvent).where(ItemEvent.item_id == item.id).order_by(ItemEvent.id)
        )
    ]


def test_take_work_and_resolve_records_every_step(session):
    nurse = make_user(session)
    item = make_item(session)
    lifecycle.take(session, item, nurse)
    assert (item.status, item.assignee_id) == ("in_progress", nurse.id)
    lifecycle.add_note(session, item, nurse, "Soitin, ei vastannut.")
    lifecycle.wait_for_resident(session, item, nurse, "Odotetaan kuvaa")
    assert item.status == "waiting" and item.assignee_id == nurse.id
    lifecycle.resume(session, item, nurse)
    lifecycle.resolve(session, item, nurse, "self-care-guidance", "Ohjeet annettu")
    assert item.status == "resolved" and item.outcome_code == "self-care-guidance"
    assert item.resolved_at is not None
    assert kinds(session, item) == ["taken", "noted", "waiting", "resumed", "resolved"]


def test_second_professional_cannot_take_a_taken_item(session):
    first = make_user(session, name="Hanna Hoitaja")
    second = make_user(session)
    item = make_item(session)
    lifecycle.take(session, item, first)
    with pytest.raises(AlreadyTaken) as refused:
        lifecycle.take(session, item, second)
    assert refused.value.params["holder"] == "Hanna Hoitaja"
    assert item.assignee_id == first.id


def test_resolving_an_item_you_do_not_hold_is_refused(session):
    first, second = make_user(session), make_user(session)
    item = make_item(session)
    with pytest.raises(NotHolder):
        lifecycle.resolve(session, item, first, "no-action-needed")
    lifecycle.take(session, item, first)
    with pytest.raises(AlreadyTaken):
        lifecycle.resolve(session, item, second, "no-action-needed")
    assert item.status == "in_progress"


def test_a_resolved_item_cannot_be_taken_released_or_transferred(session):
    nurse = make_user(session)
    item = make_item(session)
    lifecycle.take(session, item, nurse)
    lifecycle.resolve(session, item, nurse, "appointment-booked")
    with pytest.raises(ItemClosed):
        lifecycle.take(session, item, nurse)
    with pytest.raises(ItemClosed):
        lifecycle.release(session, item, nurse)
    with pytest.raises(ItemClosed):
        lifecycle.transfer(session, item, nurse, session.get(Queue, "omaolo-porvoo"), "x")


def test_transfer_moves_an_item_to_a_municipality_queue_with_its_reason(session):
    nurse = make_user(session)
    item = make_item(session, queue="chat-regional")
    lifecycle.take(session, item, nurse)
    target = session.get(Queue, "chat-id-loviisa-lapinjarvi")
    lifecycle.transfer(session, item, nurse, target, "Asukas tunnistautui, asuu Loviisassa")
    assert item.queue_code == "chat-id-loviisa-lapinjarvi"
    assert (item.status, item.assignee_id) == ("new", None)
    event = session.scalars(
        select(ItemEvent).where(ItemEvent.item_id == item.id, ItemEvent.kind == "transferred")
    ).one()
    assert (event.from_queue_code, event.to_queue_code) == ("chat-regional", target.code)
    assert event.text == "Asukas tunnistautui, asuu Loviisassa"


def test_transfer_needs_an_active_other_queue_and_a_reason(session):
    nurse = make_user(session)
    item = make_item(session, queue="chat-regional")
    closed = session.get(Queue, "health-askola")
    closed.active = False
    session.flush()
    with pytest.raises(InactiveQueue):
        lifecycle.transfer(session, item, nurse, closed, "reason")
    with pytest.raises(InactiveQueue):
        lifecycle.transfer(session, item, nurse, None, "reason")
    with pytest.raises(SameQueue):
        lifecycle.transfer(session, item, nurse, session.get(Queue, "chat-regional"), "r")
    with pytest.raises(TextRequired):
        lifecycle.transfer(session, item, nurse, session.get(Queue, "omaolo-porvoo"), "  ")
    assert item.queue_code == "chat-regional"


def test_release_puts_the_item_back_for_others(session):
    first, second = make_user(session), make_user(session)
    item = make_item(session)
    lifecycle.take(session, item, first)
    lifecycle.release(session, item, first)
    lifecycle.take(session, item, second)
    assert item.assignee_id == second.id


def test_waiting_requires_an_item_in_progress(session):
    nurse = make_user(session)
    item = make_item(session)
    lifecycle.take(session, item, nurse)
    lifecycle.wait_for_resident(session, item, nurse)
    with pytest.raises(WrongStatus):
        lifecycle.wait_for_resident(session, item, nurse)


def test_resolve_needs_a_known_outcome(session):
    nurse = make_user(session)
    item = make_item(session)
    lifecycle.take(session, item, nurse)
    with pytest.raises(UnknownOutcome):
        lifecycle.resolve(session, item, nurse, "made-up")
    with pytest.raises(UnknownOutcome):
        lifecycle.resolve(session, item, nurse, None)
    assert item.status == "in_progress"


def test_an_action_on_a_stale_view_is_refused(session):
    nurse = make_user(session)
    item = make_item(session)
    lifecycle.take(session, item, nurse)
    seen = item.version
    lifecycle.add_note(session, item, nurse, "note does not change the item")
    lifecycle.wait_for_resident(session, item, nurse, expected_version=seen)
    with pytest.raises(StaleItem):
        lifecycle.resume(session, item, nurse, expected_version=seen)


def test_professional_cannot_touch_items_outside_their_queues_or_municipalities(session):
    social = make_user(session, queues=["social-porvoo"])
    nurse = make_user(session, queues=["omaolo-porvoo"], municipalities=["porvoo"])
    chat = make_item(session, queue="chat-regional")
    pukkila = make_item(session, queue="omaolo-porvoo", municipality="pukkila")
    with pytest.raises(NotPermitted):
        lifecycle.take(session, chat, social)
    with pytest.raises(NotPermitted):
        lifecycle.add_note(session, pukkila, nurse, "x")
    assert chat.assignee_id is None and pukkila.assignee_id is None


def test_take_next_follows_the_contract_order(session):
    nurse = make_user(session, queues=["omaolo-porvoo"])
    chat_old = make_item(
        session,
        queue="omaolo-porvoo",
        title="no deadline",
        submitted_at=lifecycle.utcnow() - timedelta(days=2),
    )
    later = make_item(session, queue="omaolo-porvoo", title="later", due_in=timedelta(hours=5))
    b = make_item(session, queue="omaolo-porvoo", title="B soon", due_in=timedelta(hours=1))
    a = make_item(session, queue="omaolo-porvoo", title="A soon", due_in=timedelta(hours=1))
    a.submitted_at = b.submitted_at
    a.due_at = b.due_at
    emergency = make_item(
        session, queue="omaolo-porvoo", title="P0", emergency=True, due_in=timedelta(hours=9)
    )
    session.flush()
    taken = [lifecycle.take_next(session, nurse) for _ in range(5)]
    assert [i.id for i in taken] == [emergency.id, a.id, b.id, later.id, chat_old.id]
    assert lifecycle.take_next(session, nurse) is None


def test_take_next_skips_items_outside_the_municipality_scope(session):
    nurse = make_user(session, queues=["omaolo-porvoo"], municipalities=["porvoo"])
    make_item(session, queue="omaolo-porvoo", municipality="myrskyla", emergency=True)
    mine = make_item(session, queue="omaolo-porvoo", municipality="porvoo")
    assert lifecycle.take_next(session, nurse).id == mine.id
    assert lifecycle.take_next(session, nurse) is None


def test_revealing_a_personal_id_is_recorded(session):
    nurse = make_user(session)
    item = make_item(session, personal_id="120578-9385")
    assert lifecycle.reveal_personal_id(session, item, nurse) == "120578-9385"
    assert kinds(session, item) == ["pid_revealed"]
    stored = session.get(WorkItem, item.id)
    assert stored.personal_id == "120578-9385"


def test_the_first_action_is_kept_on_the_item_through_releases(session):
    from tests.factories import make_item, make_user

    nurse = make_user(session)
    other = make_user(session)
    item = make_item(session)
    assert item.first_action_at is None
    lifecycle.take(session, item, nurse)
    first = item.first_action_at
    assert first is not None
    lifecycle.release(session, item, nurse)
    lifecycle.take(session, item, other)
    assert item.first_action_at == first, "the first action stays the first"
