"""Retention: a resolved item's resident data is erased once its retention period has passed.

The desk is a work queue, not the record: what matters of a contact is copied into the
municipality's client or patient system while the matter is handled. So after an item is
resolved and `days` have passed (DESK_RETENTION_DAYS; README, "Retention"), whatever names,
quotes or reaches its resident goes:

- on the item: the personal identity code, name, phone number and e-mail address; its content
  down to what its channel says outlives it (`Adapter.retained`: the form type, the
  assessment's code, the chatbot's topic: what reports and instructions classify by), its
  title to what its channel says (`Adapter.retained_title`: a chat's title quotes the
  resident, a callback's is their number);
- the texts of its events (notes, reasons, what a call was about), its messages (their text,
  links, attachments, failures, the source's ids), its outbox events' bodies, the payload
  of the delivery it came in, and the comments of the resident's satisfaction answers.

What the reports count stays: the item's queue, channel, municipality, language, kind of
identification, times, outcome and deadline; its events' kinds, times, queues, actors and
outcomes; its messages' kinds, directions, times and states; its satisfaction answers' scores
and whether the resident was satisfied. The access log is never touched: it is kept for its
own statutory period (README), and so still tells who looked at an erased item, and at which
resident's.

Erasure goes in batches, each its own transaction, and is idempotent: an erased item is marked
(`erased_at`) and never looked at again (the partial index `ix_work_item_unerased` holds only
the resolved items not yet erased).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..channels import Registry
from ..models import (
    EventState,
    InboundDelivery,
    ItemEvent,
    ItemFeedback,
    ItemMessage,
    OutboxEvent,
    TrainingCase,
    TrainingRun,
    WorkItem,
)

#: items erased in one transaction
BATCH = 500


@dataclass
class Erased:
    """How much one run erased (the log says counts only)."""

    items: int = 0
    events: int = 0
    messages: int = 0
    outbox_events: int = 0
    deliveries: int = 0
    feedback_comments: int = 0

    def add(self, other: Erased) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


def due(session: Session, cutoff: datetime, limit: int = BATCH) -> list[int]:
    """The resolved items, resolved before `cutoff`, whose resident data is still there
    (oldest first; ix_work_item_unerased)."""
    return list(
        session.scalars(
            select(WorkItem.id)
            .where(
                WorkItem.resolved_at.is_not(None),
                WorkItem.erased_at.is_(None),
                WorkItem.resolved_at < cutoff,
            )
            .order_by(WorkItem.resolved_at)
            .limit(limit)
        )
    )


def erase(session: Session, item_ids: list[int], channels: Registry, now: datetime) -> Erased:
    """Erase the resident data of these items (see the module's notes); flushes, the caller
    commits. Items already erased are left as they are."""
    erased = Erased()
    items = session.scalars(
        select(WorkItem)
        .where(WorkItem.id.in_(item_ids), WorkItem.erased_at.is_(None))
        .with_for_update(of=WorkItem)
        .execution_options(populate_existing=True)
    ).all()
    if not items:
        return erased
    ids = [item.id for item in items]
    for item in items:
        adapter = channels.get(item.channel)
        content = item.content or {}
        item.title = adapter.retained_title(item.title, content) if adapter else ""
        item.content = adapter.retained(content) if adapter else {}
        item.personal_id = item.resident_name = item.resident_phone = None
        item.resident_email = None
        item.erased_at = now
    erased.items = len(items)
    erased.events = session.execute(
        update(ItemEvent)
        .where(ItemEvent.item_id.in_(ids), ItemEvent.text.is_not(None))
        .values(text=None)
    ).rowcount
    erased.messages = session.execute(
        update(ItemMessage)
        .where(ItemMessage.item_id.in_(ids))
        .values(
            text="",
            links=None,
            attachments=None,
            failure=None,
            source_message_id=None,
            sender_name=None,
            sender_title=None,
        )
    ).rowcount
    erased.outbox_events = session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.item_id.in_(ids), OutboxEvent.state != EventState.PENDING.value)
        .values(body="", last_error=None)
    ).rowcount
    erased.deliveries = session.execute(
        update(InboundDelivery)
        .where(InboundDelivery.item_id.in_(ids))
        .values(payload={}, reason=None)
    ).rowcount
    erased.feedback_comments = session.execute(
        update(ItemFeedback)
        .where(ItemFeedback.item_id.in_(ids), ItemFeedback.comment.is_not(None))
        .values(comment=None)
    ).rowcount
    session.flush()
    return erased


def erase_due(
    session: Session, channels: Registry, now: datetime, days: int, limit: int = BATCH
) -> Erased:
    """One batch of the items whose retention period has passed (the caller commits and asks
    again until it erases nothing)."""
    return erase(session, due(session, now - timedelta(days=days), limit), channels, now)


def training_due(session: Session, cutoff: datetime, limit: int = BATCH) -> list[int]:
    """The training space's items of sessions that ended before `cutoff`, not yet erased
    (resolved or not: the session is over)."""
    return list(
        session.scalars(
            select(WorkItem.id)
            .join(TrainingCase, TrainingCase.item_id == WorkItem.id)
            .join(TrainingRun, TrainingRun.id == TrainingCase.run_id)
            .where(TrainingRun.ended_at < cutoff, WorkItem.erased_at.is_(None))
            .order_by(WorkItem.id)
            .limit(limit)
        )
    )


def erase_training_due(
    session: Session, channels: Registry, now: datetime, days: int, limit: int = BATCH
) -> Erased:
    """One batch of the training space's items whose session ended `days` ago."""
    return erase(session, training_due(session, now - timedelta(days=days), limit), channels, now)
