"""The dispatch job: the desk gives waiting items of the queues that assign automatically to
available members with room (desk.work.assignment). Asked for after arrivals and after anything
that frees room or changes who is available; the sweep runs it too, every 30 s."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from ..extensions import channel_registry, db
from ..work import assignment
from . import enqueue_once, started

log = logging.getLogger(__name__)


#: set while a dispatch waits in the queue (`enqueue_once`)
WAITING_DISPATCH = "desk:dispatch-waiting"


def dispatch_waiting() -> int:
    """Dispatch once and commit; returns how many items were given."""
    started(WAITING_DISPATCH)
    try:
        given = assignment.dispatch(db.session, channel_registry().weight)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return len(given)


def request_dispatch() -> None:
    """Run a dispatch now (embedded default) or soon (a worker).

    Called after a change is committed: with Redis down the change stands, and the sweep's
    dispatch gives the waiting items once Redis is back (an error here would only turn a
    saved action into an error page)."""
    try:
        enqueue_once(dispatch_waiting, WAITING_DISPATCH)
    except RedisError as error:
        log.warning("Redis unavailable (%s): the next sweep dispatches", error)
