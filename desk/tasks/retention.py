"""The scheduler's erasure of resident data past its retention period (desk.work.retention)."""

from __future__ import annotations

import logging
import time

from flask import current_app
from sqlalchemy.orm import Session

from ..extensions import channel_registry, db
from ..models import utcnow
from ..training.spaces import TRAINING
from ..work import retention

log = logging.getLogger(__name__)

#: one run stops after this long and leaves the rest to the next (the scheduler's interval)
BUDGET_SECONDS = 50.0


def erase_expired(budget_seconds: float = BUDGET_SECONDS) -> dict[str, int]:
    """Erase, a batch per transaction, the resident data of items resolved more than
    DESK_RETENTION_DAYS ago, and of the training space's items of sessions that ended more
    than DESK_TRAINING_RETENTION_DAYS ago; logs the counts, never what was erased."""
    config = current_app.config
    deadline = time.monotonic() + budget_seconds
    real = _run(db.session, config["DESK_RETENTION_DAYS"], retention.erase_due, deadline)
    training = retention.Erased()
    if TRAINING in db.engines:
        with Session(db.engines[TRAINING]) as session:
            days = config["DESK_TRAINING_RETENTION_DAYS"]
            training = _run(session, days, retention.erase_training_due, deadline)
    for space, erased in (("real", real), ("training", training)):
        if erased.items:
            log.info(
                "retention: erased the resident data of %d items in the %s space "
                "(%d event texts, %d messages, %d outbound events, %d deliveries, "
                "%d feedback comments)",
                erased.items,
                space,
                erased.events,
                erased.messages,
                erased.outbox_events,
                erased.deliveries,
                erased.feedback_comments,
            )
    return {"items": real.items, "training_items": training.items}


def _run(session: Session, days: int, batch, deadline: float) -> retention.Erased:
    total = retention.Erased()
    while True:
        erased = batch(session, channel_registry(), utcnow(), days)
        session.commit()
        total.add(erased)
        if erased.items < retention.BATCH or time.monotonic() > deadline:
            return total
