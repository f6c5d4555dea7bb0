"""Live updates: a committed change is published once on Redis and reaches every open page
of the process through its one subscription."""

from __future__ import annotations

import json
import time

from redis import Redis

from desk import lifecycle
from desk.extensions import db
from desk.live import CHANNEL, Broadcaster
from tests.factories import make_item, make_user


def _subscribed(redis_url: str, timeout: float = 5) -> None:
    redis = Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while dict(redis.pubsub_numsub(CHANNEL)).get(CHANNEL.encode(), 0) < 1:
        assert time.monotonic() < deadline, "the hub never subscribed"
        time.sleep(0.05)
    redis.close()


def test_a_committed_take_reaches_every_listening_page_once(app, committed, redis_url):
    hub = Broadcaster(redis_url)
    pages = [hub.listen() for _ in range(3)]
    _subscribed(redis_url)
    app.config.update(REDIS_URL=redis_url)
    try:
        with app.app_context():
            nurse = make_user(db.session)
            item = make_item(db.session, queue="chat-regional")
            db.session.commit()
            lifecycle.take(db.session, item, nurse)
            db.session.rollback()  # a rolled-back change publishes nothing
            lifecycle.take(db.session, db.session.merge(item), nurse)
            db.session.commit()
            db.session.remove()
    finally:
        app.config.update(REDIS_URL=None)
    for page in pages:
        assert json.loads(page.get(timeout=5)) == {"queues": ["chat-regional"]}
        assert page.empty()


def test_the_event_stream_sends_changes_and_heartbeats(redis_url):
    hub = Broadcaster(redis_url)
    stream = hub.stream()
    assert next(stream) == ": connected\n\n"
    _subscribed(redis_url)
    Redis.from_url(redis_url).publish(CHANNEL, json.dumps({"queues": ["omaolo-porvoo"]}))
    assert next(stream) == 'event: change\ndata: {"queues": ["omaolo-porvoo"]}\n\n'
    stream.close()
    assert hub.listeners == set()


def test_without_redis_there_is_no_stream_and_pages_poll(client, app_session):
    from tests.test_web import Browser

    nurse = make_user(app_session)
    app_session.commit()
    browser = Browser(client).login(nurse)
    assert browser.get("/events").status_code == 404
    page = browser.get("/situation").get_data(as_text=True)
    assert 'hx-trigger="every 20s"' in page and "sse-connect" not in page


def test_a_new_emergency_is_published_with_its_queue(app, committed, redis_url):
    from desk import channels, intake
    from desk.inbound import receive
    from desk.models import InboundDelivery, utcnow

    hub = Broadcaster(redis_url)
    page = hub.listen()
    _subscribed(redis_url)
    payload = {
        "external_id": "p0-live",
        "submitted_at": utcnow().isoformat(),
        "municipality": "sipoo",
        "resident": {"identification": "none"},
        "assessment": {
            "kind": "symptom",
            "code": "chest-pain",
            "title": "Rintakipu",
            "urgency": "P0",
            "recommendation": "Soita 112.",
        },
    }
    app.config.update(REDIS_URL=redis_url)
    try:
        with app.app_context():
            delivery_id = receive(db.session, channels.get("omaolo"), payload).delivery_id
            db.session.commit()
            intake.process(db.session, db.session.get(InboundDelivery, delivery_id))
            db.session.commit()
            db.session.remove()
    finally:
        app.config.update(REDIS_URL=None)
    assert json.loads(page.get(timeout=5)) == {
        "queues": ["omaolo-sipoo"],
        "emergencies": ["omaolo-sipoo"],
    }
