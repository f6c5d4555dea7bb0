"""Routing: which queue a delivery lands in, from the routing rules valid on its day."""

from __future__ import annotations

from datetime import date
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Queue, RoutingRule, SystemAreaMembership


class RoutingError(Exception):
    """No rule or queue fits the delivery; the delivery is rejected with this reason."""


def _valid_on(row: RoutingRule | SystemAreaMembership, day: date) -> bool:
    return row.valid_from <= day and (row.valid_to is None or row.valid_to > day)


class Router:
    """The routing rules, the active queues and the system areas as the session sees them,
    each read once (they are a few dozen rows): a batch of deliveries is routed in Python
    with one read of each, however many deliveries it holds."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @cached_property
    def _rules(self) -> list[RoutingRule]:
        return list(self.session.scalars(select(RoutingRule).order_by(RoutingRule.position)))

    @cached_property
    def _queues(self) -> list[Queue]:
        return list(
            self.session.scalars(select(Queue).where(Queue.active.is_(True)).order_by(Queue.code))
        )

    @cached_property
    def _memberships(self) -> list[SystemAreaMembership]:
        return list(
            self.session.scalars(
                select(SystemAreaMembership).order_by(SystemAreaMembership.valid_from.desc())
            )
        )

    def system_area(self, municipality: str, day: date) -> str:
        """The system area a municipality belongs to on `day`."""
        return system_area_in(self._memberships, municipality, day)

    def route(
        self,
        *,
        channel: str,
        identified: bool,
        municipality: str | None,
        form_type: str | None,
        day: date,
    ) -> Queue:
        """The active queue for a delivery arriving on `day`, by the first matching rule."""
        needs_municipality = False
        for rule in self._rules:
            if rule.channel != channel or not _valid_on(rule, day):
                continue
            if rule.identified is not None and rule.identified != identified:
                continue
            if rule.form_type is not None and rule.form_type != form_type:
                continue
            if rule.regional:
                area = None
            elif municipality is None:
                # A later rule may route it without (a callback about social services from a
                # caller who chose no municipality goes to the regional callbacks).
                needs_municipality = True
                continue
            else:
                area = self.system_area(municipality, day)
            for queue in self._queues:
                if queue.kind == rule.queue_kind and queue.system_area_code == area:
                    return queue
            raise RoutingError(f"no active {rule.queue_kind} queue for this delivery")
        if needs_municipality:
            raise RoutingError("the municipality is needed to route this delivery")
        raise RoutingError(f"no routing rule for channel {channel!r}")


def system_area_in(memberships, municipality: str, day: date) -> str:
    """The system area a municipality belongs to on `day`, by `memberships` (system area
    memberships, the latest beginning first)."""
    for membership in memberships:
        if membership.municipality_code == municipality and _valid_on(membership, day):
            return membership.system_area_code
    raise RoutingError(f"municipality {municipality!r} has no system area on {day}")


def route(session: Session, **delivery) -> Queue:
    """The active queue for a delivery (`Router.route`), the rules read afresh."""
    return Router(session).route(**delivery)
