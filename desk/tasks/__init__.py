"""Background jobs: rq on Redis in production, in-process on the embedded default.

Jobs are plain functions taking ids. `enqueue` runs them at once when there is no Redis;
`flask desk worker` runs them in an app context when there is.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from flask import current_app
from redis import Redis
from rq import Queue, Retry

QUEUE_NAME = "desk"
# Back off while the database or a worker is having trouble; the sweep picks up whatever
# still fails after these.
RETRY = Retry(max=5, interval=[1, 5, 30, 120, 600])


@cache
def _redis(url: str) -> Redis:
    # Short timeouts: with Redis unreachable, accepting a delivery must not hang (the sweep
    # hands it over later).
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def redis_connection() -> Redis:
    """The app's Redis connection (one pool per process)."""
    return _redis(current_app.config["REDIS_URL"])


def job_queue() -> Queue:
    """The rq queue the desk's jobs go to."""
    return Queue(QUEUE_NAME, connection=redis_connection())


def enqueue(func: Callable, *args, job_id: str | None = None) -> None:
    """Run `func(*args)` as a job: now, in-process, without Redis; on a worker with it."""
    if current_app.config["DESK_JOBS_INLINE"]:
        func(*args)
        return
    job_queue().enqueue(func, *args, job_id=job_id, retry=RETRY, job_timeout=60)
