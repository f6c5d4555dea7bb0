""" "Pyydä apua" (ask for help) requests, anonymous or identified."""

from __future__ import annotations

from datetime import datetime

from ..inbound.deadlines import Deadline, same_working_day
from .base import Adapter, Checker, shorten


class HelpRequest(Adapter):
    name = "help-request"

    def check(self, checker: Checker, payload: dict) -> None:
        request = checker.obj(payload, "request", "request")
        if request is None:
            return
        checker.string(request, "topic", "request.topic", max_len=200)
        checker.string(request, "message", "request.message")
        checker.string(
            request,
            "contact_preference",
            "request.contact_preference",
            required=False,
            choices=("phone", "email", "message"),
        )

    def title(self, payload: dict) -> str:
        return shorten(payload["request"]["topic"], 300)

    def content(self, payload: dict) -> dict:
        return {"request": payload["request"]}

    def topics(self, content: dict) -> set[str]:
        topic = content.get("request", {}).get("topic")
        return {topic} if topic else set()

    def deadline(self, payload: dict, submitted_at: datetime) -> Deadline:
        return Deadline(same_working_day(submitted_at))


ADAPTER = HelpRequest()
