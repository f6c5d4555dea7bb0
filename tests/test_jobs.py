"""The worker path: a stored delivery is routed by an rq job on real Redis."""

from __future__ import annotations

import uuid

import pytest
from redis import Redis
from rq import SimpleWorker
from sqlalchemy.orm import Session

from desk.extensions import db
from desk.models import InboundDelivery, WorkItem
from desk.tasks import QUEUE_NAME, enqueue, job_queue
from desk.tasks import inbound as jobs
from desk.tasks.inbound import process_delivery

PAYLOAD = {
    "external_id": "omaolo-job-1",
    "submitted_at": "2026-11-25T07:55:00+02:00",
    "municipality": "sipoo",
    "language": "sv",
    "resident": {"identification": "strong", "personal_id": "131052-308T"},
    "assessment": {
        "kind": "symptom",
        "code": "respiratory-infection",
        "title": "Luftvägsinfektion",
        "urgency": "P2",
        "recommendation": "Kontakta hälsostationen i dag.",
        "answers": [],
    },
}


def test_an_enqueued_delivery_becomes_one_item_on_a_worker(app, committed, redis_url):
    app.config.update(DESK_JOBS_INLINE=False, REDIS_URL=redis_url)
    try:
        with app.app_context():
            delivery = InboundDelivery(
                id=str(uuid.uuid4()),
                channel="omaolo",
                external_id=PAYLOAD["external_id"],
                payload=PAYLOAD,
                content_hash="h",
            )
            db.session.add(delivery)
            db.session.commit()
            delivery_id = delivery.id
            # Enqueued twice under one job id, as a retry or the sweep might: still one item.
            enqueue(process_delivery, delivery_id, job_id=f"delivery-{delivery_id}")
            enqueue(process_delivery, delivery_id)
            assert job_queue().count >= 1
            worker = SimpleWorker([QUEUE_NAME], connection=Redis.from_url(redis_url))
            assert worker.work(burst=True)
            db.session.remove()
    finally:
        app.config.update(DESK_JOBS_INLINE=True, REDIS_URL=None)
    with Session(committed) as s:
        stored = s.get(InboundDelivery, delivery_id)
        assert stored.status == "routed"
        item = s.get(WorkItem, stored.item_id)
        assert item.queue_code == "omaolo-sipoo" and item.language == "sv"
        assert s.query(WorkItem).count() == 1


def test_deliveries_arriving_together_are_routed_by_one_waiting_drain(app, committed, redis_url):
    from desk.inbound import tokens

    app.config.update(DESK_JOBS_INLINE=False, REDIS_URL=redis_url)
    try:
        with app.app_context():
            _, secret = tokens.create(db.session, "Omaolo", ["omaolo"])
            db.session.commit()
        client = app.test_client()
        for n in range(30):
            payload = {
                **PAYLOAD,
                "external_id": f"omaolo-drain-{n}",
                "resident": {"identification": "strong", "personal_id": "131052-308T"},
            }
            response = client.post(
                "/api/v1/inbound/omaolo",
                json=payload,
                headers={"Authorization": f"Bearer {secret}"},
            )
            assert response.status_code == 202
        with app.app_context():
            assert job_queue().count == 1  # one drain waits for all thirty
            SimpleWorker([QUEUE_NAME], connection=Redis.from_url(redis_url)).work(burst=True)
    finally:
        app.config.update(DESK_JOBS_INLINE=True, REDIS_URL=None)
    with Session(committed) as s:
        assert s.query(WorkItem).count() == 30
        assert {d.status for d in s.query(InboundDelivery)} == {"routed"}


def arrive(n: int) -> None:
    """A delivery stored and a drain asked for, as the inbound API does after its commit."""
    db.session.add(
        InboundDelivery(
            id=str(uuid.uuid4()),
            channel="omaolo",
            external_id=f"omaolo-running-{n}",
            payload={**PAYLOAD, "external_id": f"omaolo-running-{n}"},
            content_hash=f"h{n}",
        )
    )
    db.session.commit()
    jobs.request_drain()


def drains() -> int:
    """Drain jobs waiting in the queue."""
    return sum(1 for job in job_queue().jobs if job.func_name.endswith("drain_deliveries"))


def test_a_running_drain_is_relied_on_and_leaves_no_delivery_behind(
    app, committed, redis_url, monkeypatch
):
    """Under load one drain routes what arrives while it runs, in batches, and asks that
    nobody else be woken for it; yet a delivery arriving just as it finds nothing left is
    still routed, and once it has ended, the next delivery wakes a new drain."""
    real_batch, real_next = jobs.process_batch, jobs._next_batch
    batches: list[int] = []

    def batch_during_which_one_arrives(session, deliveries, channels):
        batches.append(len(deliveries))
        if len(batches) == 1:
            arrive_elsewhere(1)
        return real_batch(session, deliveries, channels)

    def look_after_which_one_arrives(failed, *, skip_locked):
        found = real_next(failed, skip_locked=skip_locked)
        if not found and len(batches) == 2:
            arrive_elsewhere(2)  # just after the drain saw nothing left
        return found

    def arrive_elsewhere(n: int) -> None:
        # Another request's own session and transaction, as in the inbound API.
        with app.app_context():
            arrive(n)
            db.session.remove()

    app.config.update(DESK_JOBS_INLINE=False, REDIS_URL=redis_url)
    try:
        with app.app_context():
            arrive(0)
            assert drains() == 1  # the drain that delivery 0 woke
            job_queue().empty()  # run here instead, to follow each step
            monkeypatch.setattr(jobs, "process_batch", batch_during_which_one_arrives)
            monkeypatch.setattr(jobs, "_next_batch", look_after_which_one_arrives)
            assert jobs.drain_deliveries() == 3
            assert batches == [1, 1, 1]
            # Delivery 1 arrived while the drain ran and relied on it: no other drain woke.
            # Delivery 2 arrived after it found nothing, and it looked once more.
            assert drains() == 0
            arrive(3)  # the drain has ended: the next delivery wakes a new one
            assert drains() == 1
            db.session.remove()
    finally:
        app.config.update(DESK_JOBS_INLINE=True, REDIS_URL=None)
    with Session(committed) as s:
        statuses = {d.external_id: d.status for d in s.query(InboundDelivery)}
    assert statuses == {
        "omaolo-running-0": "routed",
        "omaolo-running-1": "routed",
        "omaolo-running-2": "routed",
        "omaolo-running-3": "pending",
    }


def test_a_long_drain_hands_over_to_a_new_one(app, committed, redis_url, monkeypatch):
    """A drain ends after DRAIN_SECONDS (its job has a timeout) and wakes another drain,
    though it held the flag that keeps others from waking one."""
    monkeypatch.setattr(jobs, "DRAIN_SECONDS", 0)
    app.config.update(DESK_JOBS_INLINE=False, REDIS_URL=redis_url)
    try:
        with app.app_context():
            arrive(0)
            arrive(1)
            job_queue().empty()
            assert jobs.drain_deliveries() == 2
            assert drains() == 1
            db.session.remove()
    finally:
        app.config.update(DESK_JOBS_INLINE=True, REDIS_URL=None)


def test_a_drain_that_fails_lets_go_at_once(app, committed, redis_url, monkeypatch):
    """A drain that fails after it took the flag looks no more (its job is retried later):
    the next delivery wakes a new drain at once, not after the hold has lapsed."""

    def broken(channel, received_at):
        raise ConnectionResetError("the connection was lost")

    monkeypatch.setattr(jobs, "routed_one", broken)
    app.config.update(DESK_JOBS_INLINE=False, REDIS_URL=redis_url)
    try:
        with app.app_context():
            arrive(0)
            job_queue().empty()
            with pytest.raises(ConnectionResetError):
                jobs.drain_deliveries()
            db.session.remove()
            arrive(1)
            assert drains() == 1
            db.session.remove()
    finally:
        app.config.update(DESK_JOBS_INLINE=True, REDIS_URL=None)


def test_two_drains_at_once_both_look_again(app, committed, redis_url):
    """Two drains may run at once: one was asked for while another ran. Each holds the flag
    in turn, and must not take the other's hold for a drain still waiting to start, or both
    end believing that the other looks again, and what arrives meanwhile waits for the
    sweep. Only a drain asked for and not yet started is relied on."""
    from desk.tasks import hold, started

    app.config.update(DESK_JOBS_INLINE=False, REDIS_URL=redis_url)
    try:
        with app.app_context():
            arrive(0)  # asks for a drain: it waits in the queue
            job_queue().empty()  # (run by hand below)
            started(jobs.WAITING_DRAIN)  # the first drain starts
            assert hold(jobs.WAITING_DRAIN, "first")
            started(jobs.WAITING_DRAIN)  # a second one, asked for meanwhile, starts too
            assert hold(jobs.WAITING_DRAIN, "second")
            arrive(1)  # relies on a drain that holds: none is woken
            assert drains() == 0
            # Each sees the other's hold: both look again.
            assert hold(jobs.WAITING_DRAIN, "first")
            assert hold(jobs.WAITING_DRAIN, "second")
            # A drain asked for and not yet started is relied on: a running one may end.
            job_queue().connection.delete(jobs.WAITING_DRAIN)
            arrive(2)
            assert drains() == 1
            assert not hold(jobs.WAITING_DRAIN, "first")
            db.session.remove()
    finally:
        app.config.update(DESK_JOBS_INLINE=True, REDIS_URL=None)
