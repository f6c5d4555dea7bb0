"""Live updates: a committed change is published once on Redis and reaches every open page
of the process through its one subscription."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator

from redis import Redis
from sqlalchemy import select

from desk.extensions import db
from desk.live import CHANNEL, Broadcaster
from desk.models import Queue, User, WorkItem
from desk.work import lifecycle
from tests.factories import make_item, make_user, p0_delivery
from tests.live import deliver


def _subscribed(redis_url: str, hub: Broadcaster, timeout: float = 5) -> None:
    """Until `hub`'s subscription is in place: its own flag (its SUBSCRIBE sent), the
    server's count of subscribers, then a moment for the server to have read it. (The count
    alone may be another hub's, one a test before closed, whose connection the server drops
    a moment later: a change published then reached nobody.)"""
    redis = Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while not hub.subscribed or dict(redis.pubsub_numsub(CHANNEL)).get(CHANNEL.encode(), 0) < 1:
        assert time.monotonic() < deadline, "the hub never subscribed"
        time.sleep(0.05)
    redis.close()
    time.sleep(0.05)


@contextlib.contextmanager
def _publishing(app, redis_url: str, pages: int = 1) -> Iterator[list]:
    """`pages` pages listening to a hub of their own, and the app, in its context, publishing
    what it commits."""
    hub = Broadcaster(redis_url)
    listening = [hub.listen() for _ in range(pages)]
    _subscribed(redis_url, hub)
    app.config.update(REDIS_URL=redis_url)
    try:
        with app.app_context():
            yield listening
            db.session.remove()
    finally:
        app.config.update(REDIS_URL=None)


def test_a_committed_take_reaches_every_listening_page_once(app, committed, redis_url):
    with _publishing(app, redis_url, pages=3) as pages:
        nurse = make_user(db.session)
        item = make_item(db.session, queue="chat-regional")
        db.session.commit()
        nurse_id = nurse.id
        lifecycle.take(db.session, item, nurse)
        db.session.rollback()  # a rolled-back change publishes nothing
        lifecycle.take(db.session, db.session.merge(item), nurse)
        db.session.commit()
    for page in pages:
        # The queue (and in it, items of which municipality: here none), and whose items held
        # changed (the nurse's "items I hold"): no resident data.
        assert json.loads(page.get(timeout=5)) == {
            "queues": ["chat-regional"],
            "places": [["chat-regional", None]],
            "people": [nurse_id],
        }
        assert page.empty()


def test_a_change_names_every_queue_and_municipality_its_item_is_or_was_in(
    app, committed, redis_url
):
    """The stream reads again only the parts of its lists that a change names (a queue and
    a municipality: desk.work.worklist.Shelf), so a change names where its item is and
    where it was: also when the item moved in an earlier flush of the transaction than its
    event's, and when it was moved without being read first."""
    with _publishing(app, redis_url) as (page,):
        lead = make_user(
            db.session,
            role="team_lead",
            queues=["chat-regional", "omaolo-porvoo"],
            municipalities=["porvoo", "sipoo"],
        )
        item = make_item(db.session, queue="chat-regional", municipality="porvoo")
        db.session.commit()
        lead_id = lead.id
        lifecycle.transfer(db.session, item, lead, db.session.get(Queue, "omaolo-porvoo"), "x")
        db.session.commit()
        item.municipality_code = "sipoo"  # expired by the commit: not read before
        db.session.flush()
        lifecycle.take(db.session, item, lead)
        db.session.commit()
    assert json.loads(page.get(timeout=5)) == {
        "queues": ["chat-regional", "omaolo-porvoo"],
        "places": [["chat-regional", "porvoo"], ["omaolo-porvoo", "porvoo"]],
    }
    assert json.loads(page.get(timeout=5)) == {
        "queues": ["omaolo-porvoo"],
        "places": [["omaolo-porvoo", "porvoo"], ["omaolo-porvoo", "sipoo"]],
        "people": [lead_id],
    }
    assert page.empty()


def test_the_event_stream_sends_changes_and_heartbeats(redis_url):
    hub = Broadcaster(redis_url)
    stream = hub.stream()
    assert next(stream) == ": connected\n\n"
    _subscribed(redis_url, hub)
    Redis.from_url(redis_url).publish(CHANNEL, json.dumps({"queues": ["omaolo-porvoo"]}))
    assert next(stream) == 'event: change\ndata: {"queues": ["omaolo-porvoo"]}\n\n'
    stream.close()
    assert hub.listeners == set()


def test_without_redis_there_is_no_stream_and_pages_poll(client, app_session):
    from tests.web import Browser

    nurse = make_user(app_session)
    app_session.commit()
    browser = Browser(client).login(nurse)
    assert browser.get("/events").status_code == 404
    page = browser.get("/situation").get_data(as_text=True)
    assert 'hx-trigger="every 15s"' in page and "sse-connect" not in page


def test_a_new_emergency_is_published_with_its_queue(app, committed, redis_url):
    with _publishing(app, redis_url) as (page,):
        deliver(db.session, "omaolo", p0_delivery("p0-live"))
        db.session.commit()
    assert json.loads(page.get(timeout=5)) == {
        "queues": ["omaolo-sipoo"],
        "places": [["omaolo-sipoo", "sipoo"]],
        "emergencies": ["omaolo-sipoo"],
    }


def test_one_gevent_worker_streams_to_hundreds_of_pages_and_still_serves(app, committed, redis_url):
    """The stream as served in production (README): gunicorn, one gevent worker. Far more
    pages listen than a thread pool has threads, every one gets the change, and the same
    worker still answers ordinary requests at once."""
    import urllib.request

    from bench.live import Pages, sign_in, stream_server
    from tests.conftest import PG_URL
    from tests.factories import PASSWORD

    with app.app_context():
        nurse = make_user(db.session, queues=["chat-regional"])
        item = make_item(db.session, queue="chat-regional")
        db.session.commit()
        username, item_id, nurse_id = nurse.username, item.id, nurse.id
        db.session.remove()

    with stream_server(PG_URL, redis_url, 5089, "test-secret") as base:
        pages = Pages(base, sign_in(base, username, PASSWORD), 300)
        pages.open(timeout=60)
        try:
            started = time.monotonic()
            with urllib.request.urlopen(base + "/login", timeout=5) as response:  # noqa: S310
                assert response.status == 200
            assert time.monotonic() - started < 2, "the streams tie up the worker"

            app.config.update(REDIS_URL=redis_url)
            try:
                with app.app_context():
                    lifecycle.take(
                        db.session,
                        db.session.get(WorkItem, item_id),
                        db.session.scalar(select(User).where(User.username == username)),
                    )
                    db.session.commit()
                    db.session.remove()
            finally:
                app.config.update(REDIS_URL=None)
            pages.wait_for(1, timeout=10)
        finally:
            pages.close()
    change = {
        "queues": ["chat-regional"],
        "places": [["chat-regional", None]],
        "people": [nurse_id],
    }
    assert all(json.loads(p[0][1]) == change for p in pages.arrivals)


def test_the_live_fragment_is_rendered_once_per_change_for_the_same_view(
    app, committed, redis_url, monkeypatch
):
    """Pages re-fetch the numbers after every change; with Redis, everyone who sees the same
    queues gets one rendering until the next committed change, and nobody another's numbers."""
    import re

    from desk import live
    from tests.web import Browser

    # All within one window of time (a new window renders afresh, by design).
    monkeypatch.setattr(live, "_window", lambda: 1)

    with app.app_context():
        first = make_user(db.session, queues=["chat-regional"])
        second = make_user(db.session, queues=["chat-regional"])
        elsewhere = make_user(db.session, queues=["omaolo-porvoo"])
        item = make_item(db.session, queue="chat-regional")
        db.session.commit()
        users, item_id = (first, second, elsewhere), item.id
        for user in users:
            user.username  # noqa: B018 (loaded before the session goes)

    def number(browser, state: str) -> str:
        page = browser.get("/situation", headers={"HX-Request": "true"}).get_data(as_text=True)
        found = re.search(rf'id="n-all-{state}"[^>]*>(\d+)<', page)
        return found.group(1) if found else "0"

    app.config.update(REDIS_URL=redis_url)
    try:
        pages = [Browser(app.test_client()).login(u) for u in users]
        redis = Redis.from_url(redis_url)
        redis.delete(*redis.keys("desk:fragment:*"))  # My work's lists, where they signed in
        assert number(pages[0], "waiting") == "1"
        assert len(Redis.from_url(redis_url).keys("desk:fragment:*")) == 1
        assert number(pages[1], "waiting") == "1"  # the same view: the same rendering
        assert len(Redis.from_url(redis_url).keys("desk:fragment:*")) == 1
        with app.app_context():
            lifecycle.take(
                db.session, db.session.get(WorkItem, item_id), db.session.merge(users[0])
            )
            db.session.commit()
            db.session.remove()
        assert number(pages[1], "in_progress") == "1", "a committed change ends the sharing"
        assert number(pages[1], "waiting") == "0"
        other = pages[2].get("/situation", headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "chat-regional" not in other
    finally:
        app.config.update(REDIS_URL=None)


def test_the_broadcaster_subscribes_again_after_redis_restarts_and_pages_catch_up():
    from tests.test_faults import _free_port, _start_redis

    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = _start_redis(port)
    hub = Broadcaster(url)
    try:
        page = hub.listen()
        _subscribed(url, hub)
        server.kill()
        server.wait()
        time.sleep(1)  # the hub meets the outage
        server = _start_redis(port)
        _subscribed(url, hub, timeout=15)
        # First a change naming no queue: whatever changed meanwhile is fetched again.
        assert json.loads(page.get(timeout=5)) == {"queues": []}
        publisher = Redis.from_url(url)
        publisher.publish(CHANNEL, json.dumps({"queues": ["omaolo-porvoo"]}))
        publisher.close()
        assert json.loads(page.get(timeout=5)) == {"queues": ["omaolo-porvoo"]}
    finally:
        server.kill()
        server.wait()
        hub.close()


def test_a_subscription_that_hears_nothing_checks_and_subscribes_again():
    # Redis stalls (a half-open connection looks the same): the ping goes unanswered.
    import os
    import signal

    from tests.test_faults import _free_port, _start_redis

    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = _start_redis(port)
    hub = Broadcaster(url)
    hub.ping_seconds = 0.5
    try:
        page = hub.listen()
        _subscribed(url, hub)
        time.sleep(2)
        assert page.empty()  # a quiet line that answers its pings is left alone
        os.kill(server.pid, signal.SIGSTOP)
        time.sleep(2)
        os.kill(server.pid, signal.SIGCONT)
        assert json.loads(page.get(timeout=15)) == {"queues": []}
    finally:
        server.kill()
        server.wait()
        hub.close()
