"""The intake job on PostgreSQL with real commits: no wake-up is lost, no failure loops."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from desk.extensions import db
from desk.inbound import intake
from desk.models import InboundDelivery, WorkItem
from desk.tasks import inbound as jobs
from desk.tasks.sweep import sweep_pending
from tests.contract import example


def store(engine, payload: dict) -> str:
    with Session(engine) as s:
        delivery = InboundDelivery(
            id=str(uuid.uuid4()),
            channel="help-request",
            external_id=payload["external_id"],
            payload=payload,
            content_hash=str(uuid.uuid4()),
        )
        s.add(delivery)
        s.commit()
        return delivery.id


@pytest.fixture
def drain_without_redis(monkeypatch):
    """The drain's Redis bookkeeping (the waiting flag, the dispatch) is not under test."""
    monkeypatch.setattr(jobs, "started", lambda key: None)
    monkeypatch.setattr(jobs, "request_dispatch", lambda: None)
    requested = []
    monkeypatch.setattr(jobs, "request_drain", lambda: requested.append(1))
    return requested


def test_a_drain_waits_for_a_row_a_repeat_holds_and_routes_it_when_released(
    app, committed, drain_without_redis
):
    payload = example("help-request.json")
    delivery_id = store(committed, payload)
    # A repeat of the delivery being received holds its row, as a chat update does.
    holder = committed.connect()
    held = holder.begin()
    holder.execute(
        text("SELECT id FROM inbound_delivery WHERE id = :id FOR UPDATE"), {"id": delivery_id}
    )
    routed = []

    def drain():
        with app.app_context():
            routed.append(jobs.drain_deliveries())
            db.session.remove()

    worker = threading.Thread(target=drain)
    worker.start()
    time.sleep(1.0)
    assert worker.is_alive(), "the drain ended while the delivery was locked"
    held.commit()
    released = time.monotonic()
    holder.close()
    worker.join(timeout=5)
    assert time.monotonic() - released < 1.0
    assert routed == [1]
    with Session(committed) as s:
        assert s.get(InboundDelivery, delivery_id).status == "routed"
        assert s.scalar(select(WorkItem.queue_code)) == "help-regional"


def test_a_row_still_locked_after_the_wait_is_handed_to_another_drain(
    app, committed, drain_without_redis, monkeypatch
):
    monkeypatch.setattr(jobs, "LOCK_WAIT", "200ms")
    delivery_id = store(committed, example("help-request.json"))
    with committed.connect() as holder, holder.begin():
        holder.execute(
            text("SELECT id FROM inbound_delivery WHERE id = :id FOR UPDATE"), {"id": delivery_id}
        )
        with app.app_context():
            assert jobs.drain_deliveries() == 0
            db.session.remove()
    assert drain_without_redis == [1]  # a new drain was asked for: the wake-up is not lost


def test_a_delivery_that_fails_intake_is_tried_a_bounded_number_of_times(
    app, committed, monkeypatch
):
    payload = example("help-request.json")
    delivery_id = store(committed, payload)
    calls = []

    def broken(session, channel, payload, router=None):
        calls.append(1)
        raise OverflowError("date value out of range")

    monkeypatch.setattr(intake, "build_item", broken)
    with app.app_context():
        for attempt in range(1, intake.MAX_ATTEMPTS):
            with pytest.raises(OverflowError):
                jobs.process_delivery(delivery_id)  # raised: the job queue retries it
            with Session(committed) as s:
                assert s.get(InboundDelivery, delivery_id).attempts == attempt
        assert jobs.process_delivery(delivery_id) is None  # the last attempt sets it aside
        # The sweep no longer hands it on, however often it runs.
        assert sweep_pending(0) == 0
        db.session.remove()
    assert len(calls) == intake.MAX_ATTEMPTS
    with Session(committed) as s:
        stored = s.get(InboundDelivery, delivery_id)
        assert stored.status == "rejected"
        assert stored.reason == "intake failed (OverflowError); attempts: 5"
        assert stored.payload == payload  # kept as it arrived


def test_the_source_system_sees_a_delivery_set_aside(app, committed, monkeypatch):
    from desk.inbound import tokens

    payload = example("help-request.json")
    with app.app_context():
        _, secret = tokens.create(db.session, "Pyydä apua", ["help-request"])
        db.session.commit()
        db.session.remove()
    monkeypatch.setattr(intake, "MAX_ATTEMPTS", 1)
    monkeypatch.setattr(intake, "build_item", lambda *a: 1 / 0)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert (
        client.post("/api/v1/inbound/help-request", json=payload, headers=headers).status_code
        == 202
    )
    answer = client.get(f"/api/v1/inbound/help-request/{payload['external_id']}", headers=headers)
    assert answer.json["status"] == "rejected"
    assert answer.json["reason"] == "intake failed (ZeroDivisionError); attempts: 1"


def test_one_failing_delivery_holds_up_nothing_else_in_its_batch(
    app, committed, monkeypatch, drain_without_redis
):
    """A drain routes its batch in one flush; when one delivery of it fails, the others are
    still routed in the same drain, each with its own item, and only the bad one waits."""
    payloads = []
    for n in range(4):
        payload = dict(example("help-request.json"), external_id=f"batch-{n}")
        payloads.append(payload)
        store(committed, payload)
    real = intake.build_item

    def broken_for_one(session, adapter, payload, router=None):
        if payload["external_id"] == "batch-2":
            raise OverflowError("date value out of range")
        return real(session, adapter, payload, router)

    monkeypatch.setattr(intake, "build_item", broken_for_one)
    with app.app_context():
        assert jobs.drain_deliveries() == 3
        db.session.remove()
    with Session(committed) as s:
        deliveries = {
            d.external_id: d
            for d in s.scalars(
                select(InboundDelivery).where(InboundDelivery.channel == "help-request")
            )
        }
        items = {i.external_id: i for i in s.scalars(select(WorkItem))}
        for name in ("batch-0", "batch-1", "batch-3"):
            assert deliveries[name].status == "routed"
            assert deliveries[name].item_id == items[name].id
            assert deliveries[name].attempts == 1
        assert "batch-2" not in items
        assert deliveries["batch-2"].status == "pending"
        assert deliveries["batch-2"].attempts == 1  # counted; the sweep tries it again
        assert deliveries["batch-2"].applied_hash is None
