"""Outbound endpoints for administrators: where each source system receives the desk's events,
their backlog and failures, and registering, disabling, enabling and rotating their secrets
(../shared/contract/outbound.md). A secret is shown once, in the answer to the post that made
it: never in a flash message (a cookie), a redirect or a page that can be opened again."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidEndpoint
from ..extensions import channel_registry, db
from ..models import EventState, OutboundEndpoint, OutboxEvent, Role, utcnow
from ..outbound import endpoints
from ..outbound.endpoints import BY_ADMINISTRATOR, GONE, Counts, event_counts, is_gone
from ..security import me, roles_required
from .guard import database_id
from .labels import channel_label

bp = Blueprint("endpoints", __name__, url_prefix="/admin/endpoints")

#: the detail page lists this many of the endpoint's latest failed events
FAILED_SHOWN = 20
#: which form field each of InvalidEndpoint's reasons is about
FIELDS = {
    "url": "url",
    "scheme": "url",
    "name": "name",
    "name_taken": "name",
    "channels": "channels",
}


def disabled_label(endpoint: OutboundEndpoint) -> str:
    """Why the endpoint is disabled, in the reader's language where the desk wrote the reason."""
    reason = endpoint.disabled_reason or ""
    if reason.startswith(GONE):
        return _("The receiver answered 410 Gone: the source system takes no more events here.")
    if reason.startswith(BY_ADMINISTRATOR):
        return _("Disabled by an administrator.")
    return reason


def problem_text(reason: str) -> str:
    """What the administrator is told about a refused field."""
    return {
        "url": _("Give a whole web address, e.g. https://chat.example.fi/desk-events."),
        "scheme": _("The address must start with https:// (http:// only on this computer)."),
        "name": _("Give a name of at most 120 characters."),
        "name_taken": _("Another endpoint already has this name."),
        "channels": _("Choose at least one channel."),
    }.get(reason, reason)


def gone_count() -> int:
    """How many endpoints a 410 Gone disabled (the administrators' navigation shows it)."""
    return db.session.scalar(
        select(func.count())
        .select_from(OutboundEndpoint)
        .where(
            OutboundEndpoint.enabled.is_(False),
            OutboundEndpoint.disabled_reason.startswith(GONE),
        )
    )


@bp.app_context_processor
def template_helpers() -> dict:
    """The endpoint helpers every template may call (the navigation, these pages)."""
    return {
        "endpoints_gone": gone_count,
        "endpoint_disabled_label": disabled_label,
        "endpoint_problem": problem_text,
    }


def _endpoint(value: str | None) -> OutboundEndpoint:
    """The endpoint a query or form field names; 404 when there is none."""
    endpoint_id = database_id(value)
    endpoint = db.session.get(OutboundEndpoint, endpoint_id) if endpoint_id else None
    if endpoint is None:
        abort(404)
    return endpoint


def _secret_page(endpoint: OutboundEndpoint, secret: str, created: bool):
    """The secret, once: in this answer only (nothing else ever shows it)."""
    response = make_response(
        render_template("endpoints/secret.html", endpoint=endpoint, secret=secret, created=created)
    )
    # A boosted form would put the post's address in the address bar; that address has no page.
    response.headers["HX-Push-Url"] = "false"
    return response


@bp.get("/")
@roles_required(Role.ADMIN)
def index():
    """Every endpoint with its channels, state, backlog and last success and failure."""
    rows = db.session.scalars(select(OutboundEndpoint).order_by(OutboundEndpoint.name)).all()
    served = {c for e in rows if e.enabled for c in e.channel_list}
    return render_template(
        "endpoints/index.html",
        endpoints=rows,
        counts=event_counts(db.session),
        gone=[e for e in rows if is_gone(e)],
        unserved=[channel_label(c) for c in channel_registry().names() if c not in served],
    )


@bp.get("/show")
@roles_required(Role.ADMIN)
def show():
    """One endpoint: its state, and its latest failed events with the receivers' reasons."""
    endpoint = _endpoint(request.args.get("id"))
    failed = db.session.scalars(
        select(OutboxEvent)
        .where(
            OutboxEvent.endpoint_id == endpoint.id,
            OutboxEvent.state == EventState.FAILED.value,
        )
        .order_by(OutboxEvent.last_attempt_at.desc(), OutboxEvent.seq.desc())
        .limit(FAILED_SHOWN)
    ).all()
    return render_template(
        "endpoints/show.html",
        endpoint=endpoint,
        counts=event_counts(db.session).get(endpoint.id, Counts()),
        failed=failed,
        gone=is_gone(endpoint),
        overlap=_overlap(endpoint, utcnow()),
    )


def _overlap(endpoint: OutboundEndpoint, now: datetime) -> datetime | None:
    """Until when the previous secret still signs beside the current one, during a rotation."""
    until = endpoint.previous_until
    return until if endpoint.previous_secret and until and now < until else None


def _form(values: dict, problems: dict, status: int = 200):
    return (
        render_template(
            "endpoints/new.html",
            values=values,
            problems=problems,
            channels=list(channel_registry()),
        ),
        status,
    )


@bp.get("/new")
@roles_required(Role.ADMIN)
def new():
    """Register a source system's endpoint: its name, address and channels."""
    return _form({"name": "", "url": "", "channels": []}, {})


@bp.post("/")
@roles_required(Role.ADMIN)
def create():
    """Register the endpoint and show its secret, once."""
    values = {
        "name": request.form.get("name", "").strip(),
        "url": request.form.get("url", "").strip(),
        "channels": request.form.getlist("channels"),
    }
    problems: dict[str, str] = {}
    try:
        endpoints.check_url(values["url"])
    except InvalidEndpoint as error:
        problems["url"] = error.params["reason"]
    try:
        with db.session.begin_nested():
            endpoint, secret = endpoints.register(
                db.session,
                values["name"],
                values["url"],
                values["channels"],
                channel_registry().names(),
            )
    except InvalidEndpoint as error:
        reason = error.params["reason"]
        problems.setdefault(FIELDS.get(reason, "name"), reason)
    except IntegrityError:  # the same name, registered at the same moment by someone else
        problems["name"] = "name_taken"
    if problems:
        return _form(values, problems, 422)
    db.session.commit()
    return _secret_page(endpoint, secret, created=True)


@bp.post("/disable")
@roles_required(Role.ADMIN)
def disable():
    """Stop sending to the endpoint; its events wait until it is enabled again."""
    endpoint = _endpoint(request.form.get("endpoint"))
    if endpoint.enabled:
        endpoints.disable(
            endpoint, f"{BY_ADMINISTRATOR} ({me().username}) at {utcnow().isoformat()}"
        )
        db.session.commit()
    flash(_("%(name)s is disabled: nothing is sent to it.", name=endpoint.name), "success")
    return redirect(url_for("endpoints.show", id=endpoint.id), 303)


@bp.post("/enable")
@roles_required(Role.ADMIN)
def enable():
    """Send to the endpoint again, its waiting events first."""
    endpoint = _endpoint(request.form.get("endpoint"))
    if not endpoint.enabled:
        endpoints.enable(endpoint)
        db.session.commit()
    flash(_("%(name)s is enabled again.", name=endpoint.name), "success")
    return redirect(url_for("endpoints.show", id=endpoint.id), 303)


@bp.post("/rotate")
@roles_required(Role.ADMIN)
def rotate():
    """A new secret, shown once; the previous one signs beside it for 24 hours."""
    endpoint = _endpoint(request.form.get("endpoint"))
    secret = endpoints.rotate(endpoint, utcnow())
    db.session.commit()
    return _secret_page(endpoint, secret, created=False)
