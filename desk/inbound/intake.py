"""Turning a stored inbound delivery into exactly one routed work item with its deadline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from ..channels import Registry
from ..channels.base import Adapter
from ..models import DeliveryStatus, EventKind, InboundDelivery, WorkItem, utcnow
from ..outbound.conversation import refresh_target
from ..work.lifecycle import record
from .deadlines import HELSINKI
from .routing import Router, RoutingError

#: how many times a delivery that makes intake fail is tried before it is set aside
MAX_ATTEMPTS = 5


def build_item(
    session: Session, adapter: Adapter, payload: dict[str, Any], router: Router | None = None
) -> WorkItem:
    """A routed, deadlined item for a valid payload (not yet added to the session); `router`
    when a batch shares one."""
    channel = adapter.name
    resident = payload.get("resident") or {}
    identified = resident.get("identification") == "strong"
    submitted_at = datetime.fromisoformat(payload["submitted_at"])
    queue = (router or Router(session)).route(
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
        # Set on every new item, a chat or not (`refresh_target`): items that set the same
        # columns are inserted together.
        unanswered_since=None,
        answer_by=None,
    )


def _create(
    session: Session, delivery: InboundDelivery, adapter: Adapter, router: Router
) -> WorkItem | None:
    try:
        item = build_item(session, adapter, delivery.payload, router)
    except RoutingError as error:
        delivery.status = DeliveryStatus.REJECTED.value
        delivery.reason = str(error)
        return None
    now = utcnow()
    item.created_at = item.updated_at = now
    session.add(item)
    # The same columns in both events, so that a batch's events are inserted together.
    record(session, item, None, EventKind.CREATED, at=now, to_queue_code=None)
    record(session, item, None, EventKind.ROUTED, at=now, to_queue_code=item.queue.code)
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
    return process_batch(session, [delivery], channels)[0]


def process_batch(
    session: Session, deliveries: Sequence[InboundDelivery], channels: Registry
) -> list[WorkItem | None]:
    """`process` for each delivery, in one flush: the new items are inserted together (one
    statement, so the kept counts' triggers run once), the routing rules are read once and
    the items that exist already are read together. The deliveries' items, in order; None
    for a delivery that was rejected."""
    router = Router(session)
    items = _stored_items(session, deliveries)
    tried = []  # the deliveries tried now (a rejected one is done with)
    for delivery in deliveries:
        if delivery.status == DeliveryStatus.REJECTED.value:
            continue
        tried.append(delivery)
        adapter = channels.get(delivery.channel)
        if delivery.item_id is None:
            if delivery.id not in items:
                items[delivery.id] = _create(session, delivery, adapter, router)
        elif delivery.applied_hash != delivery.content_hash and delivery.id in items:
            _apply_update(session, delivery, items[delivery.id], adapter)
    session.flush()  # the new items get their ids
    for delivery in tried:
        delivery.attempts += 1
        item = items.get(delivery.id)
        if item is not None and delivery.item_id is None:
            delivery.item_id = item.id
            delivery.status = DeliveryStatus.ROUTED.value
    for delivery in deliveries:
        delivery.applied_hash = delivery.content_hash
    session.flush()
    return [items.get(delivery.id) for delivery in deliveries]


def _stored_items(
    session: Session, deliveries: Sequence[InboundDelivery]
) -> dict[str, WorkItem | None]:
    """The items the deliveries already have, by delivery id: a delivery's own item, or an
    item of its channel and external id that the delivery was not yet linked to."""
    linked = {d.item_id: d.id for d in deliveries if d.item_id is not None}
    unlinked = {(d.channel, d.external_id): d.id for d in deliveries if d.item_id is None}
    found: dict[str, WorkItem | None] = {}
    if linked:
        for item in session.scalars(select(WorkItem).where(WorkItem.id.in_(linked))):
            found[linked[item.id]] = item
    if unlinked:
        for item in session.scalars(
            select(WorkItem).where(tuple_(WorkItem.channel, WorkItem.external_id).in_(unlinked))
        ):
            found[unlinked[item.channel, item.external_id]] = item
    return found


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
