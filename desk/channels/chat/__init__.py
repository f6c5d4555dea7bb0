"""Chat: anonymous or strongly identified conversations; a growing chat updates its item."""

from __future__ import annotations

from datetime import datetime

from ...inbound.deadlines import Deadline
from ..base import N_, Adapter, shorten
from .models import SENDERS, ChatDelivery

__all__ = ["ADAPTER", "SENDERS", "ChatDelivery"]
TITLE_LIMIT = 90
# A repeat may grow the conversation and refresh these; anything else is a conflict.
MAY_CHANGE = ("conversation", "topic", "bot_summary", "submitted_at")


class Chat(Adapter):
    name = "chat"
    label = N_("Chat")
    model = ChatDelivery
    # A conversation holds a person more than a form does.
    weight = 2
    template = "content.html"
    live = True

    def title(self, payload: dict) -> str:
        messages = payload["conversation"]
        first = next(
            (m["text"] for m in messages if m["sender"] == "resident"), messages[0]["text"]
        )
        topic = payload.get("topic")
        return shorten(f"{topic}: {first}" if topic else first, TITLE_LIMIT)

    def content(self, payload: dict) -> dict:
        return {k: payload[k] for k in ("topic", "bot_summary", "conversation") if k in payload}

    def retained(self, content: dict) -> dict:
        return {"topic": content["topic"]} if content.get("topic") else {}

    def retained_title(self, title: str, content: dict) -> str:
        # The title quotes the resident's first message: only the chatbot's topic stays.
        return content.get("topic") or "–"

    def topics(self, content: dict) -> set[str]:
        return {content["topic"]} if content.get("topic") else set()

    def deadline(self, payload: dict, submitted_at: datetime) -> Deadline:
        return Deadline(None)

    def update(self, stored: dict, repeat: dict) -> dict | None:
        old, new = stored["conversation"], repeat["conversation"]
        if len(new) <= len(old) or new[: len(old)] != old:
            return None
        rest = {k: v for k, v in stored.items() if k not in MAY_CHANGE}
        if rest != {k: v for k, v in repeat.items() if k not in MAY_CHANGE}:
            return None
        return repeat


ADAPTER = Chat()
