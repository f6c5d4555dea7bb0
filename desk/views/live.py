"""The Server-Sent Events stream that live pages listen to."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, abort, current_app, request
from flask_login import login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import escape

from .. import metrics
from ..live import Pushed
from ..policy import allows
from ..security import me
from ..training import spaces
from .guard import number
from .work import Lists, pusher, shorten

bp = Blueprint("live", __name__)


@bp.get("/events")
@login_required
def events():
    """Changes as they are committed (no resident data: only which queues changed). A My work
    page names its lists (`view=work`, with its queue filter and length): the stream then
    pushes them to it as they change, rendered once for every page with the same view."""
    if spaces.current() == spaces.TRAINING:
        # The stream is the real desk's: nothing of it reaches the training space, whoever
        # asks there (the route policy already refuses training accounts; pages there poll).
        abort(403)
    hub = current_app.extensions.get("desk_live")
    if hub is None:
        abort(404)
    return Response(
        _counted(hub.stream(_pushed())),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _pushed() -> Pushed | None:
    """The lists this page asks to be pushed, if it may see them."""
    if request.args.get("view") != "work" or not allows("work.index", me().role):
        return None
    user = me()
    view = Lists.of(user, request.args.get("queue") or None, number(request.args.get("shown")))
    token = escape(generate_csrf())
    return Pushed(
        key=view.key(),
        queues=view.queues,
        municipalities=view.municipalities,
        render=pusher(view),
        token=token,
        shorten=shorten,
        wants=_told(user.id, view.queues),
    )


def _told(person: int, queues: frozenset[str] | None) -> Callable[[dict], bool]:
    """Which changes a My work page still needs told, its lists being pushed (desk.js): those
    that name its person ("items I hold"), and new emergencies in its queues (the alert).
    At a thousand open pages, every change told to every page was most of the stream's
    work."""

    def wants(change: dict) -> bool:
        if person in (change.get("people") or ()):
            return True
        emergencies = change.get("emergencies") or ()
        return bool(emergencies) and (queues is None or not queues.isdisjoint(emergencies))

    return wants


def _counted(stream):
    """The stream, counted among the open ones while it lasts (desk_sse_clients)."""
    metrics.SSE_CLIENTS.inc()
    try:
        yield from stream
    finally:
        metrics.SSE_CLIENTS.dec()
