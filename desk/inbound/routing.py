"""Routing: which queue a delivery lands in, from the routing rules valid on its day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import Queue, RoutingRule, SystemAreaMembership


class RoutingError(Exception):
    """No rule or queue fits the delivery; the delivery is rejected with this reason."""


def _valid_on(model, day: date):
    return (model.valid_from <= day, or_(model.valid_to.is_(None), model.valid_to > day))


def system_area_of(session: Session, municipality: str, day: date) -> str:
    """The system area a municipality belongs to on `day`."""
    code = session.scalar(
        select(SystemAreaMembership.system_area_code)
        .where(
            SystemAreaMembership.municipality_code == municipality,
            *_valid_on(SystemAreaMembership, day),
        )
        .order_by(SystemAreaMembership.valid_from.desc())
        .limit(1)
    )
    if code is None:
        raise RoutingError(f"municipality {municipality!r} has no system area on {day}")
    return code


def route(
    session: Session,
    *,
    channel: str,
    identified: bool,
    municipality: str | None,
    form_type: str | None,
    day: date,
) -> Queue:
    """The active queue for a delivery arriving on `day`, by the first matching rule."""
    rules = session.scalars(
        select(RoutingRule)
        .where(RoutingRule.channel == channel, *_valid_on(RoutingRule, day))
        .order_by(RoutingRule.position)
    )
    needs_municipality = False
    for rule in rules:
        if rule.identified is not None and rule.identified != identified:
            continue
        if rule.form_type is not None and rule.form_type != form_type:
            continue
        query = select(Queue).where(Queue.kind == rule.queue_kind, Queue.active.is_(True))
        if rule.regional:
            query = query.where(Queue.system_area_code.is_(None))
        else:
            if municipality is None:
                # A later rule may route it without (a callback about social services from a
                # caller who chose no municipality goes to the regional callbacks).
                needs_municipality = True
                continue
            area = system_area_of(session, municipality, day)
            query = query.where(Queue.system_area_code == area)
        queue = session.scalar(query)
        if queue is None:
            raise RoutingError(f"no active {rule.queue_kind} queue for this delivery")
        return queue
    if needs_municipality:
        raise RoutingError("the municipality is needed to route this delivery")
    raise RoutingError(f"no routing rule for channel {channel!r}")
