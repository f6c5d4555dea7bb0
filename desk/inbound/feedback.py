"""The resident's satisfaction answer after their matter ended (../shared/contract/outbound.md,
"Satisfaction"): kept with the item, with the item's channel, municipality and queue copied in
for the statistics. Plain SQLAlchemy; no Flask."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ItemFeedback, ItemStatus, WorkItem


class NotResolved(Exception):
    """The item is still open: the resident is asked only after the matter ended."""


def record(session: Session, item: WorkItem, payload: dict) -> tuple[ItemFeedback, bool]:
    """Keep the answer (a valid `answers.Feedback` payload); (the answer, whether it is new).
    A repeated `feedback_id` on the item is the answer already kept, whatever the repeat
    says. Raises NotResolved for an item not resolved. The caller holds the item's row lock."""
    found = session.scalar(
        select(ItemFeedback).where(
            ItemFeedback.item_id == item.id, ItemFeedback.feedback_id == payload["feedback_id"]
        )
    )
    if found is not None:
        return found, False
    if item.status != ItemStatus.RESOLVED.value:
        raise NotResolved
    comment = (payload.get("comment") or "").strip() or None
    feedback = ItemFeedback(
        item_id=item.id,
        feedback_id=payload["feedback_id"],
        at=datetime.fromisoformat(payload["at"]),
        score=payload["score"],
        satisfied=payload.get("satisfied"),
        # An item whose resident data is already erased keeps no new resident text either.
        comment=None if item.erased_at is not None else comment,
        channel=item.channel,
        municipality_code=item.municipality_code,
        queue_code=item.queue_code,
    )
    session.add(feedback)
    session.flush()
    return feedback, True
