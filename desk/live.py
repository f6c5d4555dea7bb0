"""Live updates: a committed change publishes a small event on Redis; each server process
holds one subscription and fans events out to its open pages over Server-Sent Events.

Without Redis (the embedded default) nothing is published and pages poll.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from . import spaces
from .models import ItemEvent
from .presence import MemoryPresence, RedisPresence

CHANNEL = "desk:changes"
#: counts committed changes; a cached live fragment is good until it moves
GENERATION = "desk:generation"
#: how long a cached fragment may be reused while nothing changes (deadlines move with time)
FRAGMENT_SECONDS = 15
HEARTBEAT_SECONDS = 15
_CHANGES = "desk_changed_queues"
_EMERGENCIES = "desk_emergency_queues"


def _collect(session: Session, flush_context) -> None:
    # Every change to an item records an event, so new events name what changed.
    changed = session.info.setdefault(_CHANGES, set())
    emergencies = session.info.setdefault(_EMERGENCIES, set())
    for obj in session.new:
        if isinstance(obj, ItemEvent) and obj.item is not None:
            changed.add(obj.item.queue_code)
            if obj.from_queue_code:
                changed.add(obj.from_queue_code)
            if obj.kind == "routed" and obj.item.emergency:
                emergencies.add(obj.item.queue_code)


def _publish_after_commit(session: Session) -> None:
    changed = session.info.pop(_CHANGES, None)
    emergencies = session.info.pop(_EMERGENCIES, None)
    if not changed or not has_app_context() or not current_app.config.get("REDIS_URL"):
        return
    if spaces.current() == spaces.TRAINING:
        return  # training never reaches the real desk's pages, not even as a queue code
    message = {"queues": sorted(changed)}
    if emergencies:
        # Only queue codes: each page decides whether the emergency is one of its own.
        message["emergencies"] = sorted(emergencies)
    try:
        from .tasks import redis_connection

        redis = redis_connection()
        with redis.pipeline(transaction=False) as pipe:
            pipe.incr(GENERATION)
            pipe.publish(CHANNEL, json.dumps(message))
            pipe.execute()
    except Exception:  # a missed live update is repaired by the slow poll
        current_app.logger.warning("could not publish a live update", exc_info=True)


def _forget(session: Session) -> None:
    session.info.pop(_CHANGES, None)
    session.info.pop(_EMERGENCIES, None)


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
    except Exception:  # the page works without the cache
        current_app.logger.warning("live fragment cache unavailable", exc_info=True)
        return render()
    if cached is not None:
        return cached.decode()
    html = render()
    with contextlib.suppress(Exception):
        redis.set(f"desk:fragment:{digest}", html.encode(), ex=FRAGMENT_SECONDS * 2)
    return html


class Broadcaster:
    """One Redis subscription for this process, shared by every open page."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.listeners: set[queue.Queue] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def _run(self) -> None:
        from redis import Redis

        pubsub = Redis.from_url(self.redis_url).pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(CHANNEL)
        for message in pubsub.listen():
            data = message["data"].decode() if isinstance(message["data"], bytes) else ""
            with self.lock:
                listeners = list(self.listeners)
            for listener in listeners:
                # A page that does not read is refreshed by its slow poll instead.
                with contextlib.suppress(queue.Full):
                    listener.put_nowait(data)

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
        from .tasks import _redis

        redis = _redis(app.config["REDIS_URL"])
        app.extensions["desk_presence"] = {
            space: RedisPresence(redis, prefix=f"desk:{space}:presence:")
            for space in (spaces.REAL, spaces.TRAINING)
        }
    else:
        app.extensions["desk_presence"] = {
            space: MemoryPresence() for space in (spaces.REAL, spaces.TRAINING)
        }
    # Training pages poll: the stream carries the real desk's changes only.
    app.jinja_env.globals["live_updates"] = lambda: (
        app.extensions["desk_live"] is not None and spaces.current() == spaces.REAL
    )
