"""Chat: anonymous or strongly identified conversations; a growing chat updates its item."""

from __future__ import annotations

from datetime import datetime

from ..inbound.deadlines import Deadline
from .base import Adapter, Checker, shorten

SENDERS = ("resident", "bot", "professional")
TITLE_LIMIT = 90
# A repeat may grow the conversation and refresh these; anything else is a conflict.
MAY_CHANGE = ("conversation", "topic", "bot_summary", "submitted_at")


class Chat(Adapter):
    name = "chat"

    def check(self, checker: Checker, payload: dict) -> None:
        checker.string(payload, "topic", "topic", required=False, max_len=200)
        checker.string(payload, "bot_summary", "bot_summary", required=False)
        messages = checker.array(
            payload, "conversation", "conversation", min_items=1, max_items=500
        )
        previous = None
        for n, message in enumerate(messages or []):
            path = f"conversation[{n}]"
            if not isinstance(message, dict):
                checker.problem(path, "must be an object")
                continue
            checker.string(message, "sender", f"{path}.sender", choices=SENDERS)
            sent = checker.timestamp(message, "sent_at", f"{path}.sent_at")
            checker.string(message, "text", f"{path}.text")
            if sent is not None and previous is not None and sent < previous:
                checker.problem(f"{path}.sent_at", "is earlier than the message before it")
            previous = sent or previous

    def title(self, payload: dict) -> str:
        messages = payload["conversation"]
        first = next(
            (m["text"] for m in messages if m["sender"] == "resident"), messages[0]["text"]
        )
        topic = payload.get("topic")
        return shorten(f"{topic}: {first}" if topic else first, TITLE_LIMIT)

    def content(self, payload: dict) -> dict:
        return {k: payload[k] for k in ("topic", "bot_summary", "conversation") if k in payload}

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
