"""The desk's metrics for Prometheus (`/metrics`, desk.ops).

Counters and histograms are counted where things happen, in whichever process: a gunicorn
worker, the event stream's gevent worker, an rq worker. With several processes, set
`PROMETHEUS_MULTIPROC_DIR` to an empty folder shared by all of them before they start (as
`prometheus_client` documents; `scripts/production.sh` does); any process's `/metrics` then
answers for all, and the gunicorn configuration (desk.gunicorn) tells the library when a
worker dies. Without it (the embedded default) each process answers for itself.

Gauges of the desk's state are read when scraped, but never by scanning the items:

- open and overdue items per queue: one grouped count over the open items' index, made at
  most once every `STATE_SECONDS` by whichever process is scraped first, and shared through
  Redis (one count for all processes and scrapers);
- the outbox's backlog: a count over its partial index of pending events;
- rq: queue lengths, failed jobs and workers, read from Redis (its own counters).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import case, func, select

#: how old the counts of open and overdue items may be when scraped
STATE_SECONDS = 30
STATE_KEY = "desk:metrics:state"

#: request latency: the desk's pages answer in milliseconds; reports may take seconds
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "desk_http_request_duration_seconds",
    "Time from a request's arrival in the app to its response, by route and status.",
    ["endpoint", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
DELIVERIES = Counter(
    "desk_deliveries_total",
    "Deliveries from source systems, by channel and what the desk answered: accepted, "
    "updated (a grown chat), duplicate, conflict, invalid (422).",
    ["channel", "outcome"],
)
ROUTED = Counter(
    "desk_deliveries_routed_total",
    "Deliveries that became an item in a queue.",
    ["channel"],
)
INTAKE_LAG = Histogram(
    "desk_intake_lag_seconds",
    "From a delivery's acceptance to its item being routed.",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0),
)
OUTBOX_ATTEMPTS = Counter(
    "desk_outbox_attempts_total",
    "Attempts to deliver an outbound event, by outcome: delivered, failed (tried again), "
    "given_up (refused for good or out of time).",
    ["outcome"],
)
SHED = Counter(
    "desk_http_requests_shed_total",
    "Requests answered 503 at once because they had waited in the queue in front of the "
    "desk longer than DESK_QUEUE_DEADLINE_SECONDS (the client has most likely given up).",
)
PUSHED_RENDERINGS = Counter(
    "desk_pushed_renderings_total",
    "Lists rendered by the live stream to push to open pages (once per view per change).",
)
SSE_CLIENTS = Gauge(
    "desk_sse_clients",
    "Open event streams (/events), one per open page.",
    multiprocess_mode="livesum",
)
JOB_FAILURES = Counter(
    "desk_job_failures_total",
    "Background jobs that raised, by task (each retry that fails counts). (Not `job`: "
    "Prometheus gives every series a `job` label of its own.)",
    ["task"],
)


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition(app) -> tuple[bytes, str]:
    """The text Prometheus reads: this process's (or all processes') counters, and the
    desk's state."""
    registry = CollectorRegistry()
    if multiprocess():
        from prometheus_client.multiprocess import MultiProcessCollector

        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(StateCollector(app))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _ThisProcess:
    """The default registry (this process's metrics, the runtime's too) in a scrape's."""

    def collect(self):
        return REGISTRY.collect()


class StateCollector:
    """Gauges of the desk's state, read at scrape time (see the module's notes)."""

    def __init__(self, app) -> None:
        self.app = app

    def collect(self):
        with self.app.app_context():
            state = shared_state(self.app)
            yield from _state_families(state)
            if self.app.config.get("REDIS_URL"):
                yield from _rq_families(self.app.config["REDIS_URL"])


def _state_families(state: dict):
    open_items = GaugeMetricFamily("desk_open_items", "Open items per queue.", labels=["queue"])
    overdue = GaugeMetricFamily(
        "desk_overdue_items", "Open items past their legal deadline, per queue.", labels=["queue"]
    )
    for queue, (count, late) in sorted(state["queues"].items()):
        open_items.add_metric([queue], count)
        overdue.add_metric([queue], late)
    yield open_items
    yield overdue
    yield GaugeMetricFamily(
        "desk_outbox_backlog", "Outbound events not yet delivered.", value=state["outbox"]
    )
    yield GaugeMetricFamily(
        "desk_state_age_seconds",
        "How old the counts of open items and the outbox are.",
        value=max(0.0, time.time() - state["at"]),
    )


def _rq_families(url: str):
    from redis.exceptions import RedisError
    from rq import Queue, Worker
    from rq.registry import FailedJobRegistry

    from .tasks import QUEUE_NAME, redis_client

    connection = redis_client(url)
    up = GaugeMetricFamily("desk_redis_up", "Whether Redis answered this scrape.")
    try:
        queue = Queue(QUEUE_NAME, connection=connection)
        length, failed = queue.count, FailedJobRegistry(queue=queue).count
        workers = Worker.count(connection=connection)
    except RedisError:
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield up
    lengths = GaugeMetricFamily(
        "desk_rq_queue_length", "Jobs waiting in the rq queue.", labels=["queue"]
    )
    lengths.add_metric([QUEUE_NAME], length)
    yield lengths
    failures = GaugeMetricFamily(
        "desk_rq_failed_jobs", "Jobs in rq's failed job registry.", labels=["queue"]
    )
    failures.add_metric([QUEUE_NAME], failed)
    yield failures
    yield GaugeMetricFamily("desk_rq_workers", "rq workers alive.", value=workers)


# -- the shared state: counted at most once every STATE_SECONDS ---------------------------

_local = {"state": None}
_local_lock = threading.Lock()


def shared_state(app) -> dict:
    """The open and overdue counts and the outbox backlog, at most STATE_SECONDS old:
    from Redis when another process counted lately, else counted here (and shared)."""
    now = time.time()
    state = _local["state"]
    if state is not None and now - state["at"] < STATE_SECONDS:
        return state
    redis = _redis(app)
    if redis is not None:
        from redis.exceptions import RedisError

        try:
            stored = redis.get(STATE_KEY)
            if stored is not None:
                shared = json.loads(stored)
                if now - shared["at"] < STATE_SECONDS:
                    _local["state"] = shared
                    return shared
        except RedisError:
            redis = None
    with _local_lock:
        state = _local["state"]
        if state is not None and time.time() - state["at"] < STATE_SECONDS:
            return state
        state = count_state()
        _local["state"] = state
    if redis is not None:
        from redis.exceptions import RedisError

        with contextlib.suppress(RedisError):
            redis.set(STATE_KEY, json.dumps(state), ex=STATE_SECONDS * 2)
    return state


def _redis(app):
    if not app.config.get("REDIS_URL"):
        return None
    from .tasks import redis_client

    return redis_client(app.config["REDIS_URL"])


def count_state() -> dict:
    """Count the open and overdue items per queue and the outbox's backlog (the real desk's
    database; read through the open items' partial index, whatever the history)."""
    from .extensions import db
    from .models import OPEN_STATUSES, EventState, OutboxEvent, Queue, WorkItem, utcnow

    now = utcnow()
    session = db.session
    queues = {code: [0, 0] for code in session.scalars(select(Queue.code))}
    rows = session.execute(
        select(
            WorkItem.queue_code,
            func.count(),
            func.sum(case((WorkItem.due_at < now, 1), else_=0)),
        )
        .where(WorkItem.status.in_(OPEN_STATUSES))
        .group_by(WorkItem.queue_code)
    )
    for queue, count, late in rows:
        queues[queue] = [count, int(late or 0)]
    outbox = session.scalar(
        select(func.count())
        .select_from(OutboxEvent)
        .where(OutboxEvent.state == EventState.PENDING.value)
    )
    session.rollback()  # only read: nothing is held open until the context ends
    return {"at": time.time(), "queues": queues, "outbox": outbox or 0}


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(endpoint or "none", method, str(status)).observe(seconds)
