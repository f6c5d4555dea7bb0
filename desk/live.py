"""Live updates: a committed change publishes a small event on Redis; each server process
holds one subscription and fans events out to its open pages over Server-Sent Events.

Without Redis (the embedded default) nothing is published and pages poll.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator

from flask import Flask, current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from .models import ItemEvent, ItemMessage
from .training import spaces
from .work.presence import MemoryPresence, RedisPresence

CHANNEL = "desk:changes"
#: counts committed changes; a cached live fragment is good until it moves
GENERATION = "desk:generation"
#: how long a cached fragment may be reused while nothing changes (deadlines move with time)
FRAGMENT_SECONDS = 15
HEARTBEAT_SECONDS = 15
#: how long the subscription may hear nothing before it checks that Redis is still there
PING_SECONDS = 30
#: sent to every page after the subscription was lost and made again: fetch what you missed
RESYNC = json.dumps({"queues": []})
log = logging.getLogger(__name__)
_CHANGES = "desk_changed_queues"
_EMERGENCIES = "desk_emergency_queues"
_ITEMS = "desk_conversation_items"
#: the events after which an open item page shows its conversation again
CONVERSATION_KINDS = frozenset(
    {"updated", "resident_message", "message_sent", "chat_closed", "resumed", "returned"}
)
#: at most this many item numbers in one change (a bigger batch: the pages' own poll)
MAX_ITEMS = 200


def _collect(session: Session, flush_context) -> None:
    # Every change to an item records an event, so new events name what changed.
    changed = session.info.setdefault(_CHANGES, set())
    emergencies = session.info.setdefault(_EMERGENCIES, set())
    items = session.info.setdefault(_ITEMS, set())
    for obj in session.new:
        if isinstance(obj, ItemEvent) and obj.item is not None:
            changed.add(obj.item.queue_code)
            if obj.from_queue_code:
                changed.add(obj.from_queue_code)
            if obj.kind == "routed" and obj.item.emergency:
                emergencies.add(obj.item.queue_code)
            if obj.kind in CONVERSATION_KINDS:
                items.add(obj.item.id)
    # A message's state (sent, read, failed) changes without an event of the item.
    items.update(obj.item_id for obj in session.dirty if isinstance(obj, ItemMessage))


def _publish_after_commit(session: Session) -> None:
    changed = session.info.pop(_CHANGES, None)
    emergencies = session.info.pop(_EMERGENCIES, None)
    items = session.info.pop(_ITEMS, None)
    if not (changed or items) or not has_app_context() or not current_app.config.get("REDIS_URL"):
        return
    if spaces.current() == spaces.TRAINING:
        return  # training never reaches the real desk's pages, not even as a queue code
    message = {"queues": sorted(changed or ())}
    if emergencies:
        # Only queue codes: each page decides whether the emergency is one of its own.
        message["emergencies"] = sorted(emergencies)
    if items:
        # Only numbers: an open item page refreshes its conversation when it is named.
        message["items"] = sorted(items)[:MAX_ITEMS]
    try:
        from .tasks import redis_connection

        redis = redis_connection()
        with redis.pipeline(transaction=False) as pipe:
            pipe.incr(GENERATION)
            pipe.publish(CHANNEL, json.dumps(message))
            pipe.execute()
    except RedisError:  # a missed live update is repaired by the slow poll
        # The outage is logged once by desk.tasks: one line per commit would flood.
        current_app.logger.debug("Redis unavailable; a live update was not published")
    except Exception:
        current_app.logger.warning("could not publish a live update", exc_info=True)


def _forget(session: Session) -> None:
    session.info.pop(_CHANGES, None)
    session.info.pop(_EMERGENCIES, None)
    session.info.pop(_ITEMS, None)


def _window() -> int:
    """Which FRAGMENT_SECONDS-long window of time it is: a shared rendering lasts one."""
    return int(time.time() // FRAGMENT_SECONDS)


def shared_fragment(key: tuple, render: Callable[[], str]) -> str:
    """`render()`, shared by every page with the same `key` until the next committed change
    (or for FRAGMENT_SECONDS at most). Without Redis, or if Redis fails, it just renders."""
    if not current_app.config.get("REDIS_URL"):
        return render()
    from .tasks import redis_connection

    redis = redis_connection()
    try:
        generation = int(redis.get(GENERATION) or 0)
        digest = hashlib.sha256(
            repr((spaces.current(), key, generation, _window())).encode()
        ).hexdigest()
        cached = redis.get(f"desk:fragment:{digest}")
    except RedisError:  # the page works without the cache (the outage is logged once)
        return render()
    except Exception:
        current_app.logger.warning("live fragment cache unavailable", exc_info=True)
        return render()
    if cached is not None:
        return cached.decode()
    html = render()
    with contextlib.suppress(Exception):
        redis.set(f"desk:fragment:{digest}", html.encode(), ex=FRAGMENT_SECONDS * 2)
    return html


class Broadcaster:
    """One Redis subscription for this process, shared by every open page.

    The subscription outlives Redis: when the connection breaks (Redis restarted, a network
    cut, or no answer to a ping on a quiet line) it subscribes again, waiting longer after
    each failed try, and then sends every page one `change` with no queues, so that pages
    fetch again whatever they missed meanwhile."""

    #: a quiet subscription is pinged after this long, and replaced if still silent after twice
    ping_seconds: float = PING_SECONDS
    #: the first wait before subscribing again, doubled after each failed try up to the last
    backoff: tuple[float, float] = (0.5, 10.0)

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.listeners: set[queue.Queue] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.subscribed = False

    def _run(self) -> None:
        delay, interrupted = self.backoff[0], False
        while not self.stopping.is_set():
            self.subscribed = False
            try:
                self._relay(resubscribed=interrupted)
            except Exception as error:  # Redis down or restarted: subscribe again, later
                if self.subscribed or not interrupted:
                    # Its text only: a handler that keeps records would keep its traceback alive.
                    log.warning("live updates interrupted (%s); subscribing again", str(error))
                    delay = self.backoff[0]
                interrupted = True
                self.stopping.wait(delay)
                delay = min(delay * 2, self.backoff[1])

    def _relay(self, resubscribed: bool) -> None:
        """Subscribe and pass every message on to the listeners until told to stop, or
        raise when the connection is lost."""
        from redis import Redis
        from redis.exceptions import ConnectionError as RedisConnectionError

        redis = Redis.from_url(self.redis_url, socket_connect_timeout=2, socket_timeout=5)
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(CHANNEL)
            self.subscribed = True
            if resubscribed:
                log.warning("live updates subscribed again")
                self._send(RESYNC)
            heard, pinged = time.monotonic(), False
            while not self.stopping.is_set():
                message = pubsub.get_message(timeout=min(1.0, self.ping_seconds))
                now = time.monotonic()
                if message is not None:
                    heard, pinged = now, False
                    if message["type"] == "message" and isinstance(message["data"], bytes):
                        self._send(message["data"].decode())
                elif now - heard > 2 * self.ping_seconds:
                    raise RedisConnectionError("no answer to a ping")
                elif now - heard > self.ping_seconds and not pinged:
                    pubsub.ping()
                    pinged = True
        finally:
            with contextlib.suppress(Exception):
                pubsub.close()
            with contextlib.suppress(Exception):
                redis.close()

    def _send(self, data: str) -> None:
        with self.lock:
            listeners = list(self.listeners)
        for listener in listeners:
            # A page that does not read is refreshed by its slow poll instead.
            with contextlib.suppress(queue.Full):
                listener.put_nowait(data)

    def close(self) -> None:
        """Stop the subscription (tests; a server process just ends)."""
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def listen(self) -> queue.Queue:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, daemon=True, name="desk-live")
                self.thread.start()
            listener: queue.Queue = queue.Queue(maxsize=100)
            self.listeners.add(listener)
            return listener

    def leave(self, listener: queue.Queue) -> None:
        with self.lock:
            self.listeners.discard(listener)

    def stream(self) -> Iterator[str]:
        """Server-Sent Events for one page: a `change` per committed change, and heartbeats."""
        listener = self.listen()
        try:
            yield ": connected\n\n"
            while True:
                try:
                    data = listener.get(timeout=HEARTBEAT_SECONDS)
                except queue.Empty:
                    yield ": heartbeat\n\n"
                    continue
                yield f"event: change\ndata: {data}\n\n"
        finally:
            self.leave(listener)


def init_app(app: Flask) -> None:
    """Publish committed changes (when Redis is configured), keep this process's hub and the
    record of who has which item open."""
    if not event.contains(Session, "after_flush", _collect):
        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "after_commit", _publish_after_commit)
        event.listen(Session, "after_soft_rollback", lambda s, t: _forget(s))
    app.extensions["desk_live"] = (
        Broadcaster(app.config["REDIS_URL"]) if app.config.get("REDIS_URL") else None
    )
    # Who has which item open, kept apart per space (item ids repeat across the databases).
    if app.config.get("REDIS_URL"):
        from .tasks import redis_client

        redis = redis_client(app.config["REDIS_URL"])
        app.extensions["desk_presence"] = {
            space: RedisPresence(redis, prefix=f"desk:{space}:presence:")
            for space in (spaces.REAL, spaces.TRAINING)
        }
    else:
        app.extensions["desk_presence"] = {
            space: MemoryPresence() for space in (spaces.REAL, spaces.TRAINING)
        }
    app.jinja_env.globals["live_updates"] = lambda: _opens_stream(app)
    app.jinja_env.globals["emergency_watch"] = _emergency_watch


def _opens_stream(app: Flask) -> bool:
    """Whether this page opens the live stream: with Redis, in the real desk (training pages
    poll: the stream carries the real desk's changes only), and for a user whom the route
    policy lets call `/events`, so that no page opens a connection only to be refused."""
    from flask_login import current_user

    from .policy import allows

    return (
        app.extensions["desk_live"] is not None
        and spaces.current() == spaces.REAL
        and current_user.is_authenticated
        and allows("live.events", current_user.role)
    )


def _emergency_watch() -> int | None:
    """Where this page starts watching for new emergencies (the newest open emergency of the
    user's concern, 0 for none), or None when it does not watch: only for those who work
    queues, as the route policy lets them ask (`work.emergencies`), and who are members of
    some. It asks in its own space: a trainee's practice emergencies, the real desk's for the
    real desk."""
    from flask_login import current_user

    from .extensions import db
    from .policy import allows
    from .work import worklist

    if not current_user.is_authenticated or not allows("work.emergencies", current_user.role):
        return None
    user = current_user.user
    if not user.queue_codes:
        return None
    return worklist.newest_emergency(db.session, user)
