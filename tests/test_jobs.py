"""The worker path: a stored delivery is routed by an rq job on real Redis."""

from __future__ import annotations

import uuid

from redis import Redis
from rq import SimpleWorker
from sqlalchemy.orm import Session

from desk.extensions import db
from desk.models import InboundDelivery, WorkItem
from desk.tasks import QUEUE_NAME, enqueue, job_queue
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
