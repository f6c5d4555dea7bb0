"""My work: the items I hold, then what I may take from my queues, and take next."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import func, select

from ..extensions import db
from ..lifecycle import take_next, takeable, work_order
from ..models import ItemStatus, WorkItem, utcnow
from ..security import WORKERS, is_htmx, me, roles_required

bp = Blueprint("work", __name__)

PAGE = 50


@bp.get("/")
def home():
    """Each role's start page (an auditor's is the access log); signed out, My work, which
    asks to sign in first."""
    from .auth import home as start_page

    return redirect(start_page())


def _my_work(queue_filter: str | None, message: str | None = None) -> dict:
    user = me()
    held = db.session.scalars(
        select(WorkItem)
        .where(
            WorkItem.assignee_id == user.id,
            WorkItem.status.in_([ItemStatus.IN_PROGRESS.value, ItemStatus.WAITING.value]),
        )
        .order_by(*work_order())
    ).all()
    within = {queue_filter} if queue_filter in user.queue_codes else None
    available_where = takeable(user, within)
    available = db.session.scalars(
        select(WorkItem).where(*available_where).order_by(*work_order()).limit(PAGE)
    ).all()
    available_total = db.session.scalar(
        select(func.count()).select_from(WorkItem).where(*available_where)
    )
    return {
        "held": held,
        "available": available,
        "available_total": available_total,
        "queues": user.queues,
        "queue_filter": queue_filter if queue_filter in user.queue_codes else "",
        "now": utcnow(),
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
