""" "Pyydä apua" (ask for help) requests, anonymous or identified."""

from __future__ import annotations

from datetime import datetime

from ...inbound.deadlines import Deadline, same_working_day
from ..base import N_, Adapter, shorten
from .models import HelpRequestDelivery

__all__ = ["ADAPTER", "HelpRequestDelivery"]


class HelpRequest(Adapter):
    name = "help-request"
    label = N_("Ask for help")
    model = HelpRequestDelivery
    template = "content.html"

    def title(self, payload: dict) -> str:
        return shorten(payload["request"]["topic"], 300)

    def content(self, payload: dict) -> dict:
        return {"request": payload["request"]}

    def retained_title(self, title: str, content: dict) -> str:
        # The topic is the resident's own short words (the contract), not a menu choice.
        return "–"

    def topics(self, content: dict) -> set[str]:
        topic = content.get("request", {}).get("topic")
        return {topic} if topic else set()

    def deadline(self, payload: dict, submitted_at: datetime) -> Deadline:
        return Deadline(same_working_day(submitted_at))


ADAPTER = HelpRequest()
