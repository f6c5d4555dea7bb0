"""What comes back in after the desk answered (../shared/contract/outbound.md, "What comes
back in"): the resident's message outside a chat, a receipt for the desk's message, and the
resident's satisfaction. Each is a pydantic model the API validates with and documents."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..channels.base import Entries, ExternalId, Model, Text, Timestamp, WholeNumber
from ..channels.eform.models import Attachment

#: the desk's message ids: "msg_" and a ULID
DESK_MESSAGE_ID = r"^msg_[0-9A-HJKMNP-TV-Z]{26}$"


class ResidentMessage(Model):
    """`POST /api/v1/inbound/{channel}/{external_id}/messages`."""

    message_id: ExternalId = Field(description="The source system's own id of the message")
    sent_at: Timestamp
    text: Text()
    in_reply_to: str | None = Field(
        default=None,
        max_length=40,
        description="The desk's message_id this answers (e.g. a request for more information)",
    )
    attachments: Entries(Attachment, 0, 20) = Field(default_factory=list)


class MessageReceipt(Model):
    """`POST /api/v1/inbound/{channel}/{external_id}/receipts`."""

    message_id: str = Field(max_length=40, description="The desk's message_id")
    state: Literal["delivered", "read"]
    at: Timestamp


class Feedback(Model):
    """`POST /api/v1/inbound/{channel}/{external_id}/feedback`."""

    feedback_id: ExternalId
    score: WholeNumber = Field(ge=0, le=10, description="Would you recommend: 0–10")
    satisfied: bool | None = None
    comment: Text(1000, 0) | None = None
    at: Timestamp
