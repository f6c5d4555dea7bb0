"""The Server-Sent Events stream that live pages listen to."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app
from flask_login import login_required

from .. import metrics
from ..training import spaces

bp = Blueprint("live", __name__)


@bp.get("/events")
@login_required
def events():
    """Changes as they are committed (no resident data: only which queues changed)."""
    if spaces.current() == spaces.TRAINING:
        # The stream is the real desk's: nothing of it reaches the training space, whoever
        # asks there (the route policy already refuses training accounts; pages there poll).
        abort(403)
    hub = current_app.extensions.get("desk_live")
    if hub is None:
        abort(404)
    return Response(
        _counted(hub.stream()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _counted(stream):
    """The stream, counted among the open ones while it lasts (desk_sse_clients)."""
    metrics.SSE_CLIENTS.inc()
    try:
        yield from stream
    finally:
        metrics.SSE_CLIENTS.dec()
