"""The outbox: each event for a source system is a row written in the same transaction as the
action that made it (so a crash after the commit delays it, never loses it), with its body
fixed once, so that every attempt sends and signs the same bytes under the same id."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from ..inbound.deadlines import HELSINKI
from ..models import EventState, ItemMessage, OutboundEndpoint, OutboxEvent, WorkItem
from . import new_id
from .endpoints import for_channel, simulated

MESSAGE_CREATED = "message.created"
CONVERSATION_CLOSED = "conversation.closed"
ITEM_UPDATED = "item.updated"

#: the item's events whose flush should wake delivery after the commit (desk.tasks.outbound)
PENDING_ITEMS = "desk_outbox_items"


def moment(at: datetime | None) -> str | None:
    """A time as the contract writes it: ISO 8601 in Helsinki time, with its offset."""
    return at.astimezone(HELSINKI).isoformat(timespec="seconds") if at else None


def emit(
    session: Session,
    endpoint: OutboundEndpoint,
    item: WorkItem,
    kind: str,
    data: dict,
    now: datetime,
    *,
    message: ItemMessage | None = None,
) -> OutboxEvent:
    """Add one event for `endpoint` to the outbox; it goes out after the commit (to the
    training space's residents it is delivered as it is made)."""
    body = json.dumps(
        {"type": kind, "timestamp": moment(now), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    event = OutboxEvent(
        id=message.id if message is not None else new_id("evt"),
        endpoint=endpoint,
        item_id=item.id,
        message_id=message.id if message is not None else None,
        type=kind,
        body=body,
        created_at=now,
        next_attempt_at=now,
        state="pending",
        attempts=0,
    )
    session.add(event)
    if simulated(endpoint):  # the training space's residents: taken at once, sent nowhere
        event.state, event.delivered_at = EventState.DELIVERED.value, now
    else:
        wake(session, item.id)
    return event


def wake(session: Session, item_id: int) -> None:
    """After this session's commit, delivery looks at the item's outbox."""
    session.info.setdefault(PENDING_ITEMS, set()).add(item_id)


def delivery_ref(item: WorkItem) -> dict:
    """The inbound delivery an event is about: its channel, external id and the desk's item."""
    return {"channel": item.channel, "external_id": item.external_id, "item_id": str(item.id)}


def message_data(item: WorkItem, message: ItemMessage) -> dict:
    return {
        "message_id": message.id,
        **delivery_ref(item),
        "kind": message.kind,
        "language": message.language,
        "text": message.text,
        "links": message.links or [],
        "sender": {"display_name": message.sender_name, "title": message.sender_title},
        "reply_by": message.reply_by.isoformat() if message.reply_by else None,
        "sent_at": moment(message.at),
    }


def item_updated(session: Session, item: WorkItem, now: datetime) -> OutboxEvent | None:
    """Tell the item's source system its new state (taken, transferred, waiting, resolved),
    when a source system serves the channel; nothing otherwise."""
    endpoint = for_channel(session, item.channel)
    if endpoint is None:
        return None
    data = {
        **delivery_ref(item),
        "item_status": item.status,
        "queue": item.queue.code,
        "due_at": moment(item.due_at),
        "at": moment(now),
    }
    return emit(session, endpoint, item, ITEM_UPDATED, data, now)


def conversation_closed(
    session: Session, endpoint: OutboundEndpoint, item: WorkItem, text: str | None, now: datetime
) -> OutboxEvent:
    data = {**delivery_ref(item), "text": text, "at": moment(now)}
    return emit(session, endpoint, item, CONVERSATION_CLOSED, data, now)
