"""Jobs that turn stored inbound deliveries into work items.

Under load, deliveries are routed in batches by `drain_deliveries`: at most one drain waits in
the queue at a time, any number run side by side (each locks its own rows), and a drain runs
until nothing is left. `process_delivery` routes one delivery; the sweep uses it.
"""

from __future__ import annotations

import logging

from sqlalchemy import or_, select

from ..extensions import db
from ..intake import process
from ..models import InboundDelivery
from . import enqueue, redis_connection
from .assign import request_dispatch

log = logging.getLogger(__name__)
WAITING_DRAIN = "desk:drain-waiting"
BATCH = 100


def unapplied():
    """Deliveries whose latest content is not yet in an item (matches the partial index)."""
    return or_(
        InboundDelivery.applied_hash.is_(None),
        InboundDelivery.applied_hash != InboundDelivery.content_hash,
    )


def process_delivery(delivery_id: str) -> int | None:
    """Route one stored delivery into its item and commit; running it twice changes nothing."""
    try:
        delivery = db.session.get(InboundDelivery, delivery_id, with_for_update=True)
        if delivery is None:
            return None
        item = process(db.session, delivery)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if item is not None:
        request_dispatch()
    return item.id if item else None


def request_drain() -> None:
    """Make sure a drain will run after this moment (cheap when one is already waiting)."""
    if redis_connection().set(WAITING_DRAIN, 1, nx=True, ex=300):
        enqueue(drain_deliveries)


def drain_deliveries() -> int:
    """Route every delivery whose content is not yet in an item, a batch per transaction."""
    # From here on, a new delivery must wake another drain: this one may already be past it.
    redis_connection().delete(WAITING_DRAIN)
    failed: set[str] = set()
    routed = 0
    while True:
        batch = db.session.scalars(
            select(InboundDelivery)
            .where(unapplied(), InboundDelivery.id.not_in(failed) if failed else True)
            .order_by(InboundDelivery.received_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        if not batch:
            db.session.commit()
            if routed:
                request_dispatch()
            return routed
        for delivery in batch:
            try:
                with db.session.begin_nested():
                    process(db.session, delivery)
                routed += 1
            except Exception:
                # One bad delivery must not hold up the rest; the sweep retries it alone.
                log.exception("routing delivery %s failed", delivery.id)
                failed.add(delivery.id)
        db.session.commit()
