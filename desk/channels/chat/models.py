"""A chat delivery: the conversation so far, as the chat platform sends it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ..base import Delivery, Entries, ExternalId, Model, Text, Timestamp, fail

SENDERS = ("resident", "bot", "professional")


class Message(Model):
    sender: Literal[SENDERS]
    sent_at: Timestamp
    text: Text()
    message_id: ExternalId | None = Field(
        default=None,
        description="A professional's message that the desk sent (outbound contract): the "
        "desk's message_id, by which the desk shows it once",
    )


def _in_time_order(messages: list[Message]) -> list[Message]:
    for n in range(1, len(messages)):
        if messages[n].sent_at < messages[n - 1].sent_at:
            raise fail("is earlier than the message before it", n, "sent_at")
    return messages


class ChatDelivery(Delivery):
    """A conversation with the chatbot and then with the resident; a repeat of it with more
    messages grows the item."""

    topic: Text(200) | None = None
    bot_summary: Text() | None = None
    conversation: Annotated[
        Entries(Message, 1, 500),
        AfterValidator(_in_time_order),
        Field(
            description="The messages in time order: a message that is earlier than the "
            "message before it is refused ('is earlier than the message before it')"
        ),
    ]
