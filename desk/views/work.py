"""My work: emergencies waiting in my queues first, the items I hold, then what I may take
from my queues a page at a time, and take next. An open page watches for new emergencies
(`emergencies`) and keeps its lists current by itself.

The lists of what waits in my queues are the same for everyone who sees the same queues and
municipalities in the same language (`Lists`), so they are rendered once per change of those
queues and shared: by the pages (`queue_lists`), and by the live stream, which pushes them to
every open page of that view (desk.live, `Broadcaster`), composing every view's lists from
what it keeps per queue and municipality (`worklist.Shelf`), after each change and at least
once a minute as their times move on. Only "items I hold" is the person's own: an open page
fetches it alone (`held`) when a change names its person, and every minute.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from .. import live
from ..extensions import db
from ..i18n import language
from ..models import utcnow
from ..security import WORKERS, is_htmx, me, roles_required
from ..work import worklist
from ..work.lifecycle import take_next
from .guard import number
from .labels import reference as kept_reference

bp = Blueprint("work", __name__)

PAGE = worklist.PAGE


@bp.get("/")
def home():
    """Each role's start page (an auditor's is the access log); signed out, My work, which
    asks to sign in first."""
    from .auth import home as start_page

    return redirect(start_page())


@dataclass(frozen=True)
class Lists:
    """One view of the lists of what waits: whose queues and municipalities (what
    `lifecycle.takeable` asks of a user), narrowed to which queue, how many rows, in which
    language. Everyone with the same view sees the same lists."""

    queue_codes: frozenset[str]
    municipality_codes: frozenset[str]
    is_admin: bool
    queue_filter: str
    shown: int
    language: str

    @classmethod
    def of(cls, user, queue_filter: str | None, shown: int | None) -> Lists:
        """The view `user` asks for (a filter outside their queues is no filter)."""
        return cls(
            queue_codes=frozenset(user.queue_codes),
            municipality_codes=frozenset(user.municipality_codes),
            is_admin=user.is_admin,
            queue_filter=queue_filter if queue_filter in user.queue_codes else "",
            shown=worklist.shown_rows(shown),
            language=language(),
        )

    @property
    def queues(self) -> frozenset[str] | None:
        """The queues whose changes change these lists (None: any queue, for an admin)."""
        return None if self.is_admin else self.queue_codes

    @property
    def municipalities(self) -> frozenset[str | None] | None:
        """The municipalities whose items' changes change these lists, None among them for
        items of none (`access.visible_to`); None: any, for an admin."""
        return None if self.is_admin else self.municipality_codes | {None}

    def key(self) -> tuple:
        return (
            "work",
            tuple(sorted(self.queue_codes)),
            tuple(sorted(self.municipality_codes)),
            self.is_admin,
            self.queue_filter,
            self.shown,
            self.language,
        )


def _render_lists(view: Lists) -> str:
    """`_lists(view)` as JSON text (as the pages' shared renderings keep it)."""
    return json.dumps(_lists(view))


def _lists(view: Lists, shelf: worklist.Shelf | None = None) -> dict:
    """The emergencies and the waiting list of `view`: both sections' HTML and the count of
    what waits. The take buttons' CSRF token is a placeholder (`personal`). With a `shelf`,
    the lists are composed from what it keeps (the live stream's)."""
    now = utcnow()
    within = {view.queue_filter} if view.queue_filter else None
    read = shelf.waiting if shelf is not None else worklist.waiting
    lists = read(db.session, view, now, within=within, shown=view.shown)
    # Where My work's page starts watching for emergencies, with those it holds (`_my_work`):
    # read once per change for everyone with the view, not on every page. Pushed lists do
    # not need it (the page they reach is watching already).
    newest = worklist.newest_takeable_emergency(db.session, view) if shelf is None else None
    context = {
        "emergencies": lists.emergencies,
        "emergency_count": lists.emergency_count,
        "available": lists.items,
        "available_total": lists.count,
        "beyond": lists.beyond,
        "shown": view.shown,
        "first_new_id": lists.first_new_id,
        "page_size": PAGE,
        "most": worklist.MOST,
        "has_queues": bool(view.queue_codes),
        "queue_filter": view.queue_filter,
        "now": now,
    }
    g.pop("desk_row_words", None)
    g.desk_shared_rows = True  # the rows' CSRF token is each page's own (rows.words)
    try:
        return {
            "emergencies": render_template("work/_emergencies.html", **context),
            "waiting": render_template("work/_waiting.html", **context),
            "total": lists.total,
            "newest_emergency": newest,
            # when (bench/live_lists.py tells a push rendered after a change by it)
            "rendered": round(time.time(), 3),
            "count_text": ngettext(
                "%(num)d item is waiting in your queues.",
                "%(num)d items are waiting in your queues.",
                lists.total,
            ),
        }
    finally:
        g.pop("desk_shared_rows", None)
        g.pop("desk_row_words", None)


def queue_lists(view: Lists) -> str:
    """`view`'s lists (`_render_lists`), rendered once per change in its queues for everyone
    with the same view (desk.live.shared_fragment)."""
    return live.shared_fragment(view.key(), lambda: _render_lists(view), queues=view.queues)


#: where a row that may be taken is named (views/rows.py): `<tr … data-row="NAME">…</tr>`
ROW_NAME = ' data-row="'


def _shortened(html: str, known: frozenset[str], names: set[str]) -> str:
    """`html` with each named row whose name is `known` written as `<!--row:NAME-->`; the
    names of all its named rows added to `names`. Found by searching, not by a regular
    expression: this runs for every push of every view (a third of the time a regular
    expression took)."""
    out: list[str] = []
    at = 0
    while (mark := html.find(ROW_NAME, at)) >= 0:
        start = html.rfind("<tr ", at, mark)
        named = mark + len(ROW_NAME)
        close = html.find('"', named)
        end = html.find("</tr>", close)
        if start < 0 or close < 0 or end < 0 or ">" in html[start:mark]:
            at = named  # not a row's own name: left as it is
            continue
        end += len("</tr>\n") if html.startswith("</tr>\n", end) else len("</tr>")
        name = html[named:close]
        names.add(name)
        out.append(html[at:start])
        out.append(f"<!--row:{name}-->" if name in known else html[start:end])
        at = end
    out.append(html[at:])
    return "".join(out)


def shorten(payload: str | dict, known: frozenset[str]) -> tuple[str, frozenset[str]]:
    """Pushed lists (`_lists`, or its JSON text) without the rows the pages have already:
    each row named in `known` (those of the view's last push) is only its name,
    `<!--row:NAME-->`, and desk.js puts back the row it has of that name (or, missing one,
    fetches its lists). As JSON text, with the names of all the rows in it, the next push's
    `known`. Most changes change a row or two of a view's seventy: the pushes are a fraction
    of the lists' size."""
    lists = json.loads(payload) if isinstance(payload, str) else dict(payload)
    names: set[str] = set()
    for part in ("emergencies", "waiting"):
        lists[part] = _shortened(lists[part], known, names)
    return json.dumps(lists), frozenset(names)


def personal(payload: str, token: str) -> str:
    """Shared lists made this page's own: its CSRF token in the take buttons."""
    return payload.replace(live.CSRF_PLACEHOLDER, token)


def pusher(view: Lists) -> Callable[[], dict]:
    """How the live stream renders `view` later, outside the page's request: in a request
    context of its own, in the view's language, composed from the stream's shelf."""
    app: Flask = current_app._get_current_object()
    shelf = app.extensions["desk_live"].shelf

    def render() -> str:
        with app.test_request_context("/work"), force_locale(view.language):
            try:
                # Not through the pages' shared renderings: the stream renders a view once
                # per change anyway, and each round trip to Redis here waits for the
                # stream's other work.
                return _lists(view, shelf)
            finally:
                db.session.remove()

    return render


def _my_work(queue_filter: str | None, message: str | None = None) -> dict:
    user = me()
    view = Lists.of(user, queue_filter, number(request.args.get("shown"), high=worklist.MOST * 10))
    lists = json.loads(personal(queue_lists(view), escape(generate_csrf())))
    reference = kept_reference()
    held = worklist.held(db.session, user, reference)
    mine = user.queue_codes
    newest = lists.get("newest_emergency")  # None from a rendering of an older version
    return {
        "held": held,
        "newest_emergency": None
        if newest is None
        else max([newest, *(row.id for row in held if row.emergency)]),
        "emergencies_html": Markup(lists["emergencies"]),  # noqa: S704 (rendered by Jinja)
        "waiting_html": Markup(lists["waiting"]),  # noqa: S704 (rendered by Jinja)
        "waiting_total": lists["total"],
        "shown": view.shown,
        "page_size": PAGE,
        # the queue filter's choices (only the whole page shows them)
        "queues": [q for q in reference.queues if q.code in mine],
        "queue_filter": view.queue_filter,
        "live_view": {
            "view": "work",
            "queue": view.queue_filter or None,
            "shown": view.shown if view.shown > PAGE else None,
        },
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


@bp.get("/work/held")
@login_required
def held():
    """My work's "items I hold" alone: what a page with its lists pushed fetches when a
    change names its person, and every minute (views/work/_held.html)."""
    if not is_htmx():
        return redirect(url_for("work.index"))
    user = me()
    return render_template(
        "work/_held.html", held=worklist.held(db.session, user, kept_reference()), now=utcnow()
    )


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
