"""Jobs that turn stored inbound deliveries into work items.

Under load, deliveries are routed in batches by `drain_deliveries`: at most one drain waits in
the queue at a time, any number run side by side (each locks its own rows), and a drain runs
until nothing is left. `process_delivery` routes one delivery; the sweep uses it.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from datetime import datetime

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import or_, select, text, true
from sqlalchemy.exc import OperationalError

from .. import metrics
from ..extensions import channel_registry, db
from ..inbound.intake import process, process_batch, record_failure
from ..models import InboundDelivery, WorkItem, utcnow
from . import enqueue_once, hold, started
from .assign import request_dispatch

log = logging.getLogger(__name__)
WAITING_DRAIN = "desk:drain-waiting"
BATCH = 100
#: how long a drain whose batch was not full lets deliveries gather before the next: a batch
#: costs about as much to route as five deliveries, so under load the batches grow from a
#: few deliveries to what arrives in this time; each delivery waits at most this much longer
GATHER_SECONDS = 0.05
#: how long one drain job routes before it hands over to a new one (the job's timeout is 60 s,
#: and a worker asked to stop waits for it)
DRAIN_SECONDS = 10.0


def unapplied():
    """Deliveries whose latest content is not yet in an item (matches the partial index)."""
    return or_(
        InboundDelivery.applied_hash.is_(None),
        InboundDelivery.applied_hash != InboundDelivery.content_hash,
    )


def process_delivery(delivery_id: str) -> int | None:
    """Route one stored delivery into its item and commit; running it twice changes nothing.

    A failure is counted on the delivery and raised, so the job is retried; after
    `MAX_ATTEMPTS` the delivery is set aside (`record_failure`) and the job ends."""
    try:
        delivery = db.session.get(InboundDelivery, delivery_id, with_for_update=True)
        if delivery is None:
            return None
        first = delivery.item_id is None
        item = process(db.session, delivery, channel_registry())
        channel, received_at = delivery.channel, delivery.received_at
        db.session.commit()
        if first and item is not None:
            routed_one(channel, received_at)
    except Exception as error:
        db.session.rollback()
        if _failed(delivery_id, error):
            return None
        raise
    except BaseException:
        db.session.rollback()
        raise
    if item is not None:
        request_dispatch()
    return item.id if item else None


def _failed(delivery_id: str, error: Exception) -> bool:
    """Record a failed attempt in a transaction of its own; True when it was set aside."""
    try:
        delivery = db.session.get(InboundDelivery, delivery_id, with_for_update=True)
        if delivery is None:
            return False
        set_aside = record_failure(delivery, error)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record the failure of delivery %s", delivery_id)
        return False
    if set_aside:
        log.error(
            "delivery %s set aside after %d attempts (%s)",
            delivery_id,
            delivery.attempts,
            type(error).__name__,
        )
    return set_aside


def routed_one(channel: str, received_at: datetime) -> None:
    """Count a delivery that became an item, and how long after its acceptance (read before
    the commit: after it, each delivery would be read again)."""
    metrics.ROUTED.labels(channel).inc()
    lag = (utcnow() - received_at).total_seconds()
    metrics.INTAKE_LAG.labels(channel).observe(max(lag, 0.0))


def request_drain() -> None:
    """Make sure a drain will run after this moment (cheap when one is already waiting)."""
    enqueue_once(drain_deliveries, WAITING_DRAIN)


#: how long a drain waits for deliveries that others hold locked before it hands them on
LOCK_WAIT = "5s"


def drain_deliveries() -> int:
    """Route every delivery whose content is not yet in an item, a batch per transaction.

    Batches skip the rows that others hold locked (another drain's batch, a repeat of a
    delivery being received), so drains side by side never wait for each other. When nothing
    unlocked is left, the drain waits for the locked ones rather than leave them to the
    sweep: a repeat that held its row while this drain passed it by wakes nobody else.

    From its first batch on, the drain holds the waiting flag (`hold`): what arrives asks
    for no other drain, as this one looks again, and after a batch that was not full it
    lets deliveries gather for a moment first. Under load one drain routes batches of what
    arrived meanwhile, instead of two routing a few deliveries each. It lets go of the flag
    when it finds nothing and looks once more; after DRAIN_SECONDS it hands over to a new
    drain job."""
    started(WAITING_DRAIN)
    inline = current_app.config["DESK_JOBS_INLINE"]
    holder = uuid.uuid4().hex
    held = False  # whether this drain holds the waiting flag: others rely on it to look again
    failed: set[str] = set()
    routed = 0
    ends = time.monotonic() + DRAIN_SECONDS
    try:
        while True:
            batch = _next_batch(failed, skip_locked=True)
            if not batch and held:
                # Nothing came: let go, then look once more. What came before is seen now; what
                # comes after asks for a new drain.
                _release()
                held = False
                batch = _next_batch(failed, skip_locked=True)
            batch = batch or _locked_by_others(failed)
            if batch is None:
                # Still locked after LOCK_WAIT (or a deadlock): another drain takes over.
                request_drain()
                break
            if not batch:
                db.session.commit()
                break
            # Whoever asks for a drain from now on relies on this one to look again, unless
            # another was asked for since this one last let go.
            held = hold(WAITING_DRAIN, holder)
            first = {delivery.id for delivery in batch if delivery.item_id is None}
            try:
                with db.session.begin_nested():
                    items = process_batch(db.session, batch, channel_registry())
            except Exception:
                # Something in the batch failed: each delivery alone, so that one bad delivery
                # does not hold up the rest.
                items = [_alone(delivery, failed) for delivery in batch]
            routed += sum(1 for delivery in batch if delivery.id not in failed)
            fresh = [
                (d.channel, d.received_at)
                for d, item in zip(batch, items, strict=True)
                if d.id in first and item
            ]
            db.session.commit()
            for channel, received_at in fresh:
                routed_one(channel, received_at)
            if not held:
                break  # another drain was asked for: it routes what comes
            if not inline and time.monotonic() > ends:
                _release()
                request_drain()  # a new job goes on
                break
            if not inline and len(batch) < BATCH:
                # Let more gather: under load the next batch is what arrives meanwhile.
                time.sleep(GATHER_SECONDS)
    except BaseException:
        if held:
            _release()  # this drain looks no more: whoever asks gets another
        raise
    if routed:
        request_dispatch()
    return routed


def _release() -> None:
    """About to look again: from here on, whoever asks for a drain gets another (`started`).
    If Redis fails, the hold lapses by itself (`HOLD_SECONDS`)."""
    with contextlib.suppress(RedisError):
        started(WAITING_DRAIN)


def _alone(delivery: InboundDelivery, failed: set[str]) -> WorkItem | None:
    """Route one delivery of a batch that failed; a failure is counted on the delivery and
    noted in `failed` (the sweep retries it alone)."""
    try:
        with db.session.begin_nested():
            return process(db.session, delivery, channel_registry())
    except Exception as error:
        log.exception("routing delivery %s failed", delivery.id)
        failed.add(delivery.id)
        if record_failure(delivery, error):
            log.error("delivery %s set aside after %d attempts", delivery.id, delivery.attempts)
        return None


def _next_batch(failed: set[str], *, skip_locked: bool) -> list[InboundDelivery]:
    return db.session.scalars(
        select(InboundDelivery)
        .where(unapplied(), InboundDelivery.id.not_in(failed) if failed else true())
        .order_by(InboundDelivery.received_at)
        .limit(BATCH)
        .with_for_update(skip_locked=skip_locked)
    ).all()


def _locked_by_others(failed: set[str]) -> list[InboundDelivery] | None:
    """The unapplied deliveries that others hold, once their locks are released (rows that
    are applied by then no longer match); None if they are still held after LOCK_WAIT."""
    if db.session.get_bind().dialect.name != "postgresql":
        return []  # SQLite: one writer at a time, nothing is ever skipped
    try:
        with db.session.begin_nested():
            db.session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
            batch = _next_batch(failed, skip_locked=False)
            db.session.execute(text("SET LOCAL lock_timeout = 0"))
    except OperationalError:
        log.warning("deliveries still locked after %s; another drain takes them", LOCK_WAIT)
        db.session.rollback()
        return None
    return batch
