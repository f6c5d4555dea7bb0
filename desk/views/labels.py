"""Words for codes: roles, channels, statuses, events, languages; for the templates."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, g

from .. import kept
from ..extensions import channel_registry, db
from ..i18n import day, when
from ..i18n import gettext as _
from ..models import ItemEvent


def reference() -> kept.Reference:
    """The kept reference tables (desk.kept), asked for once per transaction of the request:
    the item page and every instruction it shows read them. A request that changes them
    commits before it reads them again."""
    transaction = db.session().get_transaction()
    asked = g.get("desk_reference")
    if asked is not None and transaction is not None and asked[0] is transaction:
        return asked[1]
    found = kept.reference(db.session)
    g.desk_reference = (db.session().get_transaction(), found)
    return found


def role_label(code: str) -> str:
    return {
        "professional": _("professional"),
        "team_lead": _("team lead"),
        "trainer": _("trainer"),
        "admin": _("administrator"),
        "auditor": _("auditor"),
        "trainee": _("trainee"),
    }.get(code, code)


def access_label(code: str) -> str:
    return {
        "view": _("Opened the item"),
        "action": _("Acted on the item"),
        "reveal": _("Showed the whole personal identity code"),
        "export": _("Exported"),
        "audit": _("Searched the access log"),
        "search": _("Found the item in a search"),
        "history": _("Listed among the resident's other matters"),
    }.get(code, code)


def service_kind_label(code: str) -> str:
    """A row of the service matrix: a kind of digital service."""
    return {
        "identified_portal": _("Identified e-services"),
        "self_booking": _("Self-booking"),
        "remote_reception": _("Remote reception"),
        "chat": _("Chat"),
        "omaolo": _("Omaolo"),
        "forms": _("Electronic forms"),
        "phone_callback": _("Phone callback"),
    }.get(code, code)


def channel_label(code: str) -> str:
    """The channel's own label (its adapter's), in the reader's language; the code of a
    channel no longer in use."""
    adapter = channel_registry().get(code)
    return _(adapter.label) if adapter and adapter.label else code


def channel_template(code: str) -> str:
    """The template of an item's content: its channel's own, or each field as it came."""
    adapter = channel_registry().get(code)
    if adapter is None or not adapter.template:
        return "items/_content_fields.html"
    return f"channel-{code}/{adapter.template}"


def status_label(code: str) -> str:
    return {
        "new": _("Waiting to be taken"),
        "in_progress": _("In progress"),
        "waiting": _("Waiting for the resident"),
        "resolved": _("Resolved"),
    }.get(code, code)


def item_status_label(item) -> str:
    """An item's state for people: an item waiting in its queue for the next call attempt is
    not waiting for the resident."""
    if item.retry_at is not None and item.status == "waiting":
        return _("Waiting for the next call")
    return status_label(item.status)


def identification_label(code: str) -> str:
    return {
        "none": _("Anonymous"),
        "strong": _("Strongly identified"),
        "phone": _("Identified on the phone"),
    }.get(code, code)


def call_result_label(code: str) -> str:
    return {
        "reached": _("Reached"),
        "no-answer": _("No answer"),
        "busy": _("Busy"),
        "voicemail": _("Voicemail left"),
        "wrong-number": _("Wrong number"),
    }.get(code, code)


def language_label(code: str) -> str:
    return {"fi": _("Finnish"), "sv": _("Swedish"), "en": _("English")}.get(code, code)


def sender_label(code: str) -> str:
    return {"resident": _("Resident"), "bot": _("Chatbot"), "professional": _("Professional")}.get(
        code, code
    )


def message_kind_label(code: str) -> str:
    return {
        "reply": _("Reply in the chat"),
        "message": _("Message"),
        "request-for-information": _("Request for more information"),
    }.get(code, code)


def message_state_label(code: str | None) -> str:
    return {
        "queued": _("Queued"),
        "sent": _("Sent"),
        "delivered": _("Delivered"),
        "read": _("Read"),
        "failed": _("Failed"),
    }.get(code or "", code or "")


def contact_label(code: str) -> str:
    return {"phone": _("by phone"), "email": _("by email"), "message": _("by message")}.get(
        code, code
    )


def form_type_label(code: str) -> str:
    return {
        "income-support": _("Income support"),
        "disability-services": _("Disability services"),
        "social-care-need": _("Social care need"),
        "health-questionnaire": _("Health questionnaire"),
        "other": _("Other form"),
    }.get(code, code)


def topic_label(code: str) -> str:
    """What an instruction's topic code means: an Omaolo assessment or urgency class, a form
    type, or a chatbot's or request's topic. A topic an editor wrote that the desk does not
    know is shown as written."""
    urgency = {
        "P0": _("urgency class P0 (emergency)"),
        "P1": _("urgency class P1"),
        "P2": _("urgency class P2"),
        "P3": _("urgency class P3"),
    }
    assessments = {
        "respiratory-infection": _("respiratory tract infection"),
        "urinary-tract-infection": _("urinary tract infection"),
        "back-pain": _("low back pain"),
        "skin-rash": _("skin rash"),
        "sore-throat": _("sore throat"),
        "eye-symptoms": _("eye symptoms"),
        "headache": _("headache"),
        "depression": _("symptoms of depression"),
        "abdominal-pain": _("abdominal pain"),
        "chest-pain": _("chest pain"),
        "informal-care-support": _("informal care support"),
        "personal-assistance": _("personal assistance"),
        "elderly-services": _("services for older people"),
    }
    # the chatbot's and the "Ask for help" requests' topics, which are Finnish words
    words = {
        "ajanvaraus": _("appointment booking"),
        "lääkitys": _("medication"),
        "asuminen": _("housing"),
    }
    if code in urgency:
        return urgency[code]
    if code in assessments:
        return assessments[code]
    if code in words:
        return words[code]
    form = form_type_label(code)
    return form.lower() if form != code and code != "other" else code


def assessment_kind_label(code: str) -> str:
    return {"symptom": _("Symptom assessment"), "service": _("Service assessment")}.get(code, code)


def _person(event: ItemEvent) -> str:
    return event.to_user.display_name if event.to_user else "?"


def event_label(event: ItemEvent, queue_names: dict[str, str]) -> str:
    """What happened, in one line, with queues by their names."""

    def queue(code: str | None) -> str:
        return queue_names.get(code, code) if code else "?"

    match event.kind:
        case "routed":
            return _("Routed to queue %(queue)s", queue=queue(event.to_queue_code))
        case "transferred":
            return _(
                "Transferred from %(from)s to %(to)s",
                **{"from": queue(event.from_queue_code), "to": queue(event.to_queue_code)},
            )
        case "assigned":
            return _("Given to %(person)s", person=_person(event))
        case "reassigned" if event.to_user_id:
            return _("Moved to %(person)s", person=_person(event))
        case "reassigned":
            return _("Moved back to the queue")
        case "requested_elsewhere" if event.municipality_code:
            return _(
                "Asks service from another municipality: %(code)s", code=event.municipality_code
            )
        case "requested_elsewhere":
            return _("Asks service from their own municipality again")
        case "returned" if event.actor_id is None:
            return _("Back to the queue: the resident answered while nobody held it")
        case "call_attempt":
            return _("Call: %(result)s", result=call_result_label(event.outcome_code or ""))
        case "retry_due":
            return _("Back in the queue for call attempt %(n)s", n=event.outcome_code or "?")
        case "call_later" if event.text:
            return _("To be called at %(when)s", when=when(datetime.fromisoformat(event.text)))
        case "identified_on_phone":
            return _("The caller identified themselves on the phone")
        case "no_answer" if event.text:
            return _(
                "No answer: the request's answer-by date %(day)s passed",
                day=day(date.fromisoformat(event.text)),
            )
    return {
        "created": _("Received"),
        "updated": _("The resident added to the matter"),
        "taken": _("Taken"),
        "released": _("Released back to the queue"),
        "noted": _("Internal note"),
        "waiting": _("Waiting for the resident"),
        "resumed": _("Continued"),
        "resolved": _("Resolved"),
        "pid_revealed": _("Personal identity code shown"),
        "returned": _("Back to the queue: its holder went offline"),
        "message_sent": _("Message to the resident"),
        "resident_message": _("The resident answered"),
        "chat_closed": _("The chat was ended"),
        "no_answer": _("No answer"),
    }.get(event.kind, event.kind)


def init_app(app: Flask) -> None:
    """Make the label functions available to every template."""
    app.jinja_env.globals.update(
        role_label=role_label,
        channel_label=channel_label,
        channel_template=channel_template,
        channel_adapter=lambda code: channel_registry().get(code),
        service_kind_label=service_kind_label,
        access_label=access_label,
        status_label=status_label,
        item_status_label=item_status_label,
        identification_label=identification_label,
        call_result_label=call_result_label,
        language_label=language_label,
        sender_label=sender_label,
        message_kind_label=message_kind_label,
        message_state_label=message_state_label,
        contact_label=contact_label,
        form_type_label=form_type_label,
        assessment_kind_label=assessment_kind_label,
        topic_label=topic_label,
        event_label=event_label,
    )
