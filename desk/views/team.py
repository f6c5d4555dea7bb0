"""Availability for everyone who works items, and the team board for team leads: who is
available with how much in hand, each queue's backlog against the people free for it,
reassigning, memberships, capacities and each queue's assignment policy."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import assignment
from ..access import may_work_on
from ..assignment import Policy, Status
from ..errors import DomainError
from ..extensions import db
from ..i18n import language
from ..lifecycle import work_order
from ..models import ItemEvent, ItemStatus, Queue, Role, User, WorkItem, utcnow
from ..policy import EDITORS, WORKERS
from ..security import me, roles_required
from ..tasks.assign import request_dispatch
from .messages import describe

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
            _(
                "You are offline. %(n)d untouched items went back to their queues.",
                n=len(returned),
            ),
            "success",
        )
    else:
        flash(_("Your status is now: %(status)s.", status=status_label(status)), "success")
    return redirect(request.form.get("back") or url_for("work.index"))


def status_label(code: str) -> str:
    return {
        "available": _("Available"),
        "busy": _("Busy"),
        "break": _("On a break"),
        "offline": _("Offline"),
    }.get(code, code)


def policy_label(code: str) -> str:
    return {
        "manual": _("Manual: people take"),
        "round_robin": _("Round robin"),
        "least_loaded": _("Least loaded"),
    }.get(code, code)


def _team(lead: User) -> tuple[list[User], list[Queue]]:
    """The lead's queues, and the people who work in them (an admin: all of both)."""
    queues = db.session.scalars(select(Queue).where(Queue.active).order_by(Queue.code)).all()
    if not lead.is_admin:
        queues = [q for q in queues if q.code in lead.queue_codes]
    codes = {q.code for q in queues}
    people = db.session.scalars(
        select(User)
        .where(User.active, User.role.in_([r.value for r in WORKERS]))
        .order_by(User.display_name)
    ).all()
    return [p for p in people if p.queue_codes & codes], queues


@bp.get("/team")
@roles_required(*EDITORS)
def board():
    """Each person's status and load, and each queue's backlog against who is free for it."""
    people, queues = _team(me())
    now = utcnow()
    ids = [p.id for p in people]
    load = assignment.loads(db.session, people)
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
        "team/board.html",
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
    db.session.commit()
    request_dispatch()
    flash(
        _(
            "%(queue)s: %(policy)s.",
            queue=queue.name(language()),
            policy=policy_label(queue.assignment),
        ),
        "success",
    )
    return redirect(url_for("team.board"))


def _person(user_id: int) -> User:
    people, _queues = _team(me())
    person = next((p for p in people if p.id == user_id), None)
    if person is None:
        person = db.session.get(User, user_id)
        # A member-to-be of the lead's queues may be added from their page.
        if person is None or person.role not in {r.value for r in WORKERS}:
            abort(404)
    return person


@bp.route("/team/people/<int:user_id>", methods=["GET", "POST"])
@roles_required(*EDITORS)
def person(user_id: int):
    """A person's capacity and memberships in the lead's queues, and the items they hold."""
    person = _person(user_id)
    _people, queues = _team(me())
    if request.method == "POST":
        capacity = request.form.get("capacity", "")
        if not capacity.isdigit() or not 0 <= int(capacity) <= 50:
            flash(_("Give a capacity between 0 and 50."), "error")
            return redirect(url_for("team.person", user_id=user_id)), 303
        person.capacity = int(capacity)
        chosen = set(request.form.getlist("queues"))
        mine = {q.code for q in queues}
        kept = [q for q in person.queues if q.code not in mine]
        person.queues = kept + [q for q in queues if q.code in chosen]
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
        load=assignment.loads(db.session, [person])[person.id],
        people=[p for p in _people if p.id != person.id],
        now=utcnow(),
    )


@bp.get("/team/queues/<code>")
@roles_required(*EDITORS)
def queue_items(code: str):
    """A queue's open items, in the contract's order, to give to someone or take back."""
    queue = _led_queue(code)
    people, _queues = _team(me())
    items = db.session.scalars(
        select(WorkItem)
        .where(WorkItem.queue_code == code, WorkItem.status != ItemStatus.RESOLVED.value)
        .order_by(*work_order())
        .limit(200)
    ).all()
    return render_template(
        "team/queue.html",
        queue=queue,
        items=[i for i in items if may_work_on(me(), i)],
        people=[p for p in people if code in p.queue_codes],
        now=utcnow(),
    )


@bp.post("/team/reassign")
@roles_required(*EDITORS)
def reassign():
    """Move the chosen items to one person, or back to their queues."""
    ids = [int(i) for i in request.form.getlist("items") if i.isdigit()]
    target = request.form.get("to", "")
    to = None
    if target != "queue":
        to = db.session.get(User, int(target)) if target.isdigit() else None
        if to is None:
            abort(400)
    moved, refused = 0, []
    for item_id in ids:
        item = db.session.get(WorkItem, item_id)
        if item is None or not may_work_on(me(), item):
            refused.append(str(item_id))
            continue
        try:
            with db.session.begin_nested():
                assignment.reassign(db.session, item, me(), to)
            moved += 1
        except DomainError as error:
            refused.append(f"{item.title} ({describe(error)})")
    db.session.commit()
    request_dispatch()
    if moved:
        flash(_("%(n)d items moved.", n=moved), "success")
    if refused:
        flash(_("Not moved: %(items)s", items="; ".join(refused)), "error")
    return redirect(request.form.get("back") or url_for("team.board"))


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
