"""Phone callback requests (TeleQ *takaisinsoitto*): the number to call, the menu topic, the
caller's place in the phone queue and, if they asked for one, the window to call in."""

from __future__ import annotations

from datetime import datetime

from ...inbound.deadlines import Deadline, same_working_day
from ..base import N_, Adapter
from .models import TOPICS, CallbackDelivery, window_end

__all__ = ["ADAPTER", "TOPICS", "CallbackDelivery"]

#: the phone menu's topics, for people
TOPIC_LABELS = {
    "health": N_("Health"),
    "social": N_("Social services"),
    "oral-health": N_("Oral health"),
    "medication": N_("Medication"),
    "other": N_("Other matter"),
}


class Callback(Adapter):
    name = "callback"
    label = N_("Phone callback")
    model = CallbackDelivery
    template = "content.html"
    #: the menu topics' names, for the item page
    topic_labels = TOPIC_LABELS
    #: a phone contact: TeleQ's statistics count it among the calls
    digital = False

    def title(self, payload: dict) -> str:
        # The number is what the professional dials and what a caller gives when they call
        # again; the topic is beside it in every list (the content).
        return payload["callback"]["phone"]

    def content(self, payload: dict) -> dict:
        return {"callback": payload["callback"]}

    def retained(self, content: dict) -> dict:
        topic = content.get("callback", {}).get("topic")
        return {"callback": {"topic": topic}} if topic else {}

    def retained_title(self, title: str, content: dict) -> str:
        return "–"  # the title is the caller's number; the topic stays in the content

    def form_type(self, payload: dict) -> str | None:
        # The menu topic routes: "social" to the system area's social services when the
        # municipality is known (reference data, routing rules).
        return payload["callback"]["topic"]

    def stored_form_type(self, content: dict) -> str | None:
        return content.get("callback", {}).get("topic")

    def phone(self, payload: dict) -> str | None:
        return payload["callback"]["phone"]

    def topics(self, content: dict) -> set[str]:
        topic = content.get("callback", {}).get("topic")
        return {f"callback-{topic}"} if topic else set()

    def deadline(self, payload: dict, submitted_at: datetime) -> Deadline:
        end = window_end(payload)
        return Deadline(end if end is not None else same_working_day(submitted_at))


ADAPTER = Callback()
