"""Outbound delivery under faults, in the production configuration: PostgreSQL, a Redis of this
module's own, `flask desk worker` and `flask desk scheduler` as real processes, rate limits and
presence on, and a real receiver on loopback (tests/receiver.py). A professional answers through
the item page (POST /items/<id>/messages) while the receiver is down, answers 500s, is too slow,
asks to wait, or is gone; while a worker is killed mid-delivery; while Redis restarts. Afterwards
every message has reached the receiver, in order per item and never under two ids (counted by
webhook-id, as receivers must deduplicate), or has failed with its reason shown on the item.

The contract's retries wait about 5 s, 30 s, 2 min, …: the first 5 s are waited out for real; a
longer wait is made to pass by moving the waiting events' next attempt to now in the database,
as if the wait were over, and the real scheduler's sweep delivers them. (../shared/contract/
outbound.md)"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from desk.models import ItemMessage, OutboundEndpoint, OutboxEvent, Role
from desk.outbound import endpoints
from tests.conftest import PG_URL
from tests.factories import CHANNELS, make_item, make_user
from tests.receiver import HOLD, Receiver
from tests.test_faults_redis import (
    DeskProcess,
    RedisServer,
    production_app,
    wait_until,
    worker_and_scheduler,
)
from tests.web import Browser
from tests.web import text as page_text

_keys = itertools.count()


# --- the production stack, shared by the module's tests -----------------------------------------


@dataclass
class Stack:
    production: object
    redis: RedisServer
    logs: Path
    workers: list[DeskProcess]
    scheduler: DeskProcess

    @property
    def worker(self) -> DeskProcess:
        return self.workers[-1]

    def start_worker(self) -> DeskProcess:
        log = self.logs / f"worker-{len(self.workers)}.log"
        self.workers.append(DeskProcess(["worker"], PG_URL, self.redis.url, log))
        return self.worker

    def output(self) -> str:
        return f"worker:\n{self.worker.output()}\nscheduler:\n{self.scheduler.output()}"


@pytest.fixture(scope="module")
def stack(app, tmp_path_factory):
    """Redis, the production app, one worker and the scheduler: started once for the module
    (a test that kills the worker or Redis leaves a new worker or a restarted Redis behind)."""
    redis = RedisServer()
    logs = tmp_path_factory.mktemp("outbound-faults")
    try:
        with (
            production_app(app, PG_URL, redis.url) as production,
            worker_and_scheduler(PG_URL, redis.url, logs) as (worker, scheduler),
        ):
            stack = Stack(production, redis, logs, [worker], scheduler)
            try:
                yield stack
            finally:
                for later in stack.workers[1:]:
                    later.stop()
    finally:
        redis.stop()


@dataclass
class Desk:
    """One test's receiver, its endpoint for the chat channel, and a signed-in nurse."""

    stack: Stack
    engine: object
    receiver: Receiver
    endpoint_id: int
    secret: str
    browser: Browser


@pytest.fixture
def desk(stack, committed, request):
    receiver = Receiver()
    with Session(committed, expire_on_commit=False) as s:
        assert endpoints.for_channel(s, "chat") is None, "an earlier test left its endpoint"
        endpoint, secret = endpoints.register(
            s, request.node.name[:120], receiver.url, ["chat"], CHANNELS.names()
        )
        nurse = make_user(s, queues=["chat-regional"], name="Hanna Hoitaja")
        s.commit()
    browser = Browser(stack.production.test_client()).login(nurse)
    try:
        yield Desk(stack, committed, receiver, endpoint.id, secret, browser)
    finally:
        receiver.close()
        with committed.begin() as c:  # the work tables are emptied by `committed`; not this
            c.execute(text("DELETE FROM outbox_event WHERE endpoint_id = :id"), {"id": endpoint.id})
            c.execute(text("DELETE FROM outbound_endpoint WHERE id = :id"), {"id": endpoint.id})


# --- what a professional does -------------------------------------------------------------------


def new_chat(desk: Desk) -> int:
    """A chat in the nurse's queue, taken by her through the item page (the source system is
    told: item.updated)."""
    with Session(desk.engine) as s:
        item = make_item(s, queue="chat-regional", channel="chat")
        s.commit()
        item_id = item.id
    assert desk.browser.post(f"/items/{item_id}/take").status_code == 200
    return item_id


def send(desk: Desk, item_id: int, words: str) -> None:
    """A reply in the chat, posted from the item page's message box."""
    form = {"kind": "reply", "text": words, "key": f"k{next(_keys)}"}
    answer = desk.browser.post(f"/items/{item_id}/messages", form)
    assert answer.status_code == 200, page_text(answer)[:2000]


def conversation(desk: Desk, item_id: int) -> str:
    return page_text(desk.browser.get(f"/items/{item_id}/conversation"))


# --- what happened ------------------------------------------------------------------------------


def events(desk: Desk, item_ids: Iterable[int]) -> list[OutboxEvent]:
    """The items' outbox events in the order they were made."""
    with Session(desk.engine) as s:
        return list(
            s.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.item_id.in_(list(item_ids)))
                .order_by(OutboxEvent.seq)
            )
        )


def heads(desk: Desk, item_ids: Iterable[int]) -> dict[int, OutboxEvent]:
    """Each item's first undelivered event."""
    found: dict[int, OutboxEvent] = {}
    for event in events(desk, item_ids):
        if event.state == "pending":
            found.setdefault(event.item_id, event)
    return found


def message(desk: Desk, words: str) -> ItemMessage:
    with Session(desk.engine) as s:
        return s.scalar(select(ItemMessage).where(ItemMessage.text == words))


def endpoint(desk: Desk) -> OutboundEndpoint:
    with Session(desk.engine) as s:
        return s.get(OutboundEndpoint, desk.endpoint_id)


def as_if_waited(desk: Desk, item_ids: Iterable[int]) -> int:
    """Make the waits of the items' waiting events pass (not a Retry-After's): their next
    attempt is now, as if the schedule's 30 s, 2 min, … were over. How many were moved."""
    with desk.engine.begin() as c:
        return c.execute(
            text(
                "UPDATE outbox_event SET next_attempt_at = now() WHERE state = 'pending' "
                "AND next_attempt_at > now() AND held_until IS NULL AND item_id = ANY(:ids)"
            ),
            {"ids": list(item_ids)},
        ).rowcount


def delivered(desk: Desk, item_ids: list[int], timeout: float = 30) -> float:
    """Wait until every event of the items is delivered, then check what the receiver got;
    the seconds it took."""

    def unfinished() -> str:
        rows = [(e.id, e.state, e.attempts, e.last_error) for e in events(desk, item_ids)]
        return f"not delivered: {rows}\n{desk.stack.output()}"

    took = wait_until(
        lambda: all(e.state == "delivered" for e in events(desk, item_ids)), timeout, unfinished
    )
    check_received(desk, item_ids)
    return took


def check_received(desk: Desk, item_ids: list[int]) -> dict[str, dict]:
    """What the receiver took, deduplicated by webhook-id as the contract asks of receivers
    (the first copy of each id, in the order they arrived): every copy signed and the same
    bytes, each message under its own id only, and each item's delivered events in the order
    they were made, nothing else. The documents by id."""
    bodies: dict[str, bytes] = {}
    for got in list(desk.receiver.received):
        headers = {
            "webhook-id": got.id,
            "webhook-timestamp": got.timestamp,
            "webhook-signature": got.signature,
        }
        Webhook(desk.secret).verify(got.body, headers)
        assert bodies.setdefault(got.id, got.body) == got.body, f"{got.id} came with two bodies"
    taken = {webhook_id: json.loads(body) for webhook_id, body in bodies.items()}
    said = [d["data"]["text"] for d in taken.values() if d["type"] == "message.created"]
    assert len(said) == len(set(said)), "a message arrived under two ids"
    assert all(
        d["data"]["message_id"] == webhook_id
        for webhook_id, d in taken.items()
        if d["type"] == "message.created"
    )
    made = events(desk, item_ids)
    for item_id in item_ids:
        arrived = [i for i, d in taken.items() if d["data"]["item_id"] == str(item_id)]
        expected = [e.id for e in made if e.item_id == item_id and e.state == "delivered"]
        assert arrived == expected, f"item {item_id}: arrived {arrived}, made {expected}"
    return taken


def copies(desk: Desk, webhook_id: str) -> int:
    return sum(1 for got in list(desk.receiver.received) if got.id == webhook_id)


def states(page: str) -> dict[str, int]:
    """How many of the conversation's messages the page shows in each delivery state."""
    return {
        state: page.count(f"message-state message-state-{state}")
        for state in ("queued", "sent", "failed")
    }


# --- the receiver down, failing, slow, asking to wait, gone ---------------------------------------


def test_ten_messages_sent_while_the_receiver_is_down_arrive_in_order_once_it_is_back(desk):
    chat, other = new_chat(desk), new_chat(desk)
    delivered(desk, [chat, other])  # the takes
    desk.receiver.stop()
    said = [f"Viesti {n} asukkaalle" for n in range(10)]
    for words in said:
        send(desk, chat, words)
    send(desk, other, "Toisen asian viesti")
    # Refused: each item's first message is tried, then again after the real ~5 s wait; the
    # others wait behind it.
    wait_until(
        lambda: all(h.attempts >= 2 for h in heads(desk, [chat, other]).values()),
        40,
        lambda: f"{heads(desk, [chat, other])}\n{desk.stack.output()}",
    )
    waiting = events(desk, [chat])
    assert "ConnectError" in waiting[1].last_error and waiting[1].attempts >= 2
    assert {e.attempts for e in waiting[2:]} == {0}
    assert states(conversation(desk, chat)) == {"queued": 10, "sent": 0, "failed": 0}

    desk.receiver.start()
    # The next waits are 30 s and more: as if they were over (only the first of each item
    # waits for a time; the rest wait for it).
    assert as_if_waited(desk, [chat, other]) == 2
    delivered(desk, [chat, other])
    assert states(conversation(desk, chat)) == {"queued": 0, "sent": 10, "failed": 0}
    taken = check_received(desk, [chat, other]).values()
    replies = [d["data"] for d in taken if d["type"] == "message.created"]
    assert [r["text"] for r in replies if r["item_id"] == str(chat)] == said


def test_a_receiver_answering_500s_gets_everything_on_the_5_second_retry(desk):
    desk.receiver.status = 500
    chat, other = new_chat(desk), new_chat(desk)
    send(desk, chat, "Kuinka voit?")
    send(desk, chat, "Onko kuumetta?")
    send(desk, other, "Hei!")
    wait_until(
        lambda: all(h.attempts >= 1 for h in heads(desk, [chat, other]).values()),
        20,
        desk.stack.output,
    )
    assert endpoint(desk).last_failure.startswith("500 INTERNAL SERVER ERROR")
    assert states(conversation(desk, chat))["queued"] == 2
    first = heads(desk, [chat])[chat]
    desk.receiver.status = 204
    # Nothing moved in the database: the schedule's own retry, about 5 s later, delivers.
    delivered(desk, [chat, other], timeout=30)
    tries = desk.receiver.tries(first.id)
    assert [t.status for t in tries][-2:] == [500, 204] and len(tries) <= 3
    assert all(4.4 <= b.at - a.at <= 20 for a, b in itertools.pairwise(tries))
    assert states(conversation(desk, chat)) == {"queued": 0, "sent": 2, "failed": 0}


def test_a_receiver_slower_than_10_seconds_is_tried_again_and_deduplicates(desk):
    chat = new_chat(desk)
    delivered(desk, [chat])
    desk.receiver.script = [(204, {}, 11)]  # answers, but after the contract's 10 s
    send(desk, chat, "Ensimmäinen")
    send(desk, chat, "Toinen")
    slow = message(desk, "Ensimmäinen")
    wait_until(
        lambda: heads(desk, [chat])[chat].attempts >= 1,
        30,
        desk.stack.output,
    )
    head = heads(desk, [chat])[chat]
    assert head.id == slow.id and head.last_error == "no answer within 10 s"
    # The test above waits for the real 5 s retry; here it is as if it were over.
    assert as_if_waited(desk, [chat]) == 1
    delivered(desk, [chat], timeout=30)
    # The receiver finished the slow request after the desk had given up on it: it has that
    # message twice, under its one id.
    wait_until(lambda: copies(desk, slow.id) == 2, 10, "the slow copy never arrived")
    check_received(desk, [chat])
    assert message(desk, "Ensimmäinen").state == "sent"


def test_429_with_retry_after_is_not_tried_again_before_it(desk):
    chat = new_chat(desk)
    delivered(desk, [chat])
    desk.receiver.script = [(429, {"Retry-After": "8"}, 0)]
    send(desk, chat, "Hei, tässä ohjeet")
    asked = message(desk, "Hei, tässä ohjeet")
    wait_until(lambda: desk.receiver.tries(asked.id), 20, desk.stack.output)
    wait_until(lambda: heads(desk, [chat])[chat].attempts == 1, 10, desk.stack.output)
    head = heads(desk, [chat])[chat]
    assert (head.next_attempt_at - head.last_attempt_at).total_seconds() == 8
    assert head.held_until == head.next_attempt_at
    # Past the schedule's own 5 s (± 10 %), another message wakes the item's delivery: the
    # first still waits for the receiver's 8 s, and the second waits behind it.
    refused_at = desk.receiver.tries(asked.id)[0].at
    time.sleep(max(0.0, refused_at + 6 - time.monotonic()))
    send(desk, chat, "Ja vielä yksi asia")
    delivered(desk, [chat], timeout=30)
    tries = desk.receiver.tries(asked.id)
    assert [t.status for t in tries] == [429, 204]
    assert tries[1].at - tries[0].at >= 7.9


def test_410_fails_the_message_disables_the_endpoint_and_tells_administrators(desk):
    with Session(desk.engine, expire_on_commit=False) as s:
        admin = make_user(s, role=Role.ADMIN.value, queues=None, name="Aino Ylläpitäjä")
        s.commit()
    chat = new_chat(desk)
    delivered(desk, [chat])
    # The receiver keeps the first message until the second is queued behind it; then 410.
    desk.receiver.script = [(HOLD, 410)]
    send(desk, chat, "Viesti, joka ei mene perille")
    assert desk.receiver.holding.wait(30), desk.stack.output()
    send(desk, chat, "Toinen viesti")
    desk.receiver.release.set()
    gone = message(desk, "Viesti, joka ei mene perille")
    wait_until(lambda: message(desk, gone.text).state == "failed", 20, lambda: desk.stack.output())
    assert message(desk, gone.text).failure == "410 GONE: refused with 410"
    disabled = endpoint(desk)
    assert not disabled.enabled and endpoints.is_gone(disabled)
    page = conversation(desk, chat)
    assert states(page) == {"queued": 1, "sent": 0, "failed": 1}
    assert "410 GONE: refused with 410" in page
    # The professional is told why the one behind it stays queued.
    assert "Lähdejärjestelmä ei nyt ota viestejä vastaan" in page
    # Nothing more goes: the chat cannot be answered, and what waited is not sent.
    refused = desk.browser.post(
        f"/items/{chat}/messages", {"kind": "reply", "text": "Kolmas", "key": "after-410"}
    )
    assert refused.status_code == 409
    attempts = desk.receiver.attempts
    time.sleep(6)  # longer than the sweep's 5 s
    assert desk.receiver.attempts == attempts
    assert message(desk, "Toinen viesti").state == "queued"
    # Administrators see it on every page (the navigation) and on the endpoints' page.
    administrator = Browser(desk.stack.production.test_client()).login(admin)
    listing = page_text(administrator.get("/admin/endpoints/"))
    assert "410 Gone" in listing and disabled.name in listing
    navigation = r'href="/admin/endpoints/"[^>]*>[^<]*<span class="badge badge-warning">'
    assert re.search(navigation, page_text(administrator.get("/work")))
    check_received(desk, [chat])


# --- the desk's own processes failing ----------------------------------------------------------


def test_a_worker_killed_mid_delivery_leaves_the_message_for_another_worker(desk):
    chat = new_chat(desk)
    delivered(desk, [chat])
    desk.receiver.script = [HOLD]
    send(desk, chat, "Hetki, tarkistan")
    caught = message(desk, "Hetki, tarkistan")
    assert desk.receiver.holding.wait(30), desk.stack.output()
    killed = desk.stack.worker
    os.killpg(killed.process.pid, signal.SIGKILL)
    killed.process.wait()
    desk.receiver.release.set()  # the receiver took it; its answer reaches nobody
    send(desk, chat, "Nyt tiedän")
    with Session(desk.engine) as s:
        row = s.scalar(select(OutboxEvent).where(OutboxEvent.id == caught.id))
        assert (row.state, row.attempts) == ("pending", 0), "the attempt died with the worker"
    desk.stack.start_worker()
    delivered(desk, [chat], timeout=60)  # a worker starts slowly on a loaded machine
    # At least once: the killed attempt's copy and the new one, under the one id.
    wait_until(lambda: copies(desk, caught.id) == 2, 10, "the held copy never arrived")
    check_received(desk, [chat])
    assert message(desk, caught.text).state == "sent"


def test_messages_sent_while_redis_restarts_are_all_delivered(desk):
    stack = desk.stack
    chat, other = new_chat(desk), new_chat(desk)
    delivered(desk, [chat, other])
    desk.receiver.script = [HOLD]
    send(desk, chat, "Katkon alkaessa")
    assert desk.receiver.holding.wait(30), stack.output()
    stack.redis.kill()  # while the worker is delivering that message
    desk.receiver.release.set()
    for words in ("Katkon aikana 1", "Katkon aikana 2"):
        send(desk, chat, words)
    send(desk, other, "Katkon aikana 3")
    time.sleep(2)
    assert {e.state for e in events(desk, [chat, other])} == {"delivered", "pending"}
    stack.redis.restart()  # empty: no job survived
    send(desk, other, "Katkon jälkeen")
    delivered(desk, [chat, other], timeout=45)
    assert stack.worker.running and stack.scheduler.running, stack.output()
    assert states(conversation(desk, chat)) == {"queued": 0, "sent": 3, "failed": 0}
    assert states(conversation(desk, other)) == {"queued": 0, "sent": 2, "failed": 0}


# --- an endpoint's recovery ---------------------------------------------------------------------


def test_a_receiver_back_after_ten_minutes_gets_its_backlog_without_waiting_for_the_schedule(
    desk, capsys
):
    chats = [new_chat(desk) for _ in range(3)]
    delivered(desk, chats)
    desk.receiver.stop()
    for n, chat in enumerate(chats):
        send(desk, chat, f"Asia {n}: ensimmäinen")
        send(desk, chat, f"Asia {n}: toinen")
    wait_until(
        lambda: all(h.attempts >= 1 for h in heads(desk, chats).values()), 20, desk.stack.output
    )
    # As if the receiver had been down ten minutes: each item's first message tried four
    # times, the last 40 s ago, and waiting ten minutes more; the last success 11 minutes ago.
    with desk.engine.begin() as c:
        ids = [h.id for h in heads(desk, chats).values()]
        c.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids))
            .values(
                attempts=4,
                last_attempt_at=text("now() - interval '40 seconds'"),
                next_attempt_at=text("now() + interval '10 minutes'"),
            )
        )
        c.execute(
            update(OutboundEndpoint)
            .where(OutboundEndpoint.id == desk.endpoint_id)
            .values(
                last_failure_at=text("now() - interval '40 seconds'"),
                last_success_at=text("now() - interval '11 minutes'"),
            )
        )
    before = len(desk.receiver.log)
    desk.receiver.start()
    # No new message, nothing moved: the sweep's probe finds the receiver back, and its
    # success sends the endpoint's other waiting messages at once.
    took = delivered(desk, chats, timeout=25)
    with capsys.disabled():
        print(f"\nbacklog of 6 messages on 3 items delivered {took:.1f} s after the return")
    # One probe (the sweep's, every 10 s at most) and then all the rest at once, not one
    # probe after another.
    arrivals = [a.at for a in desk.receiver.log[before:]]
    assert len(arrivals) == 6 and max(arrivals) - min(arrivals) < 15
