"""The item page and its actions: take, release, transfer, note, wait, resume, resolve, reveal.

Every action answers htmx with the item fragment re-rendered (with a message on refusal, status
409) and a plain form post with a redirect, so the page also works without JavaScript.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from .. import guidance
from ..errors import DomainError, ItemNotFound, RetryOutsideHours
from ..extensions import channel_registry, db
from ..i18n import by_name, language
from ..inbound.deadlines import HELSINKI, parse_day
from ..models import (
    AccessPurpose,
    EventKind,
    Instruction,
    InstructionsShown,
    ItemEvent,
    ItemFeedback,
    ItemStatus,
    Queue,
    User,
    WorkItem,
    utcnow,
)
from ..outbound import conversation as conversation_of
from ..outbound import endpoints, messages
from ..pid import masked
from ..security import WORKERS, is_htmx, me, roles_required
from ..tasks.assign import request_dispatch
from ..training import spaces
from ..work import calls, lifecycle, search
from ..work.access import load_item_for_display, may_work_on, record_access
from ..work.presence import Presence
from .guard import database_id, number
from .labels import call_result_label
from .labels import reference as kept_reference
from .messages import describe

bp = Blueprint("items", __name__, url_prefix="/items")


def _load(item_id: int) -> WorkItem:
    """The item for display, the look logged: a page view, or the item shown after an action."""
    purpose = AccessPurpose.VIEW if request.method == "GET" else AccessPurpose.ACTION
    try:
        return load_item_for_display(db.session, item_id, me(), purpose=purpose)
    except ItemNotFound:
        abort(404)


def _moved_away(item_id: int) -> str | None:
    """The queue I sent the item to, when I may no longer see it because I transferred it
    (its latest transfer is mine); None otherwise, and the item stays refused (404).

    Only what the person did themselves is told: the item's number and the queue they chose.
    Nothing of the item or its resident is loaded, so no access-log row is due."""
    item = db.session.get(WorkItem, item_id)
    if item is None or may_work_on(me(), item):
        return None
    last = db.session.scalars(
        select(ItemEvent)
        .where(ItemEvent.item_id == item_id, ItemEvent.kind == EventKind.TRANSFERRED.value)
        .order_by(ItemEvent.id.desc())
        .limit(1)
    ).first()
    if last is None or last.actor_id != me().id or last.to_queue_code is None:
        return None
    return last.to_queue_code


def _moved(item_id: int, queue_code: str):
    """Where the item went: in place of the item (htmx) or as the page itself."""
    queue = db.session.get(Queue, queue_code)
    text = _moved_text(item_id, queue.name(language()) if queue else queue_code)
    if is_htmx():
        return render_template("items/_moved.html", text=text, fragment=True)
    return render_template("items/moved.html", text=text)


def _conversation(item: WorkItem) -> dict:
    """The item's conversation as the page shows it, and whether its chat has ended."""
    live = channel_registry().get(item.channel).live
    closed = messages.closing(db.session, item) if live else None
    stored = conversation_of.stored_messages(db.session, item)
    return {
        "live": live,
        "ended": closed is not None,
        "closing": closed,
        "conversation": conversation_of.conversation(item.content, stored),
        "stored": stored,
        "stalled": any(m.outgoing and m.state == "queued" for m in stored)
        and endpoints.stalled(db.session, item.id),
    }


def _answering(item: WorkItem, shown: list, now, services: dict) -> dict:
    """What the page offers for answering the resident: the conversation, the kinds of message
    the item takes now, whether a source system carries them, and what may be attached."""
    adapter = channel_registry().get(item.channel)
    talk = _conversation(item)
    kinds = messages.kinds(item, adapter, ended=talk["ended"])
    return {
        **talk,
        "kinds": kinds,
        "answerable": bool(kinds) and endpoints.for_channel(db.session, item.channel) is not None,
        "reply_by": messages.default_reply_by(item, adapter, now)
        if "request-for-information" in kinds
        else None,
        "links": guidance.attachable_links(db.session, item, shown, item.language, now, services)
        if kinds
        else [],
        "click_key": secrets.token_urlsafe(16),
    }


def _not_reached_text(item: WorkItem) -> str:
    """The message an identified resident gets when the centre could not reach them, in their
    language; the professional may change it before it goes."""
    with force_locale(item.language):
        return _(
            "Hello, we tried to call you at %(phone)s about your matter but did not reach you. "
            "If you still need help, contact the digital health and social services centre in "
            "the chat or call us again. In an emergency, call 112.",
            phone=item.resident_phone,
        )


def _phone(item: WorkItem, now, answering: dict) -> dict | None:
    """What the item's Phone panel shows: its rule, the attempts, and what the holder may do."""
    if not item.resident_phone:
        return None
    rule = calls.RetryRule.of(item.queue)
    decide = calls.needs_decision(item)
    can_message = "message" in answering["kinds"] and answering["answerable"]
    return {
        "rule": rule,
        "allowed": calls.allowed(item),
        "waiting": calls.waiting_for_retry(item),
        "decide": decide,
        "can_message": can_message,
        "message": _not_reached_text(item) if decide and can_message else None,
        "next_try": rule.next_try(now).astimezone(HELSINKI).strftime("%Y-%m-%dT%H:%M"),
    }


def _context(item: WorkItem, **extra) -> dict:
    reference = kept_reference()
    outcomes, queues = reference.outcomes, reference.queues
    now = utcnow()
    lang = language()
    adapter = channel_registry().get(item.channel)
    shown = guidance.for_item(db.session, item, now, adapter, reference)
    services = guidance.item_services(db.session, item, now, reference)  # links and templates
    answering = _answering(item, shown.shown, now, services)
    return {
        "item": item,
        "now": now,
        # The resident's answers to the satisfaction question (after the matter ended).
        "satisfaction": db.session.scalars(
            select(ItemFeedback).where(ItemFeedback.item_id == item.id).order_by(ItemFeedback.at)
        ).all()
        if item.status == ItemStatus.RESOLVED.value
        else [],
        "masked_pid": masked(item.personal_id) if item.personal_id else None,
        "queues": [q for q in queues if q.active and q.code != item.queue_code],
        "queue_names": {q.code: q.name(lang) for q in queues},
        "outcomes": [o for o in outcomes if o.active],
        "outcome_names": {o.code: o.name(lang) for o in outcomes},
        "municipalities": by_name(reference.municipalities),
        "guidance": shown,
        "answering": answering,
        "phone": _phone(item, now, answering),
        "call_results": calls.RESULTS,
        # Instructions are the professional's reading, in their language first; templates
        # speak to the resident, in the resident's.
        "instruction_language": guidance.reading_language(lang, item.language),
        "offered": guidance.offer(
            db.session,
            guidance.templates_for(db.session, item, reference),
            item,
            me(),
            now,
            services,
        ),
        # What the user had written, kept when the action was refused.
        "draft": request.form if request.method == "POST" and "error" in extra else {},
        "draft_for": request.endpoint,
        **extra,
    }


@bp.get("/<int:item_id>")
@login_required
def show(item_id: int):
    """One item: the channel's content, the resident, the deadline, the timeline, actions.
    Someone who has just transferred it out of their own queues is told where it went."""
    try:
        item = load_item_for_display(db.session, item_id, me(), purpose=AccessPurpose.VIEW)
    except ItemNotFound:
        # Only a refused item costs the look at its latest transfer.
        moved_to = _moved_away(item_id)
        if moved_to is None:
            abort(404)
        return _moved(item_id, moved_to)
    context = _context(item)
    if is_htmx():
        page = render_template("items/_item.html", **context)
    else:
        page = render_template(
            "items/show.html",
            others=_look(item),
            presence_poll=current_app.config["DESK_PRESENCE_POLL_SECONDS"],
            **context,
        )
    if spaces.current() == spaces.TRAINING:
        _note_instructions_shown(item, context["guidance"])
    db.session.commit()  # the access log row (and in training, what was shown)
    return page


def _note_instructions_shown(item: WorkItem, shown) -> None:
    """Which instructions this page showed (training scores "instruction consulted" by it)."""
    ids = [s.version.instruction_id for s in shown.shown]
    rows = (
        db.session.execute(
            select(Instruction.id, Instruction.code).where(Instruction.id.in_(ids))
        ).all()
        if ids
        else []
    )
    codes = {row.id: row.code for row in rows}
    db.session.add(
        InstructionsShown(
            item_id=item.id,
            user_id=me().id,
            shown={"instructions": [codes.get(i) or f"#{i}" for i in ids]},
        )
    )


def _presence() -> Presence:
    return current_app.extensions["desk_presence"][spaces.current()]


def _look(item: WorkItem) -> list[tuple[User, object]]:
    """Record that I have the item open; who else has it open now, longest first."""
    looks = _presence().look(item.id, me().id, utcnow())
    if not looks:  # nearly always: nobody else has it open, and nobody's name is read
        return []
    users = {
        u.id: u
        for u in db.session.scalars(select(User).where(User.id.in_([v.user_id for v in looks])))
    }
    return [(users[v.user_id], v) for v in looks if v.user_id in users]


def _may_see(item_id: int) -> WorkItem:
    # Presence shows colleagues' names only, never resident data: no display is loaded.
    item = db.session.get(WorkItem, item_id)
    if item is None or not may_work_on(me(), item):
        abort(404)
    return item


@bp.get("/<int:item_id>/summary")
@roles_required(*WORKERS)
def summary(item_id: int):
    """The item as plain text, to paste into the municipality's client system: the content,
    the resident with the whole personal identity code, and the notes. An export: logged."""
    try:
        item = load_item_for_display(db.session, item_id, me(), purpose=AccessPurpose.EXPORT)
    except ItemNotFound:
        abort(404)
    lines = conversation_of.conversation(
        item.content, conversation_of.stored_messages(db.session, item)
    )
    body = render_template("items/summary.txt", item=item, lines=lines)
    db.session.commit()  # the access log row
    return Response(
        body.strip() + "\n",
        mimetype="text/plain",
        headers={"Cache-Control": "no-store", "Content-Disposition": "inline"},
    )


@bp.get("/<int:item_id>/others")
@login_required
def others(item_id: int):
    """The identified resident's other matters that I may see, on request: each one listed
    is a look at the resident's data and goes to the access log."""
    item = _may_see(item_id)
    found = search.residents_other_items(db.session, me(), item)
    for other in found:
        record_access(db.session, me(), AccessPurpose.HISTORY, item=other)
    context = {"item": item, "others": found, "now": utcnow(), "limit": search.LIMIT}
    page = render_template("items/_others.html" if is_htmx() else "items/others.html", **context)
    db.session.commit()  # the access log rows, after rendering (a commit expires the items)
    return page


@bp.get("/<int:item_id>/presence")
@login_required
def presence(item_id: int):
    """Who else has the item open (the page asks every 20 s); unchanged answers 204."""
    others = _look(_may_see(item_id))
    seen = ",".join(str(user.id) for user, _look in others)
    if request.args.get("seen") == seen:
        return "", 204
    return render_template("items/_presence.html", others=others, item_id=item_id)


@bp.post("/<int:item_id>/presence/leave")
@login_required
def leave(item_id: int):
    """The item page was closed: my presence on it ends now."""
    _presence().leave(_may_see(item_id).id, me().id)
    return "", 204


def _version() -> int | None:
    return number(request.form.get("version"), 0)


def _refused(item_id: int, error: DomainError, refused_url: str | None = None):
    """The refusal: the item again with the reason (htmx, 409), or a redirect with it."""
    db.session.rollback()
    if not is_htmx():
        flash(describe(error), "error")
        return redirect(refused_url or url_for("items.show", item_id=item_id))
    item = _load(item_id)
    page = render_template("items/_item.html", **_context(item, error=describe(error)))
    db.session.commit()  # nothing but the access log row
    return page, 409


def _act(
    item_id: int,
    verb: Callable[[WorkItem], object],
    done: str,
    *,
    refused_url: str | None = None,
    may_leave: bool = False,
    refocus: str | None = None,
):
    """Run one lifecycle verb, commit once, and answer with the item or the refusal.

    `may_leave`: the verb can take the item out of my reach (a transfer to a queue that is
    not mine); then the answer says where it went instead of showing it."""
    item = _load(item_id)
    try:
        result = verb(item)
    except DomainError as error:
        return _refused(item_id, error, refused_url)
    db.session.commit()
    request_dispatch()  # room may have been freed, or the item be back in its queue
    if may_leave and not may_work_on(me(), item):
        if not is_htmx():
            flash(_moved_text(item_id, item.queue.name(language())), "success")
            return redirect(url_for("work.index"))
        return _moved(item_id, item.queue_code)
    if isinstance(result, str):
        # A revealed code is shown once, in this answer, and never kept in the session.
        template = "items/_item.html" if is_htmx() else "items/show.html"
        return render_template(template, **_context(item, message=done, revealed_pid=result))
    if not is_htmx():
        flash(done, "success")
        return redirect(url_for("items.show", item_id=item_id))
    return render_template("items/_item.html", **_context(item, message=done, refocus=refocus))


def _moved_text(item_id: int, queue_name: str) -> str:
    return _(
        "Item #%(number)s is now in the queue %(queue)s. You no longer have access to it.",
        number=item_id,
        queue=queue_name,
    )


def _with_templates(verb: Callable[[WorkItem], object]) -> Callable[[WorkItem], object]:
    """The verb, then the response templates whose text went into it are counted."""

    def run(item: WorkItem) -> object:
        result = verb(item)
        given = request.form.get("template_ids", "").split(",")
        ids = [i for i in map(database_id, given) if i is not None]
        guidance.record_use(db.session, ids, item, me(), item.language)
        return result

    return run


@bp.post("/<int:item_id>/elsewhere")
@roles_required(*WORKERS)
def elsewhere(item_id: int):
    """Note the municipality the resident asks service from, when it is not their own."""
    return _act(
        item_id,
        lambda item: lifecycle.request_elsewhere(
            db.session, item, me(), request.form.get("municipality")
        ),
        _("Saved. The instructions now follow the municipality asked for."),
    )


@bp.post("/<int:item_id>/take")
@roles_required(*WORKERS)
def take(item_id: int):
    """Take the item. From My work, a refusal sends the user back there with the reason."""
    back = url_for("work.index") if request.form.get("back") == "work" else None
    return _act(
        item_id,
        lambda item: lifecycle.take(db.session, item, me()),
        _("You took the item."),
        refused_url=back,
    )


@bp.post("/<int:item_id>/release")
@roles_required(*WORKERS)
def release(item_id: int):
    """Give the item back to its queue."""
    return _act(
        item_id,
        lambda item: lifecycle.release(db.session, item, me(), expected_version=_version()),
        _("The item is back in its queue."),
    )


@bp.post("/<int:item_id>/transfer")
@roles_required(*WORKERS)
def transfer(item_id: int):
    """Transfer the item to another queue with a reason."""
    queue = db.session.get(Queue, request.form.get("queue", ""))
    return _act(
        item_id,
        lambda item: lifecycle.transfer(
            db.session, item, me(), queue, request.form.get("reason"), expected_version=_version()
        ),
        _("The item was transferred."),
        may_leave=True,
    )


@bp.post("/<int:item_id>/note")
@roles_required(*WORKERS)
def note(item_id: int):
    """Add an internal note."""
    return _act(
        item_id,
        _with_templates(
            lambda item: lifecycle.add_note(db.session, item, me(), request.form.get("text"))
        ),
        _("Note added."),
    )


@bp.post("/<int:item_id>/wait")
@roles_required(*WORKERS)
def wait(item_id: int):
    """Mark the item as waiting for the resident."""
    return _act(
        item_id,
        lambda item: lifecycle.wait_for_resident(
            db.session, item, me(), request.form.get("text"), expected_version=_version()
        ),
        _("The item is waiting for the resident."),
    )


@bp.post("/<int:item_id>/resume")
@roles_required(*WORKERS)
def resume(item_id: int):
    """Continue an item that was waiting for the resident."""
    return _act(
        item_id,
        lambda item: lifecycle.resume(db.session, item, me(), expected_version=_version()),
        _("You continue with the item."),
    )


@bp.post("/<int:item_id>/resolve")
@roles_required(*WORKERS)
def resolve(item_id: int):
    """Resolve the item with an outcome."""
    adapter = channel_registry().get(_may_see(item_id).channel)

    def resolve_and_close(item: WorkItem) -> WorkItem:
        # Resolving a live chat ends the resident's window, with the closing words if any.
        lifecycle.check_version(item, _version())
        messages.close_chat(db.session, item, me(), adapter, request.form.get("closing"))
        return lifecycle.resolve(
            db.session, item, me(), request.form.get("outcome"), request.form.get("text")
        )

    return _act(item_id, _with_templates(resolve_and_close), _("The item is resolved."))


@bp.post("/<int:item_id>/call")
@roles_required(*WORKERS)
def call(item_id: int):
    """Record a call to the resident and how it went."""
    result = request.form.get("result")

    def attempt(item: WorkItem) -> WorkItem:
        return calls.record_attempt(
            db.session, item, me(), result, request.form.get("note"), expected_version=_version()
        )

    item = _may_see(item_id)
    done = _("Call recorded: %(result)s.", result=call_result_label(result or ""))
    if result in calls.UNANSWERED and item.call_attempts + 1 < calls.allowed(item):
        done += " " + _("The item waits in its queue for the next call.")
    return _act(item_id, attempt, done)


def _moment(value: str | None):
    """A datetime-local field's value, in Helsinki time, or None."""
    try:
        return datetime.fromisoformat(value or "").replace(tzinfo=HELSINKI)
    except ValueError:
        return None


@bp.post("/<int:item_id>/call-later")
@roles_required(*WORKERS)
def call_later(item_id: int):
    """Set when to call next: the item waits in its queue until then."""

    def later(item: WorkItem) -> WorkItem:
        at = _moment(request.form.get("at"))
        if at is None:
            rule = calls.RetryRule.of(item.queue)
            raise RetryOutsideHours(
                opens=rule.opens.strftime("%H.%M"), closes=rule.closes.strftime("%H.%M")
            )
        return calls.call_later(db.session, item, me(), at, expected_version=_version())

    return _act(item_id, later, _("The item waits in its queue until the time set for the call."))


@bp.post("/<int:item_id>/not-reached")
@roles_required(*WORKERS)
def not_reached(item_id: int):
    """Resolve as not reached; an identified resident may be told by a message."""
    adapter = channel_registry().get(_may_see(item_id).channel)

    def give_up(item: WorkItem) -> WorkItem:
        lifecycle.check_version(item, _version())
        if request.form.get("send_message"):
            draft = messages.Draft(kind="message", text=request.form.get("message"))
            messages.send(db.session, item, me(), adapter, draft)
        return lifecycle.resolve(db.session, item, me(), calls.NOT_REACHED)

    return _act(item_id, give_up, _("The item is resolved: the resident was not reached."))


@bp.post("/<int:item_id>/identify")
@roles_required(*WORKERS)
def identify(item_id: int):
    """The caller identified themselves on the phone."""
    adapter = channel_registry().get(_may_see(item_id).channel)
    return _act(
        item_id,
        lambda item: calls.identify_caller(
            db.session,
            item,
            me(),
            personal_id=request.form.get("personal_id"),
            name=request.form.get("name"),
            municipality_code=request.form.get("municipality"),
            form_type=adapter.stored_form_type(item.content),
            expected_version=_version(),
        ),
        _("The caller is identified."),
        may_leave=True,
    )


def _draft() -> messages.Draft:
    """The message as the form sent it; the links chosen from those the page offered."""
    form = request.form
    reply_by = None
    if form.get("reply_by"):
        try:
            reply_by = parse_day(form["reply_by"])
        except ValueError:
            reply_by = None
    return messages.Draft(
        kind=form.get("kind", ""),
        text=form.get("text"),
        links=[messages.Link(title, url) for title, url in _chosen_links()],
        reply_by=reply_by,
        wait=form.get("wait") == "1",
        click_key=(form.get("key") or "")[:64] or None,
        template_ids=[i for i in map(database_id, form.get("template_ids", "").split(",")) if i],
    )


def _chosen_links() -> list[tuple[str, str]]:
    """The attached links: each must be one the item's page offers (an unknown address is an
    InvalidLink, like a bad one)."""
    chosen = request.form.getlist("link")
    if not chosen:
        return []
    item = _may_see(request.view_args["item_id"])
    now = utcnow()
    reference = kept_reference()
    adapter = channel_registry().get(item.channel)
    shown = guidance.for_item(db.session, item, now, adapter, reference).shown
    services = guidance.item_services(db.session, item, now, reference)
    offered = dict(
        (url, title)
        for title, url in guidance.attachable_links(
            db.session, item, shown, item.language, now, services
        )
    )
    return [(offered.get(url, ""), url) for url in chosen]


@bp.post("/<int:item_id>/messages")
@roles_required(*WORKERS)
def send_message(item_id: int):
    """Send the professional's message to the resident (a chat reply, a message, or a request
    for more information); "end the chat" sends the text as the closing words instead."""
    adapter = channel_registry().get(_may_see(item_id).channel)
    if request.form.get("action") == "end":
        return _act(
            item_id,
            lambda item: messages.close_chat(
                db.session, item, me(), adapter, request.form.get("text")
            ),
            _("The chat has ended. Resolve the item when you are done."),
        )
    try:
        draft = _draft()
    except DomainError as error:
        return _refused(item_id, error)
    kind_done = {
        "reply": _("Sent."),
        "message": _("The message was sent to the resident."),
        "request-for-information": _(
            "The request was sent. The item waits for the resident's answer."
        ),
    }
    return _act(
        item_id,
        _with_templates(
            lambda item: messages.send(
                db.session,
                item,
                me(),
                adapter,
                draft,
                # In a chat the resident keeps writing: a reply is not refused for that.
                expected_version=None if draft.kind == "reply" else _version(),
            )
        ),
        kind_done.get(draft.kind, _("Sent.")),
        refocus="reply-text" if draft.kind == "reply" else None,
    )


@bp.post("/<int:item_id>/messages/retry")
@roles_required(*WORKERS)
def retry_message(item_id: int):
    """Send a failed message again (the form names it)."""
    message_id = request.form.get("message", "")[:40]
    return _act(
        item_id,
        lambda item: messages.retry(db.session, item, me(), message_id),
        _("The message is being sent again."),
    )


@bp.get("/<int:item_id>/conversation")
@login_required
def conversation(item_id: int):
    """The conversation alone, for the page to refresh when the resident writes (a look at
    the resident's data: logged)."""
    item = _load(item_id)
    page = render_template(
        "items/_conversation.html", item=item, answering=_conversation(item), now=utcnow()
    )
    db.session.commit()  # the access log row
    return page


@bp.post("/<int:item_id>/reveal")
@roles_required(*WORKERS)
def reveal(item_id: int):
    """Show the full personal identity code; the look is recorded in the timeline."""
    return _act(
        item_id,
        lambda item: lifecycle.reveal_personal_id(db.session, item, me()),
        _("The personal identity code is shown. The look was recorded."),
    )
