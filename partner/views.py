"""The resident's pages: the start page, test identification, the chat window, the inbox and
a matter's page, and the forms of the other channels."""

from __future__ import annotations

import json
import re
import uuid

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from . import chat
from . import store as db
from .client import Answer, inbound_path
from .common import desk, later, not_registered, now, send_receipts, the_store
from .identities import MUNICIPALITIES, Identity, identity
from .words import LANGUAGES, word

bp = Blueprint("resident", __name__)

TEXT_LIMIT = 4000
OMAOLO_CODES = ("respiratory-infection", "urinary-tract-infection", "back-pain", "skin-rash")
URGENCIES = tuple(f"P{n}" for n in range(9))
FORM_TYPES = (
    "income-support",
    "disability-services",
    "social-care-need",
    "health-questionnaire",
    "other",
)
CONTACT_PREFERENCES = ("phone", "email", "message")
PHONE = re.compile(r"\+[1-9][0-9]{6,14}")
EMAIL = re.compile(r"[^@ \t\n\r\f\v]+@[^@ \t\n\r\f\v]+\.[^@ \t\n\r\f\v]+")
OWN_LIMIT = 50


# -- The resident's session ---------------------------------------------------------------


def language() -> str:
    """The resident's language: the one chosen, else the browser's best, else Finnish."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "fi"


def t(key: str, **values) -> str:
    """A text in the resident's language."""
    return word(language(), key, **values)


def signed_in() -> Identity | None:
    """The synthetic resident this session identified as, or None."""
    return identity(session.get("pid"))


def _own(channel: str, external_id: str) -> None:
    keys = [k for k in session.get("own", []) if k != [channel, external_id]]
    session["own"] = [*keys, [channel, external_id]][-OWN_LIMIT:]


def _owned(channel: str, external_id: str) -> bool:
    return [channel, external_id] in session.get("own", [])


def _load(channel: str, external_id: str):
    """A matter the resident may see: their identified matter or one of this session's."""
    with the_store().connect() as conn:
        found = db.matter(conn, channel, external_id)
    if found is None:
        abort(404)
    person = signed_in()
    mine = found["personal_id"] and person and person.personal_id == found["personal_id"]
    if not (mine or _owned(channel, external_id)):
        abort(403)
    return found


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _back(default: str) -> str:
    target = request.form.get("next") or ""
    # Only a path of this site: never another host.
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _reason(answer: Answer) -> str:
    """Why a call to the desk failed, in a line."""
    if answer.status is None:
        return answer.error or "?"
    body = answer.body
    if isinstance(body, dict):
        detail = body.get("message") or body.get("error") or ""
        return f"{answer.status} {detail}".strip()
    return str(answer.status)


def _record(value: str | None) -> dict | None:
    try:
        found = json.loads(value) if value else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _text(name: str, errors: dict, *, limit: int = TEXT_LIMIT, required: bool = True) -> str:
    value = (request.form.get(name) or "").strip()
    if required and not value:
        errors[name] = t("text_required") if name in ("text", "message") else t("required")
    elif len(value) > limit:
        errors[name] = t("text_too_long")
    return value


def _municipality(errors: dict, *, required: bool) -> str | None:
    value = request.form.get("municipality") or None
    if value is not None and value not in MUNICIPALITIES:
        value = None
    if required and value is None:
        errors["municipality"] = t("municipality_required")
    return value


def _resident(person: Identity | None, contact: dict | None = None) -> dict:
    if person:
        return {
            "identification": "strong",
            "personal_id": person.personal_id,
            "name": person.name,
        }
    return {"identification": "none", **(contact or {})}


def _attachments() -> list[dict]:
    """The metadata of the files chosen (name, type, size); the files themselves are read
    only to be counted and are not kept."""
    found = []
    for file in request.files.getlist("attachment")[:20]:
        if not file or not file.filename:
            continue
        size = 0
        while chunk := file.stream.read(64 * 1024):
            size += len(chunk)
        found.append(
            {
                "name": file.filename[-255:],
                "content_type": (file.mimetype or "application/octet-stream")[:255],
                "size": size,
            }
        )
    return found


# -- Start, language, identification -------------------------------------------------------


@bp.get("/")
def index():
    """The start page: language, what the resident can do, this session's matters."""
    person = signed_in()
    with the_store().connect() as conn:
        mine = db.matters_of(conn, person.personal_id) if person else []
        session_matters = db.matters_named(
            conn, [tuple(k) for k in session.get("own", []) if isinstance(k, list) and len(k) == 2]
        )
    seen = {(m["channel"], m["external_id"]) for m in mine}
    matters = mine + [m for m in session_matters if (m["channel"], m["external_id"]) not in seen]
    return render_template("index.html", matters=matters)


@bp.post("/language")
def choose_language():
    """Choose the pages' language (and the language of the matters started after it)."""
    chosen = request.form.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return redirect(_back(url_for("resident.index")))


@bp.route("/signin", methods=["GET", "POST"])
def sign_in():
    """'Identify strongly' as one of the synthetic residents."""
    if request.method == "POST":
        person = identity(request.form.get("pid"))
        if person is None:
            return render_template("signin.html", error=t("required")), 400
        session["pid"] = person.personal_id
        flash(t("signed_in_flash", name=person.name), "ok")
        return redirect(_back(url_for("resident.inbox")))
    return render_template("signin.html", error=None, next=request.args.get("next", ""))


@bp.post("/signout")
def sign_out():
    """Forget the test identity (this session's anonymous matters stay)."""
    session.pop("pid", None)
    flash(t("signed_out_flash"), "ok")
    return redirect(url_for("resident.index"))


# -- Chat -----------------------------------------------------------------------------------


@bp.route("/chat/new", methods=["GET", "POST"])
def chat_new():
    """Start a chat, anonymous or identified, with its first message."""
    person = signed_in()
    errors: dict[str, str] = {}
    if request.method == "POST":
        # "none", "strong" (as the signed-in test person) or a test person's code, which
        # also signs the session in as them: identifying for the chat is identifying.
        chosen = request.form.get("identification", "none")
        resident = person if chosen == "strong" else identity(chosen)
        if chosen != "none" and resident is None:
            errors["identification"] = t("identify_first")
        municipality = _municipality(errors, required=chosen != "none")
        text = _text("text", errors)
        if not errors:
            if resident is not None:
                session["pid"] = resident.personal_id
            external_id = chat.start(
                language=language(),
                municipality=municipality,
                resident=resident,
                text=text,
                greeting=t("bot_greeting"),
            )
            _own(chat.CHANNEL, external_id)
            chat.deliver(external_id)
            return redirect(url_for("resident.chat_page", external_id=external_id))
    status = 400 if errors else 200
    return render_template("chat_new.html", errors=errors, person=person), status


def _chat_state(matter) -> tuple[str, bool]:
    """The chat's state line and whether it is a failure."""
    if matter["closed_at"]:
        return t("chat_ended"), False
    record = _record(matter["answer"])
    if record is not None and not _ok(record.get("status")):
        answer = Answer(record.get("status"), record.get("body"), record.get("error"))
        return t("state_failed", reason=_reason(answer)), True
    if matter["item_status"] in ("new", "in_progress", "waiting", "resolved"):
        return t(f"state_{matter['item_status']}"), False
    return t("state_sent"), False


def _chat_view(external_id: str, after: int = 0):
    """A chat's matter and its messages after `after`; the professionals' messages shown are
    marked read and the desk is told."""
    store = the_store()
    with store.connect(write=True) as conn:
        matter = db.matter(conn, chat.CHANNEL, external_id)
        messages = db.messages(conn, chat.CHANNEL, external_id, after)
        read = db.mark_read(conn, chat.CHANNEL, external_id, now())
    if read:
        later(send_receipts, chat.CHANNEL, external_id, read, "read")
    return matter, messages


@bp.get("/chat/<external_id>")
def chat_page(external_id: str):
    """The chat window: the conversation, updating itself, and the message box."""
    _load(chat.CHANNEL, external_id)
    matter, messages = _chat_view(external_id)
    state, failed = _chat_state(matter)
    return render_template(
        "chat.html",
        matter=matter,
        messages=messages,
        last=messages[-1]["seq"] if messages else 0,
        state=state,
        failed=failed,
        poll_ms=current_app.config["PARTNER_POLL_MS"],
    )


@bp.get("/chat/<external_id>/updates")
def chat_updates(external_id: str):
    """What is new in a chat since message `after`: the messages as HTML, the state line, and
    whether the chat has ended (for partner.js, about once a second)."""
    _load(chat.CHANNEL, external_id)
    after = request.args.get("after", type=int, default=0)
    matter, messages = _chat_view(external_id, after)
    state, failed = _chat_state(matter)
    response = jsonify(
        {
            "last": messages[-1]["seq"] if messages else after,
            "html": render_template("_chat_messages.html", matter=matter, messages=messages),
            "closed": bool(matter["closed_at"]),
            "ended_html": render_template("_chat_ended.html", matter=matter),
            "state": state,
            "failed": failed,
            "delivered_seq": matter["delivered_seq"],
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/chat/<external_id>/messages")
def chat_send(external_id: str):
    """The resident's message: added to the conversation, which goes to the desk whole."""
    _load(chat.CHANNEL, external_id)
    errors: dict[str, str] = {}
    text = _text("text", errors)
    problem = errors.get("text")
    status = 400
    if not problem:
        try:
            chat.write(external_id, text)
        except chat.ChatClosed:
            problem, status = t("chat_closed_refused"), 409
        except chat.ChatFull:
            problem, status = t("chat_full"), 409
    if problem:
        if _wants_json():
            return jsonify({"ok": False, "message": problem}), status
        flash(problem, "error")
        return redirect(url_for("resident.chat_page", external_id=external_id))
    answer = chat.deliver(external_id)
    message = t("sent") if answer.ok else t("state_failed", reason=_reason(answer))
    if _wants_json():
        return jsonify({"ok": True, "delivered": answer.ok, "message": message})
    if not answer.ok:
        flash(message, "error")
    return redirect(url_for("resident.chat_page", external_id=external_id))


@bp.post("/chat/<external_id>/deliver")
def chat_deliver(external_id: str):
    """Deliver the conversation again (after the desk could not be reached)."""
    _load(chat.CHANNEL, external_id)
    answer = chat.deliver(external_id)
    flash(
        t("sent") if answer.ok else t("state_failed", reason=_reason(answer)),
        "ok" if answer.ok else "error",
    )
    return redirect(url_for("resident.chat_page", external_id=external_id))


# -- Inbox and a matter ----------------------------------------------------------------------


def _summary(conn, matter) -> dict:
    """What the inbox shows of a matter: its desk messages, the unread, an open request."""
    messages = db.messages(conn, matter["channel"], matter["external_id"])
    from_desk = [m for m in messages if m["sender"] == "professional"]
    answered = {m["in_reply_to"] for m in messages if m["sender"] == "resident"}
    open_requests = [
        m
        for m in from_desk
        if m["kind"] == "request-for-information" and m["message_id"] not in answered
    ]
    return {
        "matter": matter,
        "from_desk": from_desk,
        "latest": from_desk[-1] if from_desk else None,
        "unread": sum(1 for m in from_desk if not m["read_at"]),
        "open_request": open_requests[-1] if open_requests else None,
    }


@bp.get("/inbox")
def inbox():
    """The identified resident's matters: those with messages from the desk first."""
    person = signed_in()
    if person is None:
        return render_template("inbox.html", person=None, with_messages=[], others=[])
    with the_store().connect() as conn:
        summaries = [_summary(conn, m) for m in db.matters_of(conn, person.personal_id)]
    with_messages = [s for s in summaries if s["from_desk"]]
    with_messages.sort(key=lambda s: s["latest"]["seq"], reverse=True)
    others = [s for s in summaries if not s["from_desk"]]
    return render_template("inbox.html", person=person, with_messages=with_messages, others=others)


def _state(channel: str, external_id: str) -> Answer:
    client = desk()
    return client.get(inbound_path(channel, external_id)) if client else not_registered()


@bp.get("/matters/<channel>/<path:external_id>")
def matter_page(channel: str, external_id: str):
    """A matter: what the desk answered, its processing state now, the messages (marked read
    when shown) and, for an identified resident, the answer form."""
    matter = _load(channel, external_id)
    if channel == chat.CHANNEL:
        return redirect(url_for("resident.chat_page", external_id=external_id))
    with the_store().connect(write=True) as conn:
        messages = db.messages(conn, channel, external_id)
        read = db.mark_read(conn, channel, external_id, now())
    if read:
        later(send_receipts, channel, external_id, read, "read")
    from_desk = [m for m in messages if m["sender"] == "professional"]
    answered = {m["in_reply_to"] for m in messages if m["sender"] == "resident"}
    open_requests = [
        m["message_id"]
        for m in from_desk
        if m["kind"] == "request-for-information" and m["message_id"] not in answered
    ]
    default_reply = (
        open_requests[-1] if open_requests else from_desk[-1]["message_id"] if from_desk else ""
    )
    person = signed_in()
    delivery = _record(matter["answer"])
    needs_resend = bool(
        matter["payload"] and not (delivery and _ok(delivery.get("status")))
    ) or any(m["sender"] == "resident" and not _ok(m["answer_status"]) for m in messages)
    return render_template(
        "matter.html",
        matter=matter,
        messages=messages,
        from_desk=from_desk,
        default_reply=default_reply,
        delivery=delivery,
        needs_resend=needs_resend,
        state=_state(channel, external_id),
        may_answer=bool(person and matter["personal_id"] == person.personal_id),
        errors={},
    )


@bp.post("/matters/<channel>/<path:external_id>/answer")
def matter_answer(channel: str, external_id: str):
    """The identified resident's answer to the desk, with the message it answers."""
    matter = _load(channel, external_id)
    person = signed_in()
    if channel == chat.CHANNEL or not person or matter["personal_id"] != person.personal_id:
        flash(t("answer_needs_identity"), "error")
        return redirect(url_for("resident.matter_page", channel=channel, external_id=external_id))
    errors: dict[str, str] = {}
    text = _text("text", errors)
    with the_store().connect() as conn:
        desk_ids = {
            m["message_id"]
            for m in db.messages(conn, channel, external_id)
            if m["sender"] == "professional"
        }
    in_reply_to = request.form.get("in_reply_to") or None
    if in_reply_to not in desk_ids:
        in_reply_to = None
    if errors:
        flash(errors["text"], "error")
        return redirect(url_for("resident.matter_page", channel=channel, external_id=external_id))
    message = {
        "message_id": f"partner-msg-{uuid.uuid4()}",
        "sent_at": now(),
        "text": text,
        "in_reply_to": in_reply_to,
        "attachments": _attachments(),
    }
    with the_store().connect(write=True) as conn:
        seq = db.append_message(
            conn,
            channel,
            external_id,
            sender="resident",
            text=text,
            sent_at=message["sent_at"],
            received_at=message["sent_at"],
            message_id=message["message_id"],
            in_reply_to=in_reply_to,
            attachments=message["attachments"],
        )
    assert seq is not None
    answer = _send_answer(channel, external_id, seq, message)
    if answer.ok:
        flash(t("answer_sent"), "ok")
    else:
        flash(t("answer_failed", reason=_reason(answer)), "error")
    return redirect(url_for("resident.matter_page", channel=channel, external_id=external_id))


def _send_answer(channel: str, external_id: str, seq: int, message: dict) -> Answer:
    client = desk()
    answer = (
        client.post(inbound_path(channel, external_id, "messages"), message)
        if client
        else not_registered()
    )
    with the_store().connect(write=True) as conn:
        db.set_message_answer(conn, seq, answer.status, answer.as_record())
    return answer


@bp.post("/matters/<channel>/<path:external_id>/resend")
def matter_resend(channel: str, external_id: str):
    """Send again what did not get through: the delivery itself and the resident's answers
    (the same ids: the desk answers a repeat as a duplicate)."""
    matter = _load(channel, external_id)
    failures = []
    record = _record(matter["answer"])
    if matter["payload"] and not (record and _ok(record.get("status"))):
        failures.append(_deliver_matter(channel, external_id, json.loads(matter["payload"])))
    with the_store().connect() as conn:
        unsent = [
            m
            for m in db.messages(conn, channel, external_id)
            if m["sender"] == "resident" and m["message_id"] and not _ok(m["answer_status"])
        ]
    for m in unsent:
        message = {
            "message_id": m["message_id"],
            "sent_at": m["sent_at"],
            "text": m["text"],
            "in_reply_to": m["in_reply_to"],
            "attachments": json.loads(m["attachments"]),
        }
        failures.append(_send_answer(channel, external_id, m["seq"], message))
    failed = [a for a in failures if not a.ok]
    if failed:
        flash(t("answer_failed", reason=_reason(failed[0])), "error")
    else:
        flash(t("sent"), "ok")
    return redirect(url_for("resident.matter_page", channel=channel, external_id=external_id))


def _ok(status) -> bool:
    return isinstance(status, int) and 200 <= status < 300


# -- The other channels' forms -----------------------------------------------------------------


def _deliver_matter(channel: str, external_id: str, payload: dict) -> Answer:
    client = desk()
    answer = client.post(inbound_path(channel), payload) if client else not_registered()
    with the_store().connect(write=True) as conn:
        db.update_matter(
            conn,
            channel,
            external_id,
            answer_status=answer.status,
            answer=json.dumps(answer.as_record(), ensure_ascii=False),
        )
    return answer


def _submit(channel: str, payload: dict, title: str, person: Identity | None):
    """Keep a new matter, deliver it to the desk, and show its page."""
    external_id = payload["external_id"]
    with the_store().connect(write=True) as conn:
        db.create_matter(
            conn,
            channel,
            external_id,
            personal_id=person.personal_id if person else None,
            name=person.name if person else None,
            language=payload["language"],
            municipality=payload.get("municipality"),
            title=title,
            payload=json.dumps(payload, ensure_ascii=False),
            created_at=payload["submitted_at"],
        )
    _own(channel, external_id)
    answer = _deliver_matter(channel, external_id, payload)
    flash(
        t("delivered_flash") if answer.ok else t("not_delivered_flash"),
        "ok" if answer.ok else "error",
    )
    return redirect(url_for("resident.matter_page", channel=channel, external_id=external_id))


def _common(channel: str, municipality: str | None, person: Identity | None) -> dict:
    return {
        "external_id": f"{channel}-partner-{uuid.uuid4()}",
        "submitted_at": now(),
        "municipality": municipality,
        "language": language(),
        "resident": _resident(person),
    }


@bp.route("/send/omaolo", methods=["GET", "POST"])
def send_omaolo():
    """An Omaolo symptom assessment: symptom, urgency class, title, recommendation."""
    person = signed_in()
    errors: dict[str, str] = {}
    if request.method == "POST":
        municipality = _municipality(errors, required=True)
        code = request.form.get("code")
        if code not in OMAOLO_CODES:
            errors["code"] = t("required")
        urgency = request.form.get("urgency")
        if urgency not in URGENCIES:
            errors["urgency"] = t("required")
        title = _text("title", errors, limit=300, required=False) or (
            t(f"code_{code}") if code in OMAOLO_CODES else ""
        )
        recommendation = _text("recommendation", errors)
        symptoms = _text("symptoms", errors, required=False)
        if not errors:
            payload = _common("omaolo", municipality, person)
            payload["assessment"] = {
                "kind": "symptom",
                "code": code,
                "title": title,
                "urgency": urgency,
                "recommendation": recommendation,
                "answers": [{"question": t("symptoms_label"), "answer": symptoms}]
                if symptoms
                else [],
                "contact_request": request.form.get("contact_request") == "on",
            }
            return _submit("omaolo", payload, title, person)
    return render_template(
        "send_omaolo.html", errors=errors, person=person, codes=OMAOLO_CODES, urgencies=URGENCIES
    ), (400 if errors else 200)


@bp.route("/send/eform", methods=["GET", "POST"])
def send_eform():
    """An e-form: its type, title, a couple of questions and answers, attachments' metadata,
    and whether the matter is urgent."""
    person = signed_in()
    errors: dict[str, str] = {}
    if request.method == "POST":
        municipality = _municipality(errors, required=True)
        kind = request.form.get("type")
        if kind not in FORM_TYPES:
            errors["type"] = t("required")
        title = _text("title", errors, limit=300)
        fields = {}
        for n in (1, 2):
            question = _text(f"question_{n}", errors, limit=1000, required=False)
            answer = _text(f"answer_{n}", errors, required=False)
            if question:
                fields[question] = answer
            elif answer:
                errors[f"question_{n}"] = t("required")
        if not errors:
            payload = _common("eform", municipality, person)
            payload["form"] = {
                "type": kind,
                "title": title,
                "fields": fields,
                "attachments": _attachments(),
            }
            payload["urgent"] = request.form.get("urgent") == "on"
            return _submit("eform", payload, title, person)
    return render_template("send_eform.html", errors=errors, person=person, types=FORM_TYPES), (
        400 if errors else 200
    )


@bp.route("/send/help-request", methods=["GET", "POST"])
def send_help():
    """A "Pyydä apua" request: topic, message, how to be contacted."""
    person = signed_in()
    errors: dict[str, str] = {}
    if request.method == "POST":
        municipality = _municipality(errors, required=person is not None)
        topic = _text("topic", errors, limit=200)
        message = _text("message", errors)
        preference = request.form.get("contact_preference")
        if preference not in CONTACT_PREFERENCES:
            errors["contact_preference"] = t("required")
        contact = {}
        name = _text("name", errors, limit=200, required=False)
        phone = (request.form.get("phone") or "").replace(" ", "")
        email = (request.form.get("email") or "").strip()
        if phone and not PHONE.fullmatch(phone):
            errors["phone"] = t("phone_invalid")
        if email and not EMAIL.fullmatch(email):
            errors["email"] = t("email_invalid")
        if name:
            contact["name"] = name
        if phone:
            contact["phone"] = phone
        if email:
            contact["email"] = email
        if not errors:
            payload = _common("help-request", municipality, person)
            if person:
                payload["resident"].update({k: v for k, v in contact.items() if k != "name"})
            else:
                payload["resident"] = _resident(None, contact)
            payload["request"] = {
                "topic": topic,
                "message": message,
                "contact_preference": preference,
            }
            return _submit("help-request", payload, topic, person)
    return render_template(
        "send_help.html", errors=errors, person=person, preferences=CONTACT_PREFERENCES
    ), (400 if errors else 200)
