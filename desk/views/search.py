"""Finding an item by its number, the resident's personal identity code, or words."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import login_required

from ..extensions import db
from ..models import AccessPurpose, utcnow
from ..security import me
from ..work import search
from ..work.access import record_access

bp = Blueprint("search", __name__)


@bp.get("/search")
@login_required
def index():
    """The results of a search (the policy admits those who read the desk's items). A result
    that ties an identified resident to an item is written to the access log."""
    text = request.args.get("q", "")[:200]
    query = search.parse(text)
    items = search.find(db.session, me(), query) if query else []
    for item in search.logged(query, items) if query else []:
        record_access(db.session, me(), AccessPurpose.SEARCH, item=item)
    page = render_template(
        "search/index.html",
        text=text,
        query=query,
        items=items,
        limit=search.LIMIT,
        now=utcnow(),
    )
    db.session.commit()  # the access log rows, after rendering (a commit expires the items)
    return page
