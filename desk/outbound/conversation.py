"""An item's conversation: the chat's own transcript, the desk's messages and the resident's
answers, each once and in time order; and whether a resident in a live chat waits for an
answer, and since when (the response target orders them first: ../shared/contract/inbound.md,
"Live chats are the exception"). Plain Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from heapq import merge

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..models import ItemMessage, ItemStatus, WorkItem

#: a queue's chat response target when a team lead has not set one
DEFAULT_RESPONSE_MINUTES = 5


@dataclass(frozen=True)
class Line:
    """One message of the conversation: who, when, what, and the desk's message when it is
    one (with its state)."""

    sender: str
    at: datetime
    text: str
    message: ItemMessage | None = None


def conversation(content: dict, stored: Sequence[ItemMessage]) -> list[Line]:
    """The item's messages in time order: a chat's own transcript and the desk's messages,
    each once (the chat platform sends the desk's replies back with their `message_id`), and
    the resident's answers that came through the API.

    The transcript's order is the platform's own, and a desk message it sends back keeps the
    place the platform gave it. The desk's other messages go in by time. Many platforms stamp
    their messages to the second only: such a message is "some time in that second", so one
    the resident wrote in the same second as the desk's reply goes after it. The resident is
    then seen to wait, rather than a waiting resident seen as answered."""
    ours = {m.id: m for m in stored}
    echoed = set()
    transcript = []
    for entry in content.get("conversation", ()):
        mine = ours.get(entry.get("message_id"))
        if mine is not None:
            echoed.add(mine.id)
            transcript.append(_stored_line(mine))
        else:
            at = datetime.fromisoformat(entry["sent_at"])
            transcript.append(Line(entry["sender"], at, entry["text"]))
    rest = sorted((_stored_line(m) for m in stored if m.id not in echoed), key=_latest)
    return list(merge(rest, transcript, key=_latest))  # in a tie, the desk's message first


def _stored_line(message: ItemMessage) -> Line:
    return Line(
        "professional" if message.outgoing else "resident", message.at, message.text, message
    )


def _latest(line: Line) -> datetime:
    """The latest moment the line may have been written: a time given to the second only
    (no fraction) is the end of that second."""
    if line.message is None and line.at.microsecond == 0:
        return line.at + timedelta(microseconds=999_999)
    return line.at


def stored_messages(session: Session, item: WorkItem) -> list[ItemMessage]:
    if item.id is None:
        return []  # a new item, not yet inserted, has none
    return list(session.scalars(_MESSAGES, {"item_id": item.id}))


#: built once: every item page asks it
_MESSAGES = (
    select(ItemMessage).where(ItemMessage.item_id == bindparam("item_id")).order_by(ItemMessage.at)
)


def unanswered_since(lines: Sequence[Line]) -> datetime | None:
    """When the resident's first message after the last professional one was written, if the
    conversation ends with the resident waiting; None when the last word is not theirs (a
    chatbot's message answers nobody)."""
    since = None
    for line in lines:
        if line.sender == "professional":
            since = None
        elif line.sender == "resident" and since is None:
            since = line.at
    last = next((line for line in reversed(lines) if line.sender != "bot"), None)
    return since if last is not None and last.sender == "resident" else None


def is_live_chat(item: WorkItem) -> bool:
    """A chat's item: its content is a conversation the resident takes part in live."""
    return "conversation" in (item.content or {})


def refresh_target(session: Session, item: WorkItem, *, ended: bool = False) -> None:
    """Set the chat's response target: the first unanswered resident message plus its queue's
    response target; none when it is answered, ended, waiting for the resident or resolved."""
    if not is_live_chat(item):
        return
    since = None
    if not ended and item.status in (ItemStatus.NEW.value, ItemStatus.IN_PROGRESS.value):
        since = unanswered_since(conversation(item.content, stored_messages(session, item)))
    minutes = item.queue.chat_response_minutes or DEFAULT_RESPONSE_MINUTES
    item.unanswered_since = since
    item.answer_by = since + timedelta(minutes=minutes) if since else None


def retarget(session: Session, queue) -> int:
    """The queue's response target changed: its waiting chats' targets follow it."""
    waiting = session.scalars(
        select(WorkItem).where(
            WorkItem.queue_code == queue.code,
            WorkItem.unanswered_since.is_not(None),
            WorkItem.status.in_((ItemStatus.NEW.value, ItemStatus.IN_PROGRESS.value)),
        )
    ).all()
    for item in waiting:
        item.answer_by = item.unanswered_since + timedelta(minutes=queue.chat_response_minutes)
    return len(waiting)
