"""The sweep: hands deliveries whose content has not reached an item to the intake job again
(a worker killed mid-job, Redis down when the delivery arrived, a failed retry)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import InboundDelivery, utcnow
from . import enqueue
from .assign import dispatch_waiting
from .inbound import process_delivery, unapplied
from .outbound import lapse_requests

GRACE = timedelta(seconds=30)
BATCH = 1000


def sweep_pending(grace_seconds: float = GRACE.total_seconds()) -> int:
    """Re-enqueue unapplied deliveries older than the grace period; returns how many."""
    cutoff = utcnow() - timedelta(seconds=grace_seconds)
    ids = db.session.scalars(
        select(InboundDelivery.id)
        .where(unapplied(), InboundDelivery.received_at < cutoff)
        .order_by(InboundDelivery.received_at)
        .limit(BATCH)
    ).all()
    db.session.commit()
    for delivery_id in ids:
        enqueue(process_delivery, delivery_id, job_id=f"delivery-{delivery_id}")
    # Requests for more information whose answer-by date passed come back "no answer".
    enqueue(lapse_requests)
    # Also the safety net of automatic assignment (someone's break ended, a lost job).
    enqueue(dispatch_waiting)
    return len(ids)
