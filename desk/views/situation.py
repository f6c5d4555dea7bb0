"""The situation view (tilannekuva): every queue's numbers, and the items behind each number."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError

from .. import live
from ..extensions import channel_registry, db, plan_once
from ..i18n import by_name, language
from ..models import (
    Queue,
    SavedView,
    ServiceArea,
    SystemArea,
    User,
    utcnow,
)
from ..security import is_htmx, me
from ..work import situation
from ..work.situation import Counts, Cursor, Filters
from .guard import cursor
from .labels import reference

bp = Blueprint("situation", __name__, url_prefix="/situation")
PAGE = 50


LIST_KEYS = ("queue", "state", "municipality", "channel", "service_area", "identification")


def _filters(args=None) -> Filters:
    args = request.args if args is None else args
    return Filters(
        municipality=args.get("municipality") or None,
        channel=args.get("channel") if args.get("channel") in channel_registry().names() else None,
        service_area=args.get("service_area") or None,
        identification=args.get("identification")
        if args.get("identification") in ("none", "strong")
        else None,
    )


def state_labels() -> dict[str, str]:
    return {
        "waiting": _("Waiting"),
        "in_progress": _("In progress"),
        "waiting_resident": _("Waiting for the resident"),
        "due_soon": _("Due within the hour"),
        "overdue": _("Overdue"),
        "emergency": _("Emergencies"),
    }


def phone_labels() -> dict[str, str]:
    return {
        "callbacks_waiting": _("Callbacks waiting"),
        "callbacks_due_soon": _("Callbacks due within the hour"),
        "callbacks_overdue": _("Callbacks overdue"),
        "retrying": _("Waiting for the next call"),
    }


def _choices() -> dict:
    kept = reference()
    return {
        # by their names in the interface language (Borgå before Lovisa in Swedish)
        "municipalities": by_name(kept.municipalities),
        "service_areas": by_name(kept.service_areas),
        "channels": channel_registry().names(),
    }


@bp.get("")
@login_required
def index():
    """Every queue the user may see, grouped by system area, with totals."""
    if is_htmx():
        # The live refresh: every open page asks after each change, so the numbers are
        # rendered once per change for everyone who sees the same (see live.shared_fragment).
        user = me()
        key = (
            sorted(user.queue_codes),
            sorted(user.municipality_codes),
            user.is_admin,
            request.full_path,
            language(),
        )
        return live.shared_fragment(key, _render_index)
    return _render_index()


def _render_index() -> str:
    plan_once(db.session)
    user = me()
    filters = _filters()
    now = utcnow()
    lang = language()
    numbers = situation.counts(db.session, user, filters, now)
    kept = reference()
    mine = user.queue_codes
    visible = [q for q in kept.queues if user.is_admin or q.code in mine]
    groups: dict[str | None, list] = {}
    for queue in sorted(
        visible, key=lambda q: (q.system_area_code or "", q.service_area_code, q.code)
    ):
        groups.setdefault(queue.system_area_code, []).append(
            (queue, numbers.get(queue.code, Counts()))
        )
    phone = situation.phone_counts(db.session, user, filters, now)
    phone_rows = [(q, phone[q.code]) for q in visible if phone.get(q.code)]
    phone_total = situation.PhoneCounts()
    for _queue, counts in phone_rows:
        phone_total.add(counts)
    by_service: dict[str, Counts] = {}
    for queue in visible:
        by_service.setdefault(queue.service_area_code, Counts()).add(
            numbers.get(queue.code, Counts())
        )
    sections = []
    total = Counts()
    for code, rows in groups.items():
        subtotal = Counts()
        for _queue, counts in rows:
            subtotal.add(counts)
        total.add(subtotal)
        name = kept.get(SystemArea, code).name(lang) if code else _("Whole region")
        sections.append({"code": code or "regional", "name": name, "rows": rows, "total": subtotal})
    # The live refresh asks for the numbers only; the page around them stays as it is.
    live_only = is_htmx()
    return render_template(
        "situation/_live.html" if live_only else "situation/index.html",
        lang=lang,
        sections=sections,
        total=total,
        by_service=[
            (kept.get(ServiceArea, code), counts) for code, counts in sorted(by_service.items())
        ],
        now=now,
        filters=filters,
        states=state_labels(),
        phone_states=phone_labels(),
        # shown when callbacks come in, or when any item waits for a call
        phone_rows=phone_rows,
        phone_total=phone_total,
        show_phone="callback" in channel_registry().names() or bool(phone_total),
        trends=situation.trends(db.session, user, filters, now),
        empty_trend=situation.Trend(),
        **({} if live_only else _choices()),
    )


@bp.get("/items")
@login_required
def items():
    """The open items behind one number of the view, in the contract's order, a page at a time."""
    plan_once(db.session)
    user = me()
    filters = _filters()
    queue = (
        db.session.get(Queue, request.args.get("queue", "")) if request.args.get("queue") else None
    )
    if queue is not None and not (user.is_admin or queue.code in user.queue_codes):
        abort(404)
    labels = state_labels() | phone_labels()
    state = request.args.get("state") if request.args.get("state") in labels else None
    after_id = cursor("after")
    after = Cursor.at(db.session, after_id) if after_id is not None else None
    now = utcnow()
    page = situation.items(
        db.session,
        user,
        filters,
        now,
        queue=queue.code if queue else None,
        state=state,
        after=after,
        limit=PAGE + 1,
    )
    more = len(page) > PAGE
    beyond = None
    if more:
        # What the next pages hold: how many, how many overdue, and the most urgent of them.
        count, overdue = situation.count_beyond(
            db.session,
            user,
            filters,
            now,
            queue=queue.code if queue else None,
            state=state,
            after=after,
            shown=page[:PAGE],
        )
        beyond = {"count": count, "overdue": overdue, "first": page[PAGE]}
    page = page[:PAGE]
    return render_template(
        "situation/items.html",
        items=page,
        more=more,
        beyond=beyond,
        queue=queue,
        state=state,
        states=labels,
        filters=filters,
        now=now,
        first_page=after is None,
    )


@bp.post("/views")
@login_required
def save_view():
    """Keep the list with these filters as a personal view in the navigation."""
    name = " ".join(request.form.get("name", "").split())[:80]
    params = {k: request.form[k] for k in LIST_KEYS if request.form.get(k)}
    if not name:
        flash(_("Give the view a name."), "error")
        return redirect(url_for("situation.items", **params))
    db.session.add(SavedView(user_id=me().id, name=name, params=params))
    _saved_views_changed()
    db.session.commit()
    flash(_("The view %(name)s was saved.", name=name), "success")
    return redirect(url_for("situation.items", **params))


@bp.post("/views/<int:view_id>/delete")
@login_required
def delete_view(view_id: int):
    """Remove one of my saved views."""
    view = db.session.get(SavedView, view_id)
    if view is None or view.user_id != me().id:
        abort(404)
    db.session.delete(view)
    _saved_views_changed()
    db.session.commit()
    flash(_("The view %(name)s was removed.", name=view.name), "success")
    return redirect(url_for("situation.index"))


def _saved_views_changed() -> None:
    """Move my saved views' version, in the transaction that changes them: every process
    reads them again at my next page (an increment in SQL, so two changes at once are two
    versions)."""
    db.session.execute(
        update(User)
        .where(User.id == me().id)
        .values(saved_views_version=User.saved_views_version + 1)
    )


@dataclass(frozen=True)
class Saved:
    """A saved view as the navigation and the situation view show it."""

    id: int
    name: str
    params: dict


#: built once: every whole page asks it, unless the process keeps the answer (below)
_SAVED_VIEWS = (
    select(SavedView.id, SavedView.name, SavedView.params)
    .where(SavedView.user_id == bindparam("user_id"))
    .order_by(SavedView.name)
)
#: per database (the real desk's, the training space's): per user id, the saved views read
#: and the version of them the user's row had when they were read
_kept_views: weakref.WeakKeyDictionary[Engine, dict[int, tuple[int, tuple[Saved, ...]]]] = (
    weakref.WeakKeyDictionary()
)


def my_saved_views() -> tuple[Saved, ...]:
    """The signed-in user's saved views, for pages that show them (fragments never ask).

    Read once per process while their version stands: the statement that read the request's
    user read the version too (`User.saved_views_version`), so a view saved or removed in
    any process is seen at the next page. (A version read before a change with views read
    after it keeps views newer than their version: the next page's version differs and reads
    them again.)"""
    from flask import g
    from flask_login import current_user

    if not current_user.is_authenticated:
        return ()
    if "saved_views" not in g:
        user = current_user.user
        try:
            kept = _kept_views.setdefault(db.session.get_bind(), {})
            version, views = kept.get(user.id, (None, ()))
            if version != user.saved_views_version:
                version = user.saved_views_version
                views = tuple(
                    Saved(*row) for row in db.session.execute(_SAVED_VIEWS, {"user_id": user.id})
                )
                kept[user.id] = (version, views)
            g.saved_views = views
        except SQLAlchemyError:
            # The navigation must not stop an error page from showing.
            db.session.rollback()
            g.saved_views = ()
    return g.saved_views


def init_app(app: Flask) -> None:
    """Offer every page the signed-in user's saved views, for the navigation."""
    app.jinja_env.globals["saved_views"] = my_saved_views
