"""Retries come back on time through the real background paths: an rq worker on Redis (the
scheduler's job), and the embedded default's own thread without Redis. The clock is moved: the
rule's next try is an hour after the attempt."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from redis import Redis
from rq import SimpleWorker
from sqlalchemy.orm import Session

from desk.extensions import db
from desk.inbound.deadlines import HELSINKI
from desk.models import WorkItem
from desk.tasks import QUEUE_NAME, enqueue
from desk.tasks.calls import return_retries
from desk.tasks.outbound import Courier
from desk.work import calls, lifecycle
from tests.factories import make_item, make_user

#: a working day's morning
ATTEMPT = datetime(2026, 12, 9, 9, 0, tzinfo=HELSINKI)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(ATTEMPT)
    monkeypatch.setattr(calls, "utcnow", clock)
    return clock


def _unanswered(app) -> int:
    """A callback taken and called without an answer at ATTEMPT; committed."""
    with app.app_context():
        nurse = make_user(db.session, queues=["callback-regional"])
        item = make_item(db.session, queue="callback-regional", channel="callback")
        item.resident_phone = "+358401234567"
        lifecycle.take(db.session, item, nurse)
        calls.record_attempt(db.session, item, nurse, "no-answer", now=ATTEMPT)
        db.session.commit()
        item_id = item.id
        db.session.remove()
    return item_id


def _state(engine, item_id):
    with Session(engine) as s:
        item = s.get(WorkItem, item_id)
        return item.status, item.retry_at


def test_an_rq_worker_brings_the_retry_back_at_its_time(app, committed, redis_url, clock):
    item_id = _unanswered(app)
    assert _state(committed, item_id) == ("waiting", ATTEMPT + timedelta(hours=1))
    app.config.update(DESK_JOBS_INLINE=False, REDIS_URL=redis_url)
    worker = SimpleWorker([QUEUE_NAME], connection=Redis.from_url(redis_url))
    try:
        with app.app_context():
            clock.now = ATTEMPT + timedelta(minutes=59)
            enqueue(return_retries)
            assert worker.work(burst=True)
            assert _state(committed, item_id)[0] == "waiting"
            clock.now = ATTEMPT + timedelta(minutes=60)
            enqueue(return_retries)
            assert worker.work(burst=True)
            db.session.remove()
    finally:
        app.config.update(DESK_JOBS_INLINE=True, REDIS_URL=None)
    assert _state(committed, item_id) == ("new", None)


def test_without_redis_the_desks_own_thread_brings_it_back(app, committed, clock, monkeypatch):
    # Its rounds, shortened: it looks every half second instead of every 15 s.
    monkeypatch.setattr("desk.tasks.calls.RETRY_SWEEP_SECONDS", 0.5)
    monkeypatch.setattr("desk.tasks.outbound.THREAD_SWEEP_SECONDS", 0.5)
    item_id = _unanswered(app)
    courier = Courier(app)
    try:
        courier.wake(())  # the first request a served desk answers starts it
        time.sleep(1)
        assert _state(committed, item_id)[0] == "waiting"
        clock.now = ATTEMPT + timedelta(hours=1, seconds=1)
        deadline = time.monotonic() + 30
        while _state(committed, item_id)[0] != "new" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        courier.close()
    assert _state(committed, item_id) == ("new", None)
