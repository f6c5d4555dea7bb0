"""Delivering the outbox after the commit (desk.outbound.delivery).

A commit that wrote outbox events wakes delivery for their items: an rq job per item with Redis;
without it (the embedded default) a thread of the app's own, or, where the configuration says
so (the tests), the request itself once its answer is ready. The sweep (every few seconds)
delivers whatever is due and was not woken: a retry's time come, a worker killed mid-attempt,
Redis down at the commit, a failing endpoint's probe. An attempt that finds a receiver back
after a while wakes delivery for the endpoint's other waiting items. Each attempt is its own
transaction.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from functools import cache

import httpx
from flask import Flask, current_app, g, has_app_context, has_request_context
from redis.exceptions import RedisError
from sqlalchemy import event, exists, select
from sqlalchemy.orm import Session, aliased

from ..extensions import channel_registry, db
from ..models import EventState, OutboundEndpoint, OutboxEvent, utcnow
from ..outbound import delivery, messages
from ..outbound.outbox import PENDING_ITEMS
from . import enqueue

log = logging.getLogger(__name__)
#: how often the app's own delivery thread looks for events due again (embedded default),
#: and for requests for more information that lapsed
THREAD_SWEEP_SECONDS = 5.0
THREAD_LAPSE_SECONDS = 60.0
BATCH = 1000


@cache
def _client() -> httpx.Client:
    """One HTTP client per process: its connections to the receivers are reused."""
    return httpx.Client(follow_redirects=False, timeout=delivery.TIMEOUT)


def deliver_item(item_id: int) -> int:
    """Deliver the item's due events in order, one transaction per attempt; stop at the first
    that is not due or fails (the later ones wait behind it). Returns how many went."""
    sent = 0
    while True:
        try:
            found = delivery.next_event(db.session, item_id, lock=True)
            if found is None and _pending(item_id):
                # PostgreSQL: a row that changed while this waited for its lock drops out of a
                # locked, limited query; the next one is there.
                db.session.commit()
                continue
            now = utcnow()
            if found is None or not delivery.ready(found, now):
                db.session.commit()
                return sent
            outcome = delivery.post(_client(), found.endpoint, found, now)
            delivery.settle(db.session, found, outcome, utcnow())
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        if not outcome.delivered:
            return sent
        sent += 1


def _pending(item_id: int) -> bool:
    return (
        db.session.scalar(
            select(OutboxEvent.seq)
            .where(OutboxEvent.item_id == item_id, OutboxEvent.state == EventState.PENDING.value)
            .limit(1)
        )
        is not None
    )


def due_items(limit: int = BATCH) -> list[int]:
    """Items whose next event (the first undelivered) is due for an attempt at an enabled
    endpoint, the longest due first; among them a probe of each failing endpoint that nothing
    was tried at for a while. Events waiting behind one that waits for its retry are not
    handed over every sweep for nothing, and `limit` counts items, not their events."""
    try:
        delivery.probe(db.session, utcnow())
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    earlier = aliased(OutboxEvent)
    items = db.session.scalars(
        select(OutboxEvent.item_id)
        .join(OutboundEndpoint, OutboundEndpoint.id == OutboxEvent.endpoint_id)
        .where(
            OutboxEvent.state == EventState.PENDING.value,
            OutboxEvent.next_attempt_at <= utcnow(),
            OutboundEndpoint.enabled.is_(True),
            ~exists().where(
                earlier.item_id == OutboxEvent.item_id,
                earlier.state == EventState.PENDING.value,
                earlier.seq < OutboxEvent.seq,
            ),
        )
        .order_by(OutboxEvent.next_attempt_at)
        .limit(limit)
    ).all()
    db.session.commit()
    return list(items)


def sweep_outbox() -> int:
    """Hand every item with a due event to delivery; returns how many items."""
    items = due_items()
    for item_id in items:
        _hand_over(item_id)
    return len(items)


def lapse_requests() -> int:
    """Requests for more information past their answer-by date come back "no answer"."""
    try:
        items = messages.lapse_requests(db.session, channel_registry())
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return len(items)


def _hand_over(item_id: int) -> None:
    if current_app.config["DESK_JOBS_INLINE"]:
        deliver_item(item_id)
    else:
        enqueue(deliver_item, item_id)


# --- waking delivery after a commit -------------------------------------------------------------


class Courier:
    """The embedded default's delivery: one thread of the app's own, so a slow receiver never
    holds up a professional's click, and an item's events go one after another. It also
    delivers what comes due again every THREAD_SWEEP_SECONDS, brings back the items whose
    next call is due (desk.tasks.calls), and keeps the situation view's counts
    (desk.tasks.counts)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.woken: queue.Queue[int | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True, name="desk-outbox")
        self.started = threading.Lock()

    def wake(self, item_ids) -> None:
        with self.started:
            if not self.thread.is_alive() and self.thread.ident is None:
                self.thread.start()
        for item_id in item_ids:
            self.woken.put(item_id)

    def close(self) -> None:
        if self.thread.is_alive():
            self.woken.put(None)
            self.thread.join(timeout=15)

    def _run(self) -> None:
        from ..work.counts import FOLD_SECONDS, RECONCILE_SECONDS
        from .calls import RETRY_SWEEP_SECONDS, return_retries
        from .counts import fold_counts, reconcile_counts

        # The periodic work: [every so many seconds, the job, when it last succeeded]; the
        # kept counts' a while after the start. A job that fails is tried again next pass.
        start = time.monotonic()
        periodic = [
            [RETRY_SWEEP_SECONDS, return_retries, 0.0],
            [THREAD_LAPSE_SECONDS, lapse_requests, 0.0],
            [FOLD_SECONDS, fold_counts, start],
            [RECONCILE_SECONDS, reconcile_counts, start],
        ]
        while True:
            items = set()
            try:
                first = self.woken.get(timeout=THREAD_SWEEP_SECONDS)
                if first is None:
                    return
                items.add(first)
                while not self.woken.empty():
                    more = self.woken.get_nowait()
                    if more is None:
                        return
                    items.add(more)
            except queue.Empty:
                pass
            with self.app.app_context():
                try:
                    for item_id in sorted(items):
                        self._deliver(item_id)
                    for item_id in due_items():
                        self._deliver(item_id)
                    for job in periodic:
                        every, work, last = job
                        if time.monotonic() - last > every:
                            try:
                                work()
                                job[2] = time.monotonic()
                            except Exception:
                                log.exception("%s failed; tried again in a moment", work.__name__)
                            finally:
                                db.session.remove()
                except Exception:
                    log.exception("outbox delivery failed; tried again in a moment")
                finally:
                    db.session.remove()

    @staticmethod
    def _deliver(item_id: int) -> None:
        """One item's delivery; its failure is logged and never holds up the items after it
        (the sweep tries it again)."""
        try:
            deliver_item(item_id)
        except Exception:
            log.exception("outbox delivery of item %s failed; tried again in a moment", item_id)
        finally:
            db.session.remove()


def _woken_after_commit(session: Session) -> None:
    items = session.info.pop(PENDING_ITEMS, None)
    if not items or not has_app_context():
        return
    app = current_app._get_current_object()
    if not app.config["DESK_JOBS_INLINE"]:
        try:
            for item_id in sorted(items):
                enqueue(deliver_item, item_id)
        except RedisError:  # the sweep delivers them once Redis is back
            log.debug("Redis unavailable; outbox events of %s left for the sweep", items)
        return
    courier = app.extensions.get("desk.courier")
    if courier is not None:
        courier.wake(sorted(items))
    elif has_request_context():
        g.setdefault("desk_outbox_items", set()).update(items)


def _deliver_after_request(response):
    """Where no thread delivers (the tests' configuration): the request delivers its own
    events once its answer is ready, in the same order as the thread would."""
    items = g.pop("desk_outbox_items", None)
    for item_id in sorted(items or ()):
        try:
            deliver_item(item_id)
        except Exception:
            log.exception("outbox delivery of item %s failed; the sweep tries again", item_id)
    return response


def init_app(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _woken_after_commit):
        event.listen(Session, "after_commit", _woken_after_commit)
        event.listen(Session, "after_soft_rollback", lambda s, t: s.info.pop(PENDING_ITEMS, None))
    if app.config["DESK_JOBS_INLINE"] and app.config.get("DESK_OUTBOX_THREAD", True):
        courier = app.extensions["desk.courier"] = Courier(app)
        # Started by the first request a server answers (not by a command that only makes the
        # app): from then on it also delivers what an earlier run left due.
        app.before_request(lambda: courier.wake(()))
    app.after_request(_deliver_after_request)
