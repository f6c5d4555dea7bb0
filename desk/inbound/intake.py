"""Turning a stored inbound delivery into exactly one routed work item with its deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..channels import Registry
from ..channels.base import Adapter
from ..models import DeliveryStatus, EventKind, InboundDelivery, WorkItem, utcnow
from ..outbound.conversation import refresh_target
from ..work.lifecycle import record
from .deadlines import HELSINKI
from .routing import RoutingError, route

#: how many times a delivery that makes intake fail is tried before it is set aside
MAX_ATTEMPTS = 5


def build_item(session: Session, adapter: Adapter, payload: dict[str, Any]) -> WorkItem:
    """A routed, deadlined item for a valid payload (not yet added to the session)."""
    channel = adapter.name
    resident = payload.get("resident") or {}
    identified = resident.get("identification") == "strong"
    submitted_at = datetime.fromisoformat(payload["submitted_at"])
    queue = route(
        session,
        channel=channel,
        identified=identified,
        municipality=payload.get("municipality"),
        form_type=adapter.form_type(payload),
        day=submitted_at.astimezone(HELSINKI).date(),
    )
    deadline = adapter.deadline(payload, submitted_at)
    return WorkItem(
        channel=channel,
        external_id=payload["external_id"],
        title=adapter.title(payload),
        queue=queue,
        service_area_code=queue.service_area_code,
        emergency=deadline.emergency,
        urgency=adapter.urgency(payload),
        submitted_at=submitted_at,
        due_at=deadline.due_at,
        municipality_code=payload.get("municipality"),
        language=payload.get("language") or "fi",
        identification="strong" if identified else "none",
        personal_id=resident.get("personal_id") if identified else None,
        resident_name=resident.get("name"),
        resident_phone=adapter.phone(payload),
        resident_email=resident.get("email"),
        content=adapter.content(payload),
    )


def _create(session: Session, delivery: InboundDelivery, adapter: Adapter) -> WorkItem | None:
    existing = session.scalar(
        select(WorkItem).where(
            WorkItem.channel == delivery.channel, WorkItem.external_id == delivery.external_id
        )
    )
    if existing is not None:
        return existing
    try:
        item = build_item(session, adapter, delivery.payload)
    except RoutingError as error:
        delivery.status = DeliveryStatus.REJECTED.value
        delivery.reason = str(error)
        return None
    now = utcnow()
    item.created_at = item.updated_at = now
    session.add(item)
    record(session, item, None, EventKind.CREATED, at=now)
    record(session, item, None, EventKind.ROUTED, at=now, to_queue_code=item.queue.code)
    session.flush()
    refresh_target(session, item)
    return item


def _apply_update(
    session: Session, delivery: InboundDelivery, item: WorkItem, adapter: Adapter
) -> None:
    """A grown chat: the item gets the longer conversation (the old one is its prefix)."""
    item.content = adapter.content(delivery.payload)
    now = utcnow()
    item.updated_at = now
    refresh_target(session, item)
    record(session, item, None, EventKind.UPDATED, at=now)


def process(session: Session, delivery: InboundDelivery, channels: Registry) -> WorkItem | None:
    """Bring the delivery's item up to date with it; repeating this changes nothing."""
    adapter = channels.get(delivery.channel)
    if delivery.status == DeliveryStatus.REJECTED.value:
        delivery.applied_hash = delivery.content_hash
        return None
    delivery.attempts += 1
    if delivery.item_id is None:
        item = _create(session, delivery, adapter)
        if item is None:
            delivery.applied_hash = delivery.content_hash
            session.flush()
            return None
        delivery.item_id = item.id
        delivery.status = DeliveryStatus.ROUTED.value
    else:
        item = session.get(WorkItem, delivery.item_id)
        if delivery.applied_hash != delivery.content_hash:
            _apply_update(session, delivery, item, adapter)
    delivery.applied_hash = delivery.content_hash
    session.flush()
    return item


def record_failure(delivery: InboundDelivery, error: BaseException) -> bool:
    """Count a failed attempt at `delivery` (its transaction was rolled back) and say why.

    After MAX_ATTEMPTS the delivery is set aside, visibly and for good, instead of being
    tried again by every sweep: a new one is `rejected` with the reason (the source system
    sees it in the processing state), a grown chat keeps its item as it was. The stored
    payload stays as it arrived. True when it was set aside."""
    delivery.attempts += 1
    if delivery.attempts < MAX_ATTEMPTS:
        return False
    # The source system reads the reason: the error's kind, not its text (the log has that).
    delivery.reason = f"intake failed ({type(error).__name__}); attempts: {delivery.attempts}"
    if delivery.item_id is None:
        delivery.status = DeliveryStatus.REJECTED.value
    delivery.applied_hash = delivery.content_hash
    return True
