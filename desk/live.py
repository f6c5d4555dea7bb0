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
from dataclasses import dataclass, field

from flask import Flask, current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import PASSIVE_NO_INITIALIZE, get_history

from . import metrics
from .models import ItemEvent, ItemMessage, WorkItem
from .training import spaces
from .work.presence import MemoryPresence, RedisPresence
from .work.worklist import Shelf

CHANNEL = "desk:changes"
#: counts committed changes; a cached live fragment is good until it moves
GENERATION = "desk:generation"
#: counts committed changes per queue (a hash): a list of some queues is good until one moves
QUEUE_GENERATIONS = "desk:queue-generation"
#: how long a cached fragment may be reused while nothing changes (deadlines move with time)
FRAGMENT_SECONDS = 15
HEARTBEAT_SECONDS = 15
#: how long the subscription may hear nothing before it checks that Redis is still there
PING_SECONDS = 30
#: sent to every page after the subscription was lost and made again: fetch what you missed
RESYNC = json.dumps({"queues": []})
log = logging.getLogger(__name__)
#: every (queue, municipality) a change touched: the message's queues and places
_PLACES = "desk_changed_places"
_EMERGENCIES = "desk_emergency_queues"
_ITEMS = "desk_conversation_items"
_PEOPLE = "desk_holders"
#: the events after which an open item page shows its conversation again
CONVERSATION_KINDS = frozenset(
    {"updated", "resident_message", "message_sent", "chat_closed", "resumed", "returned"}
)
#: at most this many item numbers in one change (a bigger batch: the pages' own poll)
MAX_ITEMS = 200
#: stands in for the CSRF token in lists shared by many pages (views/rows.py); no value from
#: the database can look like it, as every one is escaped
CSRF_PLACEHOLDER = "<desk-csrf-token>"
#: a pushed view is rendered at most once in this long (the changes meanwhile wait for the
#: next rendering, never dropped): a busy queue costs one rendering a half second, however
#: many pages show it and however many changes it has
PUSH_SECONDS = 0.5
#: and at least once in this long while it has pages, changed or not: its rows' times (how
#: long waited, time left) move on, and a page that missed a push is put right
REFRESH_SECONDS = 60.0


def _collect(session: Session, flush_context) -> None:
    # Every change to an item records an event, so new events name what changed.
    places = session.info.setdefault(_PLACES, set())
    emergencies = session.info.setdefault(_EMERGENCIES, set())
    items = session.info.setdefault(_ITEMS, set())
    people = session.info.setdefault(_PEOPLE, set())
    for obj in session.new:
        if isinstance(obj, ItemEvent) and obj.item is not None:
            places.update(_places(obj.item, obj.from_queue_code))
            if obj.kind == "routed" and obj.item.emergency:
                emergencies.add(obj.item.queue_code)
            if obj.kind in CONVERSATION_KINDS:
                items.add(obj.item.id)
            # Whose "items I hold" it changes: the holder's, and the one it was taken from.
            people.add(obj.item.assignee_id)
            people.update(_before(obj.item, "assignee_id"))
    people.discard(None)
    for obj in session.dirty:
        if isinstance(obj, ItemMessage):
            # A message's state (sent, read, failed) changes without an event of the item.
            items.add(obj.item_id)
        elif isinstance(obj, WorkItem) and (
            _before(obj, "queue_code") or _before(obj, "municipality_code")
        ):
            # Where an item was before this flush, should its event come in a later one.
            places.update(_places(obj))


def _places(item: WorkItem, from_queue: str | None = None) -> set[tuple[str, str | None]]:
    """Every (queue, municipality) the item is in or was in before this flush: the parts of
    the lists its change may change (desk.work.worklist.Shelf). The two columns keep their
    earlier values (`active_history`), even when set without being read first."""
    queues = {item.queue_code, from_queue, *_before(item, "queue_code")}
    municipalities = {item.municipality_code, *_before(item, "municipality_code")}
    return {(q, m) for q in queues if q for m in municipalities}


def _before(obj, key: str) -> tuple:
    """The values `key` of `obj` had before this flush (none when unchanged). One attribute's
    history, read as `inspect(obj).attrs` reads it (nothing is loaded): `attrs` built a state
    for each of an item's columns (20 µs a routed item, now 6)."""
    return get_history(obj, key, PASSIVE_NO_INITIALIZE).deleted or ()


def _publish_after_commit(session: Session) -> None:
    places = session.info.pop(_PLACES, None) or set()
    emergencies = session.info.pop(_EMERGENCIES, None)
    items = session.info.pop(_ITEMS, None)
    people = session.info.pop(_PEOPLE, None)
    if not (places or items) or not has_app_context() or not current_app.config.get("REDIS_URL"):
        return
    if spaces.current() == spaces.TRAINING:
        return  # training never reaches the real desk's pages, not even as a queue code
    changed = {queue for queue, _municipality in places}
    message = {"queues": sorted(changed)}
    if places:
        # Which municipalities in each queue (null: items of none): the live stream reads
        # again only those parts of its lists.
        message["places"] = sorted(
            ([queue, municipality] for queue, municipality in places),
            key=lambda place: (place[0], place[1] or ""),
        )
    if emergencies:
        # Only queue codes: each page decides whether the emergency is one of its own.
        message["emergencies"] = sorted(emergencies)
    if items:
        # Only numbers: an open item page refreshes its conversation when it is named.
        message["items"] = sorted(items)[:MAX_ITEMS]
    if people:
        # Only user ids: a page refreshes "items I hold" when its own person is named.
        message["people"] = sorted(people)[:MAX_ITEMS]
    try:
        from .tasks import redis_connection

        redis = redis_connection()
        with redis.pipeline(transaction=False) as pipe:
            pipe.incr(GENERATION)
            for code in changed:
                pipe.hincrby(QUEUE_GENERATIONS, code, 1)
            pipe.publish(CHANNEL, json.dumps(message))
            pipe.execute()
    except RedisError:  # a missed live update is repaired by the slow poll
        # The outage is logged once by desk.tasks: one line per commit would flood.
        current_app.logger.debug("Redis unavailable; a live update was not published")
    except Exception:
        current_app.logger.warning("could not publish a live update", exc_info=True)


def _forget(session: Session) -> None:
    session.info.pop(_PLACES, None)
    session.info.pop(_EMERGENCIES, None)
    session.info.pop(_ITEMS, None)
    session.info.pop(_PEOPLE, None)


def _window() -> int:
    """Which FRAGMENT_SECONDS-long window of time it is: a shared rendering lasts one."""
    return int(time.time() // FRAGMENT_SECONDS)


def shared_fragment(key: tuple, render: Callable[[], str], queues=None) -> str:
    """`render()`, shared by every page with the same `key` until the next committed change
    (or for FRAGMENT_SECONDS at most). With `queues`, only a change in one of those queues
    counts. Without Redis, or if Redis fails, or in the training space (whose changes are
    not published), it just renders."""
    if not current_app.config.get("REDIS_URL") or spaces.current() != spaces.REAL:
        return render()
    from .tasks import redis_connection

    redis = redis_connection()
    try:
        if queues is None:
            generation = int(redis.get(GENERATION) or 0)
        else:
            codes = sorted(queues)
            generation = tuple(redis.hmget(QUEUE_GENERATIONS, codes)) if codes else ()
        digest = hashlib.sha256(repr((key, generation, _window())).encode()).hexdigest()
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


@dataclass
class Pushed:
    """Lists that one open page has pushed to it as they change (views/work.py): the view's
    `key` (pages with equal keys see the same), the queues whose changes change it (None:
    any), how to `render` it (JSON text, or what is written as JSON; shared), the page's own
    CSRF `token` for the placeholder in it, how to `shorten` a rendering for pages that have
    the last one, and which changes the page still `wants` told (its lists come pushed
    instead)."""

    key: tuple
    queues: frozenset[str] | None
    render: Callable[[], str | dict]
    token: str
    #: what leaves out of a rendering what the view's pages have already, given the names
    #: of what they have (views/work.py, `shorten`): the shorter payload, and what it names
    shorten: Callable[[str | dict, frozenset[str]], tuple[str, frozenset[str]]] | None = None
    #: which committed changes the page needs told (None: every one), given the change
    wants: Callable[[dict], bool] | None = None
    #: the municipalities whose items' changes change it (None among them: items of none;
    #: None: any municipality)
    municipalities: frozenset[str | None] | None = None


@dataclass
class _View:
    """A pushed view and the pages that show it, in one process."""

    render: Callable[[], str | dict]
    queues: frozenset[str] | None
    shorten: Callable[[str | dict, frozenset[str]], tuple[str, frozenset[str]]] | None = None
    municipalities: frozenset[str | None] | None = None
    pages: dict[queue.Queue, str] = field(default_factory=dict)
    dirty: bool = False
    rendered_at: float = 0.0
    #: the names of what the last push had (`Pushed.shorten`)
    known: frozenset[str] = frozenset()

    def changed_by(self, queues: set[str], places: dict[str, set[str | None]]) -> bool:
        """Whether a change in `queues` changes this view: in one of its queues, and in one
        of its municipalities where the change names them (`places`, by queue)."""
        if self.queues is None:
            return True
        for code in self.queues & queues:
            named = places.get(code)
            if named is None or self.municipalities is None:
                return True
            if not self.municipalities.isdisjoint(named):
                return True
        return False


def _places_by_queue(message: dict) -> dict[str, set[str | None]]:
    """The municipalities a live message names in each queue (`_publish_after_commit`); a
    queue it does not name there changed in any of them."""
    places: dict[str, set[str | None]] = {}
    for code, municipality in message.get("places") or ():
        places.setdefault(code, set()).add(municipality)
    return places


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
    #: a pushed view is rendered at most once in this long (DESK_PUSH_SECONDS)
    push_seconds: float = PUSH_SECONDS
    #: and at least once in this long (REFRESH_SECONDS)
    refresh_seconds: float = REFRESH_SECONDS

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.listeners: set[queue.Queue] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.subscribed = False
        #: the pushed views of this process's open pages, by key
        self.views: dict[tuple, _View] = {}
        #: which changes a page needs told, of those that said (`Pushed.wants`)
        self.wants: dict[queue.Queue, Callable[[dict], bool]] = {}
        self.renderer: threading.Thread | None = None
        self.wake = threading.Event()
        #: My work's lists of what waits per queue and municipality, the pushed views'
        #: lists composed from them (told of every change here before any view is due)
        self.shelf = Shelf()

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
        try:
            message = json.loads(data)
            changed = set(message.get("queues") or ())
            places = _places_by_queue(message)
            # No queue and no item named: the stream is back after an outage, anything may
            # have changed meanwhile. (A message's state alone changes no list.)
            everything = not changed and not message.get("items")
        except (ValueError, AttributeError, TypeError):
            message, changed, places, everything = {}, set(), {}, True
        if changed or everything:
            # Before any view is due: what the shelf read before this change is not used.
            self.shelf.forget(None if everything else changed, places)
        with self.lock:
            listeners = list(self.listeners)
            # The views this change changes render again (desk.work's lists, for one).
            for view in self.views.values():
                if everything or view.changed_by(changed, places):
                    view.dirty = True
                    self.wake.set()
        for listener in listeners:
            wants = self.wants.get(listener)
            if wants is not None and not everything and not wants(message):
                continue  # a page whose lists are pushed hears only what else it shows
            # A page that does not read is refreshed by its slow poll instead.
            with contextlib.suppress(queue.Full):
                listener.put_nowait(data)

    def _render_views(self) -> None:
        """Render the views that changes have made dirty, each at most once a PUSH_SECONDS,
        and every view at least once a REFRESH_SECONDS (the pages need not ask for the times
        moved on: one rendering a minute per view, not a fetch a minute per page); push each
        to its pages (with each page's own CSRF token)."""
        while not self.stopping.is_set():
            self.wake.wait(self.push_seconds)
            self.wake.clear()
            now = time.monotonic()
            with self.lock:
                due = [
                    (key, view)
                    for key, view in self.views.items()
                    if (view.dirty and now - view.rendered_at >= self.push_seconds)
                    or now - view.rendered_at >= self.refresh_seconds
                ]
                for _key, view in due:
                    view.dirty, view.rendered_at = False, now
                if any(view.dirty for view in self.views.values()):
                    self.wake.set()  # those rendered just now: at the end of their wait
            for key, view in due:
                try:
                    payload = view.render()
                except Exception:  # a failed rendering: the page's own poll repairs it
                    log.warning("could not render pushed lists %s", key[0], exc_info=True)
                    continue
                metrics.PUSHED_RENDERINGS.inc()
                if view.shorten is not None:
                    try:
                        payload, view.known = view.shorten(payload, view.known)
                    except Exception:  # pushed whole, then; the next one is shortened again
                        log.warning("could not shorten pushed lists %s", key[0], exc_info=True)
                        view.known = frozenset()
                if not isinstance(payload, str):
                    payload = json.dumps(payload)
                with self.lock:
                    pages = list(view.pages.items())
                for page, token in pages:
                    with contextlib.suppress(queue.Full):
                        page.put_nowait(("lists", payload.replace(CSRF_PLACEHOLDER, token)))
            if not due:
                time.sleep(0.05)  # the next view's wait ends soon: no busy loop meanwhile

    def close(self) -> None:
        """Stop the subscription (tests; a server process just ends)."""
        self.stopping.set()
        self.wake.set()
        for thread in (self.thread, self.renderer):
            if thread is not None:
                thread.join(timeout=5)

    def listen(self, pushed: Pushed | None = None) -> queue.Queue:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, daemon=True, name="desk-live")
                self.thread.start()
            listener: queue.Queue = queue.Queue(maxsize=100)
            self.listeners.add(listener)
            if pushed is not None:
                if self.renderer is None or not self.renderer.is_alive():
                    self.renderer = threading.Thread(
                        target=self._render_views, daemon=True, name="desk-live-views"
                    )
                    self.renderer.start()
                # A new view's pages have just been drawn: its first rendering is due with
                # the first change, or when the times have moved on.
                view = self.views.setdefault(
                    pushed.key,
                    _View(
                        pushed.render,
                        pushed.queues,
                        pushed.shorten,
                        municipalities=pushed.municipalities,
                        rendered_at=time.monotonic(),
                    ),
                )
                view.pages[listener] = pushed.token
                if pushed.wants is not None:
                    self.wants[listener] = pushed.wants
            return listener

    def leave(self, listener: queue.Queue) -> None:
        with self.lock:
            self.listeners.discard(listener)
            self.wants.pop(listener, None)
            for key, view in list(self.views.items()):
                if view.pages.pop(listener, None) is not None and not view.pages:
                    del self.views[key]

    def stream(self, pushed: Pushed | None = None) -> Iterator[str]:
        """Server-Sent Events for one page: a `change` per committed change, its `lists` as
        they change when it has them pushed, and heartbeats."""
        listener = self.listen(pushed)
        try:
            yield ": connected\n\n"
            while True:
                try:
                    data = listener.get(timeout=HEARTBEAT_SECONDS)
                except queue.Empty:
                    yield ": heartbeat\n\n"
                    continue
                name, data = data if isinstance(data, tuple) else ("change", data)
                yield f"event: {name}\ndata: {data}\n\n"
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
    if app.extensions["desk_live"] is not None:
        hub = app.extensions["desk_live"]
        hub.push_seconds = app.config.get("DESK_PUSH_SECONDS", PUSH_SECONDS)
        hub.refresh_seconds = app.config.get("DESK_PUSH_REFRESH_SECONDS", REFRESH_SECONDS)
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


def _emergency_watch(newest: int | None = None) -> int | None:
    """Where this page starts watching for new emergencies (the newest open emergency of the
    user's concern, 0 for none), or None when it does not watch: only for those who work
    queues, as the route policy lets them ask (`work.emergencies`), and who are members of
    some. It asks in its own space: a trainee's practice emergencies, the real desk's for the
    real desk. A page that knows the newest already (My work) passes it as `newest`."""
    from flask_login import current_user

    from .extensions import db
    from .policy import allows
    from .work import worklist

    if not current_user.is_authenticated or not allows("work.emergencies", current_user.role):
        return None
    user = current_user.user
    if not user.queue_codes:
        return None
    return newest if newest is not None else worklist.newest_emergency(db.session, user)
