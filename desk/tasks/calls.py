"""Phone calls' retries: items whose next try has come go back to their queue (desk.work.calls).

Run by the scheduler every RETRY_SWEEP_SECONDS with Redis, and by the embedded default's own
thread (desk.tasks.outbound.Courier) without it; automatic assignment then gives them out.
"""

from __future__ import annotations

from ..extensions import db
from ..work import calls
from .assign import request_dispatch

#: how often retries are looked for: an item is back at most this late
RETRY_SWEEP_SECONDS = 15


def return_retries() -> int:
    """Bring back the items whose next call is due; returns how many."""
    try:
        back = calls.bring_back(db.session)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if back:
        request_dispatch()
    return len(back)
