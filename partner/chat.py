"""The chat platform's part: a conversation kept here and re-delivered whole to the desk after
every message of the resident (inbound.md, `chat`; outbound.md, "What comes back in").

A repeat must be the conversation the desk already has plus new messages at the end (else
`409`), so the messages are sent in the order they arrived here (seq), each with the time it
was first given (order_at), which is never earlier than the message before it; and one chat
is delivered by one thread at a time, so a shorter conversation never overtakes a longer one.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict

from . import store as db
from .client import Answer, inbound_path
from .common import desk, not_registered, now, the_store
from .identities import Identity

CHANNEL = "chat"
MAX_MESSAGES = 500
TEXT_LIMIT = 4000

_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
_locks_guard = threading.Lock()


class ChatClosed(Exception):
    """The professional ended the chat: the resident cannot write to it."""


class ChatFull(Exception):
    """The conversation has as many messages as the contract allows."""


def _lock(external_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks[external_id]


def start(
    *,
    language: str,
    municipality: str | None,
    resident: Identity | None,
    text: str,
    greeting: str,
) -> str:
    """A new chat, opened by the chatbot's greeting and the resident's first message; its
    external_id."""
    external_id = f"chat-partner-{uuid.uuid4()}"
    at = now()
    with the_store().connect(write=True) as conn:
        db.create_matter(
            conn,
            CHANNEL,
            external_id,
            personal_id=resident.personal_id if resident else None,
            name=resident.name if resident else None,
            language=language,
            municipality=municipality,
            title=text[:90],
            created_at=at,
        )
        for sender, words in (("bot", greeting), ("resident", text)):
            db.append_message(
                conn, CHANNEL, external_id, sender=sender, text=words, sent_at=at, received_at=at
            )
    return external_id


def write(external_id: str, text: str) -> int:
    """The resident's next message, at the end of the conversation; its seq."""
    at = now()
    with the_store().connect(write=True) as conn:
        matter = db.matter(conn, CHANNEL, external_id)
        if matter is None or matter["closed_at"]:
            raise ChatClosed()
        count = conn.execute(
            "SELECT count(*) FROM messages WHERE channel = ? AND external_id = ?",
            (CHANNEL, external_id),
        ).fetchone()[0]
        if count >= MAX_MESSAGES:
            raise ChatFull()
        seq = db.append_message(
            conn, CHANNEL, external_id, sender="resident", text=text, sent_at=at, received_at=at
        )
    assert seq is not None
    return seq


def entry(message) -> dict:
    """One message as the conversation carries it; the same dict every time it is sent."""
    found = {"sender": message["sender"], "sent_at": message["order_at"], "text": message["text"]}
    if message["sender"] == "professional" and message["message_id"]:
        found["message_id"] = message["message_id"]
    return found


def payload(matter, messages) -> dict:
    """The chat delivery of the contract: the whole conversation so far, in time order."""
    resident = (
        {"identification": "strong", "personal_id": matter["personal_id"], "name": matter["name"]}
        if matter["personal_id"]
        else {"identification": "none"}
    )
    conversation = [entry(m) for m in messages]
    return {
        "external_id": matter["external_id"],
        "submitted_at": conversation[0]["sent_at"],
        "municipality": matter["municipality"],
        "language": matter["language"],
        "resident": resident,
        "conversation": conversation,
    }


def deliver(external_id: str) -> Answer:
    """Deliver the whole conversation to the desk and keep its answer."""
    with _lock(external_id):
        store = the_store()
        with store.connect() as conn:
            matter = db.matter(conn, CHANNEL, external_id)
            messages = db.messages(conn, CHANNEL, external_id)
        if matter is None or not messages:
            return Answer(None, None, "no such chat")
        client = desk()
        body = payload(matter, messages)
        answer = client.post(inbound_path(CHANNEL), body) if client else not_registered()
        fields: dict = {
            "answer_status": answer.status,
            "answer": json.dumps(answer.as_record(), ensure_ascii=False),
        }
        if answer.ok:
            fields["delivered_seq"] = messages[-1]["seq"]
        with store.connect(write=True) as conn:
            db.update_matter(conn, CHANNEL, external_id, **fields)
        return answer
