"""Jobs that turn stored inbound deliveries into work items."""

from __future__ import annotations

from ..extensions import db
from ..intake import process
from ..models import InboundDelivery


def process_delivery(delivery_id: str) -> int | None:
    """Route one stored delivery into its item and commit; running it twice changes nothing."""
    try:
        delivery = db.session.get(InboundDelivery, delivery_id, with_for_update=True)
        if delivery is None:
            return None
        item = process(db.session, delivery)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return item.id if item else None
