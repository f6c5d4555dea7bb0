"""The professional's messages to the resident and the resident's answers, as lifecycle verbs:
each checks, changes, records an event, writes its outbox event and flushes; the request or job
that called it commits once (../shared/contract/outbound.md, "Rules the desk keeps").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import and_, inspect, select, text
from sqlalchemy.orm import Session

from ..channels.base import Adapter
from ..errors import (
    ChatEnded,
    InvalidLink,
    InvalidReplyBy,
    NotAnswerable,
    NotRetryable,
    ResidentNotIdentified,
    WrongStatus,
)
from ..inbound.deadlines import HELSINKI, working_days_after
from ..models import (
    OPEN_REQUEST,
    EventKind,
    EventState,
    ItemEvent,
    ItemMessage,
    ItemStatus,
    MessageKind,
    MessageState,
    OutboxEvent,
    User,
    UserSession,
    WorkItem,
    utcnow,
)
from ..work import lifecycle
from ..work.lifecycle import check_access, check_holder, check_version, clean_text, record
from . import new_id, outbox
from .conversation import refresh_target
from .endpoints import for_channel

MAX_LINKS = 10
#: the latest answer-by date a request may set, in days from today
MAX_REPLY_DAYS = 90
#: the order of a message's states: a receipt never takes one back
_RANK = {s: n for n, s in enumerate(("queued", "sent", "delivered", "read"))}
#: the holder's statuses in which an answer goes back to them rather than to the queue
_PRESENT = ("available", "busy", "break")
#: a holder who has not chosen a status is at work if they used the desk this recently
AT_WORK_WITHIN = timedelta(minutes=15)


@dataclass(frozen=True)
class Link:
    title: str
    url: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "url": self.url}


@dataclass
class Draft:
    """What the professional wrote, as the form sent it."""

    kind: str
    text: str | None
    links: Sequence[Link] = ()
    reply_by: date | None = None
    #: a `message`: the item waits for the resident's answer afterwards
    wait: bool = False
    #: the form's key: a repeated post of one click answers with the message it made
    click_key: str | None = None
    template_ids: Sequence[int] = field(default_factory=tuple)


def closing(session: Session, item: WorkItem) -> ItemEvent | None:
    """How the professional ended the item's chat (who, when, the closing words), if they did.
    From the item's timeline when it is loaded (the item's page loads it), else asked."""
    if "events" not in inspect(item).unloaded:
        closed = EventKind.CHAT_CLOSED.value
        return next((event for event in item.events if event.kind == closed), None)
    return session.scalars(
        select(ItemEvent)
        .where(ItemEvent.item_id == item.id, ItemEvent.kind == EventKind.CHAT_CLOSED.value)
        .limit(1)
    ).first()


def chat_ended(session: Session, item: WorkItem) -> bool:
    """Whether the professional has closed the item's chat (the resident's window is gone)."""
    return closing(session, item) is not None


def kinds(item: WorkItem, adapter: Adapter, *, ended: bool) -> list[str]:
    """The kinds of message the item may be answered with now: a reply in a live chat, and a
    message or a request for more information to a strongly identified resident."""
    if not item.is_open:
        return []
    allowed = []
    if adapter.live and not ended:
        allowed.append(MessageKind.REPLY.value)
    if item.identification == "strong":
        allowed += [MessageKind.MESSAGE.value, MessageKind.REQUEST.value]
    return allowed


def default_reply_by(item: WorkItem, adapter: Adapter, now: datetime) -> date:
    """The answer-by date a request for more information proposes for this matter."""
    return working_days_after(now, adapter.reply_by_days(item.content)).date()


def links(pairs: Iterable[tuple[str, str]]) -> list[Link]:
    """Attached links: each titled, `https`, at most MAX_LINKS; InvalidLink otherwise."""
    found = []
    for title, url in pairs:
        title, url = (title or "").strip(), (url or "").strip()
        try:
            parts = urlsplit(url)
        except ValueError as error:
            raise InvalidLink() from error
        if not title or len(title) > 200 or len(url) > 500:
            raise InvalidLink()
        if parts.scheme != "https" or not parts.hostname:
            raise InvalidLink()
        found.append(Link(title, url))
    if len(found) > MAX_LINKS:
        raise InvalidLink()
    return found


def send(
    session: Session,
    item: WorkItem,
    user: User,
    adapter: Adapter,
    draft: Draft,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ItemMessage:
    """Send the professional's message to the resident through the item's source system.

    A reply goes into a live chat (anonymous or not: the page reminds the professional of
    that); a message or a request for more information only to a strongly identified
    resident. A request pauses a legal deadline that counts from the last information, and
    the item waits for the resident; so does a message sent "waiting for the answer"."""
    if draft.click_key:
        made = session.scalar(
            select(ItemMessage).where(
                ItemMessage.author_id == user.id, ItemMessage.click_key == draft.click_key
            )
        )
        if made is not None:
            return made
    check_access(item, user)
    check_holder(item, user)
    check_version(item, expected_version)
    now = now or utcnow()
    try:
        kind = MessageKind(draft.kind)
    except ValueError:
        raise WrongStatus(status=item.status) from None
    if kind == MessageKind.REPLY:
        if not adapter.live:
            raise WrongStatus(status=item.status)
        if chat_ended(session, item):
            raise ChatEnded()
    elif item.identification != "strong":
        raise ResidentNotIdentified()
    body = clean_text(draft.text, required=True)
    attached = links((link.title, link.url) for link in draft.links)
    reply_by = None
    if kind == MessageKind.REQUEST:
        today = now.astimezone(HELSINKI).date()
        if draft.reply_by is None or not (
            today < draft.reply_by <= today + timedelta(days=MAX_REPLY_DAYS)
        ):
            raise InvalidReplyBy(limit=MAX_REPLY_DAYS)
        reply_by = draft.reply_by
    endpoint = for_channel(session, item.channel)
    if endpoint is None:
        raise NotAnswerable()
    message = ItemMessage(
        id=new_id("msg"),
        item_id=item.id,
        outgoing=True,
        at=now,
        text=body,
        language=item.language,
        kind=kind.value,
        author_id=user.id,
        sender_name=user.shown_name,
        sender_title=user.title(item.language),
        links=[link.as_dict() for link in attached],
        template_ids=list(draft.template_ids) or None,
        reply_by=reply_by,
        click_key=draft.click_key,
        state=MessageState.QUEUED.value,
        state_at=now,
    )
    session.add(message)
    session.flush()  # the reply is part of the conversation the response target reads
    item.first_action_at = item.first_action_at or now
    lifecycle.changed(session, item, user, EventKind.MESSAGE_SENT, now=now)
    event = outbox.emit(
        session,
        endpoint,
        item,
        outbox.MESSAGE_CREATED,
        outbox.message_data(item, message),
        now,
        message=message,
    )
    if event.state == EventState.DELIVERED.value:
        delivered(message, now)
    if kind == MessageKind.REQUEST or (kind == MessageKind.MESSAGE and draft.wait):
        if kind == MessageKind.REQUEST and adapter.restart_after_information(item.content):
            item.due_at = None  # counts again from the day the answer arrives
        if item.status == ItemStatus.IN_PROGRESS.value:
            item.status = ItemStatus.WAITING.value
            lifecycle.changed(session, item, user, EventKind.WAITING, now=now)
    session.flush()
    return message


def close_chat(
    session: Session, item: WorkItem, user: User, adapter: Adapter, words: str | None, now=None
) -> bool:
    """End the resident's chat window with the closing words (or none); True if it was open.
    Resolving a chat closes it; so does moving it on to another channel's work."""
    if not adapter.live or chat_ended(session, item):
        return False
    check_access(item, user)
    words = clean_text(words, required=False)
    endpoint = for_channel(session, item.channel)
    if endpoint is None:
        return False  # no platform to tell: the chat ends on its own side
    now = now or utcnow()
    record(session, item, user, EventKind.CHAT_CLOSED, at=now, text=words)
    outbox.conversation_closed(session, endpoint, item, words, now)
    refresh_target(session, item, ended=True)
    session.flush()
    return True


def retry(
    session: Session, item: WorkItem, user: User, message_id: str, now: datetime | None = None
) -> ItemMessage:
    """Send a failed message again: the same event under the same id (the receiver never
    took it), now, and after it the item's later events keep their order."""
    check_access(item, user)
    lifecycle.check_open(item)
    message = session.get(ItemMessage, message_id)
    if message is None or message.item_id != item.id or message.state != "failed":
        raise NotRetryable()
    event = session.scalar(select(OutboxEvent).where(OutboxEvent.message_id == message.id))
    endpoint = for_channel(session, item.channel)
    if event is None or endpoint is None:
        raise NotAnswerable()
    now = now or utcnow()
    event.endpoint = endpoint
    event.state = EventState.PENDING.value
    event.attempts = 0
    event.created_at = event.next_attempt_at = now
    event.last_error = None
    message.state, message.state_at, message.failure = MessageState.QUEUED.value, now, None
    outbox.wake(session, item.id)
    session.flush()
    return message


# --- what the delivery tells --------------------------------------------------------------------


def delivered(message: ItemMessage, now: datetime) -> None:
    """The receiver took the message (2xx): `sent`, unless a receipt already said more."""
    if _RANK.get(message.state or "", -1) < _RANK["sent"]:
        message.state, message.state_at, message.failure = MessageState.SENT.value, now, None


def failed(message: ItemMessage, reason: str, now: datetime) -> None:
    message.state, message.state_at, message.failure = MessageState.FAILED.value, now, reason


def receipt(message: ItemMessage, state: str, at: datetime) -> bool:
    """The source system reports the message `delivered` or `read`; a state never goes
    back (a late `delivered` after `read` changes nothing). True when it changed."""
    if message.state == "failed" and state in _RANK:
        pass  # the resident has it after all: a receipt is the better witness
    elif _RANK.get(state, -1) <= _RANK.get(message.state or "", -1):
        return False
    message.state, message.state_at, message.failure = state, at, None
    return True


# --- the resident's answers -----------------------------------------------------------------------


@dataclass
class Answer:
    """A resident's message from the inbound API (`POST …/messages`)."""

    message_id: str
    sent_at: datetime
    text: str
    in_reply_to: str | None = None
    attachments: list[dict] = field(default_factory=list)


def resident_message(
    session: Session, item: WorkItem, adapter: Adapter, answer: Answer, now: datetime | None = None
) -> tuple[ItemMessage, bool]:
    """Add the resident's answer to the item's conversation; (the message, whether it is new).

    The item leaves "waiting for the resident" and goes back to its holder, or to its queue
    when the holder is away (or it was resolved: someone must read it). An answer to an open
    request for more information restarts the legal deadline from today."""
    if item.identification != "strong":
        raise ResidentNotIdentified()
    known = session.scalar(
        select(ItemMessage).where(
            ItemMessage.item_id == item.id, ItemMessage.source_message_id == answer.message_id
        )
    )
    if known is not None:
        return known, False
    now = now or utcnow()
    message = ItemMessage(
        id=new_id("rmsg"),
        item_id=item.id,
        outgoing=False,
        at=answer.sent_at,
        text=answer.text,
        language=item.language,
        source_message_id=answer.message_id,
        in_reply_to=answer.in_reply_to,
        attachments=answer.attachments or None,
    )
    session.add(message)
    item.updated_at = now
    record(session, item, None, EventKind.RESIDENT_MESSAGE, at=now)
    requests = session.scalars(
        select(ItemMessage).where(ItemMessage.item_id == item.id, text(OPEN_REQUEST))
    ).all()
    for request in requests:
        request.answered_at = now
    days = adapter.restart_after_information(item.content)
    if requests and days:
        item.due_at = working_days_after(now, days)
    _back_to_work(session, item, now)
    session.flush()
    return message, True


def _back_to_work(session: Session, item: WorkItem, now: datetime) -> None:
    """A resident's answer wakes the item: to its holder if they are at work, else its queue."""
    holder = item.assignee
    if item.status == ItemStatus.RESOLVED.value:
        item.status, item.assignee, item.resolved_at = ItemStatus.NEW.value, None, None
        item.outcome_code = None
        record(session, item, None, EventKind.RETURNED, at=now)
    elif holder is None and item.status == ItemStatus.WAITING.value:
        # waiting in its queue for the next call: the resident answered instead
        item.status, item.retry_at = ItemStatus.NEW.value, None
        record(session, item, None, EventKind.RETURNED, at=now)
    elif holder is not None and not at_work(session, holder, now):
        item.status, item.assignee = ItemStatus.NEW.value, None
        record(session, item, None, EventKind.RETURNED, at=now)
    elif item.status == ItemStatus.WAITING.value:
        item.status = ItemStatus.IN_PROGRESS.value
        record(session, item, None, EventKind.RESUMED, at=now)


def at_work(session: Session, user: User, now: datetime) -> bool:
    """Whether `user` is at work: a status that says so, or, "offline" (every account's
    status until its holder chooses one), active in the desk in the last minutes and since
    choosing "offline"."""
    if user.status in _PRESENT:
        return True
    since = now - AT_WORK_WITHIN
    if user.status_since is not None:
        since = max(since, user.status_since)
    return (
        session.scalar(
            select(UserSession.id)
            .where(UserSession.user_id == user.id, UserSession.last_seen_at > since)
            .limit(1)
        )
        is not None
    )


def lapse_requests(session: Session, channels, now: datetime | None = None) -> list[WorkItem]:
    """Requests for more information whose answer-by date has passed without an answer: each
    item comes back to its queue marked "no answer", and a paused legal deadline runs again
    from the answer-by date. Returns the items."""
    now = now or utcnow()
    today = now.astimezone(HELSINKI).date()
    lapsed = session.scalars(
        select(ItemMessage)
        .where(and_(text(OPEN_REQUEST), ItemMessage.reply_by < today))
        .order_by(ItemMessage.reply_by)
        .limit(500)
    ).all()
    items = []
    for request in lapsed:
        request.lapsed_at = now
        item = session.get(WorkItem, request.item_id)
        if not item.is_open:
            continue
        adapter = channels.get(item.channel)
        days = adapter.restart_after_information(item.content) if adapter else None
        if days and item.due_at is None:
            closing = datetime.combine(request.reply_by, datetime.min.time(), HELSINKI)
            item.due_at = working_days_after(closing, days)
        item.status, item.assignee = ItemStatus.NEW.value, None
        item.updated_at = now
        record(session, item, None, EventKind.NO_ANSWER, at=now, text=request.reply_by.isoformat())
        items.append(item)
    session.flush()
    return items
