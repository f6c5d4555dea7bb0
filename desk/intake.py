"""Turning a stored inbound delivery into a routed work item with its deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .deadlines import HELSINKI, deadline_for
from .lifecycle import record
from .models import DeliveryStatus, EventKind, InboundDelivery, WorkItem, utcnow
from .routing import RoutingError, route

TITLE_LIMIT = 300
# A chat has no title of its own: its first words stand in, short enough to scan in a list.
CHAT_TITLE_LIMIT = 90
# The channel-specific part of a payload that the item shows as its content.
CONTENT_FIELDS = {
    "chat": ("topic", "bot_summary", "conversation"),
    "omaolo": ("assessment",),
    "eform": ("form", "urgent"),
    "help-request": ("request",),
}


def _title(channel: str, payload: dict[str, Any]) -> str:
    if channel == "chat":
        first = next(
            (m["text"] for m in payload["conversation"] if m["sender"] == "resident"),
            payload["conversation"][0]["text"],
        )
        title = payload.get("topic") and f"{payload['topic']}: {first}" or first
    elif channel == "omaolo":
        title = payload["assessment"]["title"]
    elif channel == "eform":
        title = payload["form"]["title"]
    else:
        title = payload["request"]["topic"]
    title = " ".join(title.split())
    limit = CHAT_TITLE_LIMIT if channel == "chat" else TITLE_LIMIT
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def build_item(session: Session, channel: str, payload: dict[str, Any]) -> WorkItem:
    """A routed, deadlined item for a valid payload (not yet added to the session)."""
    resident = payload.get("resident") or {}
    identified = resident.get("identification") == "strong"
    submitted_at = datetime.fromisoformat(payload["submitted_at"])
    assessment = payload.get("assessment") or {}
    form = payload.get("form") or {}
    queue = route(
        session,
        channel=channel,
        identified=identified,
        municipality=payload.get("municipality"),
        form_type=form.get("type"),
        day=submitted_at.astimezone(HELSINKI).date(),
    )
    deadline = deadline_for(
        channel,
        submitted_at,
        assessment_kind=assessment.get("kind"),
        urgency=assessment.get("urgency"),
        form_type=form.get("type"),
        urgent=bool(payload.get("urgent")),
    )
    return WorkItem(
        channel=channel,
        external_id=payload["external_id"],
        title=_title(channel, payload),
        queue=queue,
        service_area_code=queue.service_area_code,
        emergency=deadline.emergency,
        urgency=assessment.get("urgency"),
        submitted_at=submitted_at,
        due_at=deadline.due_at,
        municipality_code=payload.get("municipality"),
        language=payload.get("language") or "fi",
        identification="strong" if identified else "none",
        personal_id=resident.get("personal_id") if identified else None,
        resident_name=resident.get("name"),
        resident_phone=resident.get("phone"),
        resident_email=resident.get("email"),
        content={k: payload[k] for k in CONTENT_FIELDS[channel] if k in payload},
    )


def process(session: Session, delivery: InboundDelivery) -> WorkItem | None:
    """Route a pending delivery into exactly one item; repeating it changes nothing."""
    if delivery.status != DeliveryStatus.PENDING.value:
        return session.get(WorkItem, delivery.item_id) if delivery.item_id else None
    delivery.attempts += 1
    existing = session.scalar(
        select(WorkItem).where(
            WorkItem.channel == delivery.channel, WorkItem.external_id == delivery.external_id
        )
    )
    if existing is not None:
        item = existing
    else:
        try:
            item = build_item(session, delivery.channel, delivery.payload)
        except RoutingError as error:
            delivery.status = DeliveryStatus.REJECTED.value
            delivery.reason = str(error)
            session.flush()
            return None
        now = utcnow()
        item.created_at = item.updated_at = now
        session.add(item)
        record(session, item, None, EventKind.CREATED, at=now)
        record(session, item, None, EventKind.ROUTED, at=now, to_queue_code=item.queue.code)
    session.flush()
    delivery.status = DeliveryStatus.ROUTED.value
    delivery.item_id = item.id
    session.flush()
    return item
