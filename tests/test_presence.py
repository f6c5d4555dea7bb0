"""Collision warning: who else has an item open right now, in memory and shared through Redis."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from redis import Redis

from desk.models import utcnow
from desk.work.presence import FRESH, MemoryPresence, RedisPresence
from tests.factories import make_item, make_user
from tests.web import Browser, text


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        return MemoryPresence()
    return RedisPresence(Redis.from_url(request.getfixturevalue("redis_url")))


def test_each_sees_the_others_who_have_the_item_open(store):
    now = utcnow()
    assert store.look(1, 10, now) == []
    [anna] = store.look(1, 20, now + timedelta(seconds=3))
    assert (anna.user_id, anna.since) == (10, now)
    # Anna keeps reporting: she has had it open since she first opened it.
    store.look(1, 10, now + timedelta(seconds=20))
    [anna] = store.look(1, 20, now + timedelta(seconds=25))
    assert anna.since == now and anna.last == now + timedelta(seconds=20)
    [bertil] = store.look(1, 10, now + timedelta(seconds=30))
    assert bertil.user_id == 20
    assert store.look(2, 10, now) == [], "another item is another matter"


def test_a_look_goes_stale_and_a_leave_ends_it_at_once(store):
    now = utcnow()
    store.look(1, 10, now)
    store.look(1, 30, now)
    later = now + FRESH + timedelta(seconds=1)
    assert store.look(1, 20, later) == [], "nobody reported for longer than FRESH"
    # Coming back after the gap starts a new look.
    store.look(1, 10, later)
    [anna] = store.look(1, 20, later + timedelta(seconds=1))
    assert anna.since == later
    store.leave(1, 10)
    assert store.look(1, 20, later + timedelta(seconds=2)) == []


def presence_of(page: str) -> str:
    return re.search(r'<div id="presence".*?</div>', page, re.S).group(0)


def test_the_item_page_warns_who_else_is_looking(app, app_session):
    item = make_item(app_session, queue="omaolo-porvoo", title="Kuumetta")
    anna = make_user(app_session, queues=["omaolo-porvoo"], name="Anna Aalto")
    bertil = make_user(app_session, queues=["omaolo-porvoo"], name="Bertil Berg")
    outsider = make_user(app_session, queues=["social-sipoo"], name="Outi Ulkona")
    first = Browser(app.test_client()).login(anna)
    second = Browser(app.test_client()).login(bertil)

    assert "Tätä asiaa katsoo" not in text(first.get(f"/items/{item.id}"))
    warning = presence_of(text(second.get(f"/items/{item.id}")))
    assert "Tätä asiaa katsoo nyt myös:" in warning and "Anna Aalto" in warning

    # Anna's page asks again: Bertil has arrived; asking with what it already shows gets 204.
    answer = first.get(f"/items/{item.id}/presence?seen=")
    assert answer.status_code == 200 and "Bertil Berg" in text(answer)
    assert first.get(f"/items/{item.id}/presence?seen={bertil.id}").status_code == 204

    # Bertil closes the page: Anna's next ask changes back to nobody.
    assert second.post(f"/items/{item.id}/presence/leave", htmx=False).status_code == 204
    answer = first.get(f"/items/{item.id}/presence?seen={bertil.id}")
    assert answer.status_code == 200 and "Bertil Berg" not in text(answer)

    # Someone outside the item's queue learns nothing, not even that it exists.
    third = Browser(app.test_client()).login(outsider)
    assert third.get(f"/items/{item.id}/presence").status_code == 404
    assert third.post(f"/items/{item.id}/presence/leave", htmx=False).status_code == 404
    assert "Outi Ulkona" not in text(first.get(f"/items/{item.id}/presence"))


def test_without_redis_nobody_is_reported_and_nothing_fails():
    # A port nobody listens on: Redis is down.
    from tests.test_faults import _free_port

    store = RedisPresence(Redis.from_url(f"redis://127.0.0.1:{_free_port()}/0"))
    now = utcnow()
    assert store.look(1, 10, now) == []
    store.leave(1, 10)  # no error: the report ends by going stale
