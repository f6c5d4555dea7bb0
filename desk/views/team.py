"""Availability for everyone who works items, and the team board for team leads: who is
available with how much in hand, each queue's backlog against the people free for it,
reassigning, memberships, capacities and each queue's assignment policy."""

from __future__ import annotations

from typing import NoReturn

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
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, select

from ..errors import DomainError
from ..extensions import channel_registry, db
from ..i18n import language
from ..models import ItemEvent, ItemStatus, Queue, Role, User, WorkItem, utcnow
from ..outbound.conversation import retarget
from ..policy import EDITORS, WORKERS
from ..security import is_htmx, me, roles_required, same_site_path
from ..tasks.assign import request_dispatch
from ..work import assignment
from ..work.access import may_work_on, visible_to
from ..work.assignment import Policy, Status
from ..work.lifecycle import work_order
from .guard import database_id, number
from .messages import describe

#: a queue's list for the lead shows this many, and says how many more there are
QUEUE_LIST = 200

#: the longest chat response target a team lead may set, in minutes
MAX_RESPONSE_MINUTES = 120
bp = Blueprint("team", __name__)


@bp.post("/me/status")
@roles_required(*WORKERS)
def set_status():
    """Available, busy, on a break or offline ("end the day")."""
    chosen = Status.OFFLINE.value if request.form.get("end_day") else request.form.get("status")
    try:
        status = Status(chosen or "")
    except ValueError:
        abort(400)
    returned = assignment.set_status(db.session, me(), status)
    db.session.commit()
    request_dispatch()
    if returned:
        flash(
            ngettext(
                "You are offline. %(num)d untouched item went back to its queue.",
                "You are offline. %(num)d untouched items went back to their queues.",
                len(returned),
            ),
            "success",
        )
    else:
        flash(_("Your status is now: %(status)s.", status=status_label(status)), "success")
    return redirect(same_site_path(request.form.get("back"), url_for("work.index")))


#: translated when shown, one at a time: every page names its user's status, and My work's
#: choices name each, so translating all four for each name was a twentieth of My work
_STATUSES = {
    "available": _l("Available"),
    "busy": _l("Busy"),
    "break": _l("On a break"),
    "offline": _l("Offline"),
}
_POLICIES = {
    "manual": _l("Manual: people take"),
    "round_robin": _l("Round robin"),
    "least_loaded": _l("Least loaded"),
}


def status_label(code: str) -> str:
    return str(_STATUSES.get(code, code))


def policy_label(code: str) -> str:
    return str(_POLICIES.get(code, code))


def _team(lead: User) -> tuple[list[User], list[Queue]]:
    """The people of the lead's team in their queues, and the queues (an admin: all queues and
    everyone in them who works items); desk.work.assignment decides who is of the team."""
    return assignment.team(db.session, lead), assignment.led_queues(db.session, lead)


def _refuse(status: int, text: str) -> NoReturn:
    """Answer `status` (403 or 404) with `text`, in the desk's layout and the user's language;
    nothing was changed."""
    title = _("Not found") if status == 404 else _("No access")
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    page = render_template(template, status=status, title=title, text=text)
    abort(make_response(page, status))


@bp.get("/team")
@roles_required(*EDITORS)
def board():
    """Each person's status and load, and each queue's backlog against who is free for it."""
    people, queues = _team(me())
    now = utcnow()
    ids = [p.id for p in people]
    load = assignment.loads(db.session, people, channel_registry().weight)
    held = dict.fromkeys(ids, 0)
    waiting_resident = dict.fromkeys(ids, 0)
    overdue = dict.fromkeys(ids, 0)
    if ids:
        rows = db.session.execute(
            select(
                WorkItem.assignee_id,
                WorkItem.status,
                func.count(),
                func.count().filter(WorkItem.due_at < now),
            )
            .where(WorkItem.assignee_id.in_(ids), WorkItem.status != ItemStatus.RESOLVED.value)
            .group_by(WorkItem.assignee_id, WorkItem.status)
        )
        for user_id, status, count, late in rows:
            held[user_id] += count
            overdue[user_id] += late
            if status == ItemStatus.WAITING.value:
                waiting_resident[user_id] += count
    last = (
        dict(
            db.session.execute(
                select(ItemEvent.actor_id, func.max(ItemEvent.at))
                .where(ItemEvent.actor_id.in_(ids))
                .group_by(ItemEvent.actor_id)
            ).all()
        )
        if ids
        else {}
    )
    backlog = {}
    for queue in queues:
        waiting, late = db.session.execute(
            select(func.count(), func.count().filter(WorkItem.due_at < now)).where(
                *assignment.takeable_in(queue.code)
            )
        ).one()
        members = [p for p in people if queue.code in p.queue_codes]
        free = [p for p in members if p.status == Status.AVAILABLE.value]
        room = [p for p in free if p.capacity - load[p.id] >= 1]
        backlog[queue.code] = {
            "waiting": waiting,
            "overdue": late,
            "members": len(members),
            "available": len(free),
            "with_room": len(room),
        }
    return render_template(
        # The board's own background refresh asks for the live part only (team/_board.html).
        "team/_board.html" if is_htmx() else "team/board.html",
        people=people,
        queues=queues,
        load=load,
        held=held,
        waiting_resident=waiting_resident,
        overdue=overdue,
        last=last,
        backlog=backlog,
        now=now,
        policies=list(Policy),
    )


@bp.post("/team/queues/<code>/assignment")
@roles_required(*EDITORS)
def queue_policy(code: str):
    queue = _led_queue(code)
    try:
        queue.assignment = Policy(request.form.get("assignment", "")).value
    except ValueError:
        abort(400)
    if "chat_response_minutes" in request.form:
        minutes = number(request.form.get("chat_response_minutes"), 1, MAX_RESPONSE_MINUTES)
        if minutes is None:
            flash(
                _(
                    "Give the chat answer target in whole minutes, 1–%(most)s.",
                    most=MAX_RESPONSE_MINUTES,
                ),
                "error",
            )
            return redirect(url_for("team.board"))
        if minutes != queue.chat_response_minutes:
            queue.chat_response_minutes = minutes
            retarget(db.session, queue)
    db.session.commit()
    request_dispatch()
    flash(
        _(
            "%(queue)s: %(policy)s, chats answered within %(minutes)s min.",
            queue=queue.name(language()),
            policy=policy_label(queue.assignment),
            minutes=queue.chat_response_minutes,
        ),
        "success",
    )
    return redirect(url_for("team.board"))


def _person(user_id: int) -> User:
    """Someone of the lead's team, or whom the lead may add to their queues (from this page);
    404 for anyone else, as for nobody."""
    person = db.session.get(User, user_id)
    if person is None or not assignment.may_join(me(), person):
        _refuse(404, _("Nobody by that number works in your queues or municipalities."))
    return person


@bp.route("/team/people/<int:user_id>", methods=["GET", "POST"])
@roles_required(*EDITORS)
def person(user_id: int):
    """A person's capacity and memberships in the lead's queues, and the items they hold."""
    person = _person(user_id)
    _people, queues = _team(me())
    manages = assignment.in_team(me(), person)
    if request.method == "POST":
        # Someone not yet of the team has no capacity field: only their queues are set.
        capacity = None
        if "capacity" in request.form:
            capacity = number(request.form.get("capacity"), 0, 50)
            if capacity is None:
                flash(_("Give a capacity between 0 and 50."), "error")
                return redirect(url_for("team.person", user_id=user_id)), 303
        chosen = set(request.form.getlist("queues"))
        try:
            assignment.set_membership(db.session, me(), person, chosen, capacity)
        except DomainError:
            _refuse(
                403,
                _(
                    "Only the capacity of people in your queues is yours to set. "
                    "Nothing was changed."
                ),
            )
        db.session.commit()
        request_dispatch()
        flash(_("Saved."), "success")
        return redirect(url_for("team.person", user_id=user_id))
    items = db.session.scalars(
        select(WorkItem)
        .where(WorkItem.assignee_id == person.id, WorkItem.status != ItemStatus.RESOLVED.value)
        .order_by(WorkItem.updated_at)
    ).all()
    items = [i for i in items if may_work_on(me(), i)]  # only what the lead may see
    return render_template(
        "team/person.html",
        person=person,
        queues=queues,
        items=items,
        load=assignment.loads(db.session, [person], channel_registry().weight)[person.id],
        people=[p for p in _people if p.id != person.id],
        manages=manages,
        now=utcnow(),
    )


@bp.get("/team/queues/<code>")
@roles_required(*EDITORS)
def queue_items(code: str):
    """A queue's open items, in the contract's order, to give to someone or take back."""
    queue = _led_queue(code)
    people, _queues = _team(me())
    lead = me()
    where = (
        WorkItem.queue_code == code,
        WorkItem.status != ItemStatus.RESOLVED.value,
        visible_to(lead, {code}),
    )
    items = db.session.scalars(
        select(WorkItem).where(*where).order_by(*work_order()).limit(QUEUE_LIST)
    ).all()
    return render_template(
        "team/queue.html",
        queue=queue,
        items=items,  # only what the lead may see (visible_to: may_work_on's rule in SQL)
        total=db.session.scalar(select(func.count()).select_from(WorkItem).where(*where)),
        people=[p for p in people if code in p.queue_codes],
        now=utcnow(),
    )


@bp.post("/team/reassign")
@roles_required(*EDITORS)
def reassign():
    """Move the chosen items to one person, or back to their queues."""
    ids = [i for i in map(database_id, request.form.getlist("items")) if i is not None]
    target = request.form.get("to", "")
    to = None
    if target != "queue":
        to = db.session.get(User, user_id) if (user_id := database_id(target)) else None
        if to is None:
            abort(400)
    items = [db.session.get(WorkItem, item_id) for item_id in ids]
    if any(item is None or not may_work_on(me(), item) for item in items):
        _refuse(404, _("Some of the chosen items are not in your queues. Nothing was moved."))
    if to is not None:
        if not assignment.in_team(me(), to):
            _refuse(
                403,
                _("Items go only to people of your team who may work on them. Nothing was moved."),
            )
        unfit = [item for item in items if not assignment.may_give(me(), item, to)]
        if unfit:
            _refuse(
                403,
                _(
                    "%(person)s does not work in the queue or municipality of: %(items)s. "
                    "Nothing was moved.",
                    person=to.display_name,
                    items="; ".join(item.title for item in unfit),
                ),
            )
    back = same_site_path(request.form.get("back"), url_for("team.board"))
    if not items:
        flash(_("Choose the items to move first."), "error")
        return redirect(back)
    confirmed = request.form.get("confirm") == "1"
    if (
        to is not None
        and not confirmed
        and (found := assignment.cautions(db.session, to, items, channel_registry().weight))
    ):
        return _confirm_reassign(items, to, found, back)
    moved, refused = 0, []
    for item in items:
        try:
            with db.session.begin_nested():
                assignment.reassign(db.session, item, me(), to)
            moved += 1
        except DomainError as error:
            refused.append(f"{item.title} ({describe(error)})")
    db.session.commit()
    request_dispatch()
    if moved:
        flash(ngettext("%(num)d item moved.", "%(num)d items moved.", moved), "success")
    if refused:
        flash(_("Not moved: %(items)s", items="; ".join(refused)), "error")
    return redirect(back)


def _confirm_reassign(items: list[WorkItem], to: User, found: list, back: str):
    """Nothing moved yet: what the lead should know about `to`, the items, and a button that
    sends the same choice again, confirmed (a page of its own, with or without script)."""
    page = render_template(
        "team/confirm_reassign.html",
        items=items,
        person=to,
        cautions=found,
        back=back,
        now=utcnow(),
    )
    response = make_response(page)
    # A boosted form would put /team/reassign in the address bar, which has no page to reload.
    response.headers["HX-Push-Url"] = "false"
    return response


def init_app(app) -> None:
    app.jinja_env.globals.update(
        availability_label=status_label,
        policy_label=policy_label,
        statuses=[s.value for s in Status],
        is_lead=lambda user: user.role in {Role.TEAM_LEAD.value, Role.ADMIN.value},
    )


def _led_queue(code: str) -> Queue:
    """A queue of the signed-in lead's (any queue for an admin); 404 for others."""
    queue = db.session.get(Queue, code)
    if queue is None or not (me().is_admin or code in me().queue_codes):
        abort(404)
    return queue
