"""My work: emergencies waiting in my queues first, the items I hold, then what I may take
from my queues a page at a time, and take next. An open page refreshes the lists by itself
and watches for new emergencies (`emergencies`)."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from ..extensions import db
from ..models import utcnow
from ..security import WORKERS, is_htmx, me, roles_required
from ..work import worklist
from ..work.lifecycle import take_next
from .guard import number

bp = Blueprint("work", __name__)

PAGE = worklist.PAGE


@bp.get("/")
def home():
    """Each role's start page (an auditor's is the access log); signed out, My work, which
    asks to sign in first."""
    from .auth import home as start_page

    return redirect(start_page())


def _my_work(queue_filter: str | None, message: str | None = None) -> dict:
    user = me()
    now = utcnow()
    within = {queue_filter} if queue_filter in user.queue_codes else None
    shown = worklist.shown_rows(number(request.args.get("shown"), high=worklist.MOST * 10))
    lists = worklist.waiting(db.session, user, now, within=within, shown=shown)
    return {
        "held": worklist.held(db.session, user),
        "emergencies": lists.emergencies,
        "emergency_count": lists.emergency_count,
        "available": lists.items,
        "available_total": lists.count,
        "beyond": lists.beyond,
        "waiting_total": lists.total,
        "shown": shown,
        "first_new_id": lists.first_new_id,
        "page_size": PAGE,
        "most": worklist.MOST,
        "overdue_most": worklist.OVERDUE_MOST,
        "queues": user.queues,
        "queue_filter": queue_filter if queue_filter in user.queue_codes else "",
        "now": now,
        "message": message,
    }


@bp.get("/work")
@login_required
def index():
    """My work, in the contract's order, with waiting time and time left."""
    context = _my_work(request.args.get("queue") or None)
    if is_htmx():
        return render_template("work/_lists.html", **context)
    return render_template("work/index.html", **context)


@bp.get("/work/emergencies")
@roles_required(*WORKERS)
def emergencies():
    """What an open page asks every so often (and at once when the live stream names one of
    my queues): have emergencies of my concern arrived since the newest one it has seen?
    Numbers only, of the user's own queues and municipalities, in the request's space."""
    seen = number(request.args.get("seen"), low=0) or 0
    newest, arrived = worklist.emergencies_since(db.session, me(), seen)
    response = jsonify(newest=newest, arrived=arrived)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/work/take-next")
@roles_required(*WORKERS)
def next_item():
    """Take the first item in order from my queues and open it."""
    item = take_next(db.session, me())
    db.session.commit()
    if item is None:
        context = _my_work(
            request.form.get("queue") or None,
            message=_("There is nothing to take in your queues right now."),
        )
        if is_htmx():
            return render_template("work/_lists.html", **context)
        return render_template("work/index.html", **context)
    return redirect(url_for("items.show", item_id=item.id))
