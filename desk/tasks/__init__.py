"""Background jobs: rq on Redis in production, in-process on the embedded default.

Jobs are plain functions taking ids. `enqueue` runs them at once when there is no Redis;
`flask desk worker` runs them in an app context when there is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import cache

from flask import current_app
from redis import ConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, Retry

from .. import logs

log = logging.getLogger(__name__)

QUEUE_NAME = "desk"
# Back off while the database or a worker is having trouble; the sweep picks up whatever
# still fails after these.
RETRY = Retry(max=5, interval=[1, 5, 30, 120, 600])
#: after a failed call, Redis is not tried again for this long (see Breaker)
PAUSE_SECONDS = 3.0


class RedisSkipped(RedisConnectionError):
    """Redis was not tried: it failed a moment ago. A ConnectionError, so that every caller
    that copes with Redis being down copes with this too."""


class Breaker:
    """Remembers that Redis failed, so that for `pause` seconds nobody waits for it again.

    With Redis unreachable behind a firewall, every call would wait for the connect timeout
    (2 s) or the read timeout (5 s); during an outage each page and delivery would be that
    much slower. After a failure, calls fail at once until the pause is over; then one call
    (the probe) tries Redis while the others still fail at once, and its outcome closes the
    breaker or starts another pause. The outage is logged once when it starts and once when
    it ends."""

    #: a probe that has not come back after this long no longer keeps others from trying
    PROBE_SECONDS = 10.0

    def __init__(self, name: str, pause: float = PAUSE_SECONDS, clock=time.monotonic) -> None:
        self.name = name
        self.pause = pause
        self.clock = clock
        self.until = 0.0
        self.failing = False
        self.prober: int | None = None
        self.probe_started = 0.0
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise RedisSkipped unless this call may try Redis."""
        if not self.failing:
            return
        now, me = self.clock(), threading.get_ident()
        with self._lock:
            if not self.failing:
                return
            if now < self.until:
                raise RedisSkipped(f"{self.name} failed less than {self.pause:g} s ago")
            if self.prober not in (None, me) and now - self.probe_started < self.PROBE_SECONDS:
                raise RedisSkipped(f"{self.name} failed; another call is trying it")
            if self.prober != me:
                self.prober, self.probe_started = me, now

    def failed(self, error: Exception) -> None:
        with self._lock:
            self.until = self.clock() + self.pause
            self.prober = None
            if self.failing:
                return
            self.failing = True
        log.warning(
            "Redis at %s unavailable (%s); tried again every %g s meanwhile",
            self.name,
            error,
            self.pause,
        )

    def succeeded(self) -> None:
        if not self.failing:
            return
        with self._lock:
            if not self.failing:
                return
            self.failing, self.prober, self.until = False, None, 0.0
        log.warning("Redis at %s answers again", self.name)

    def watch(self, call: Callable, *args, answer: bool = True, **kwargs):
        """`call(*args, **kwargs)`, noting whether Redis failed, and whether it answered
        (`answer`: only a reply proves that; a connection a firewall accepts does not)."""
        try:
            result = call(*args, **kwargs)
        except RedisSkipped:
            raise
        except (RedisConnectionError, RedisTimeoutError) as error:
            self.failed(error)
            raise
        except RedisError:
            if answer:
                self.succeeded()  # an error reply is still a reply
            raise
        except BaseException:
            # Interrupted before an answer: no verdict, but let another call try.
            with self._lock:
                if self.prober == threading.get_ident():
                    self.prober = None
            raise
        if answer:
            self.succeeded()
        return result


class _ShortCircuit:
    """Mixed into the pool's connection class: consults the pool's Breaker before it
    connects or sends, and tells it how each round trip went."""

    breaker: Breaker

    def connect_check_health(self, *args, **kwargs):
        self.breaker.check()
        return self.breaker.watch(super().connect_check_health, *args, answer=False, **kwargs)

    def send_packed_command(self, *args, **kwargs):
        self.breaker.check()
        return self.breaker.watch(super().send_packed_command, *args, answer=False, **kwargs)

    def read_response(self, *args, **kwargs):
        return self.breaker.watch(super().read_response, *args, **kwargs)


@cache
def redis_client(url: str) -> Redis:
    """A new client for `url` (its own pool) with short timeouts and a circuit breaker."""
    # Short timeouts: with Redis unreachable, accepting a delivery must not hang (the sweep
    # hands it over later); and after one failure, not even that long (Breaker).
    pool = ConnectionPool.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    kwargs = pool.connection_kwargs
    breaker = Breaker(f"{kwargs.get('host') or kwargs.get('path')}:{kwargs.get('port', '')}")
    pool.connection_class = type(
        f"ShortCircuit{pool.connection_class.__name__}",
        (_ShortCircuit, pool.connection_class),
        {"breaker": breaker},
    )
    client = Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # as Redis.from_url: closing it closes the pool
    return client


def redis_connection() -> Redis:
    """The app's Redis connection (one pool per process)."""
    return redis_client(current_app.config["REDIS_URL"])


def job_queue() -> Queue:
    """The rq queue the desk's jobs go to."""
    return Queue(QUEUE_NAME, connection=redis_connection())


class JobContext:
    """Mixed into the rq worker's class: each job runs with a fresh database session, and its
    log lines carry the id of the request that asked for it (`enqueue` puts it in the job)."""

    def perform_job(self, job, queue):
        from ..extensions import db

        token = logs.request_id.set((job.meta or {}).get("request_id"))
        try:
            return super().perform_job(job, queue)
        finally:
            logs.request_id.reset(token)
            db.session.remove()


def enqueue(func: Callable, *args, job_id: str | None = None) -> None:
    """Run `func(*args)` as a job: now, in-process, without Redis; on a worker with it.
    Raises redis.exceptions.RedisError when Redis is unavailable: the caller decides what
    waits for the sweep."""
    if current_app.config["DESK_JOBS_INLINE"]:
        func(*args)
        return
    # The request that asked for the job: its id goes with it into the worker's log lines.
    meta = {"request_id": rid} if (rid := logs.request_id.get()) else None
    job_queue().enqueue(func, *args, job_id=job_id, retry=RETRY, job_timeout=60, meta=meta)


#: how long a job asked for with `enqueue_once` keeps others from asking, if it never starts
ONCE_SECONDS = 300
#: the waiting key's value while a job asked for has not started (running jobs that `hold`
#: it write their own names)
ASKED = "asked"


def enqueue_once(func: Callable, waiting: str) -> None:
    """Make sure that one `func()` job runs after this moment, cheaply when one is already
    waiting: `waiting` is a Redis key set while the job waits, which the job deletes as it
    starts (`started`). Many asking at once (every delivery, every drain) enqueue one job.
    Raises RedisError as `enqueue` does."""
    if current_app.config["DESK_JOBS_INLINE"]:
        func()
    elif redis_connection().set(waiting, ASKED, nx=True, ex=ONCE_SECONDS):
        enqueue(func)


def started(waiting: str) -> None:
    """Called first by a job asked for with `enqueue_once`: from here on, whoever asks again
    gets another job, as this one may already be past what they bring."""
    if not current_app.config["DESK_JOBS_INLINE"]:
        redis_connection().delete(waiting)


#: how long a running job's promise to look again (`hold`) keeps others from asking, unless
#: it renews it: if the job dies, whoever asks in this time is left to the sweep
HOLD_SECONDS = 3


def hold(waiting: str, holder: str) -> bool:
    """For a running job asked for with `enqueue_once` that will look again in a moment (and
    call `started` then): whoever asks meanwhile relies on it, as on a waiting job. `holder`
    names the job; holding again renews the hold. False when another job waits already, asked
    for and not yet started (it looks after this moment, so this one may end), also when
    Redis fails (the sweep takes what is left); always True in-process (no other job can
    run). Another running job's hold is no reason to end: that job may be about to end for
    the same reason, and both would leave what arrives meanwhile to the sweep."""
    if current_app.config["DESK_JOBS_INLINE"]:
        return True
    try:
        before = redis_connection().set(waiting, holder, ex=HOLD_SECONDS, get=True)
    except RedisError:
        return False
    return (before.decode() if isinstance(before, bytes) else before) != ASKED
