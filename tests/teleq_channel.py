"""A fifth channel, as the region would add it: TeleQ callback requests. Used by a test to
show that a channel is one module plus configuration and data."""

from __future__ import annotations

from datetime import datetime

from desk.channels.base import Adapter, Checker, shorten
from desk.inbound.deadlines import Deadline, same_working_day


class TeleQ(Adapter):
    name = "teleq"

    def check(self, checker: Checker, payload: dict) -> None:
        callback = checker.obj(payload, "callback", "callback")
        if callback is not None:
            checker.string(callback, "topic", "callback.topic", max_len=200)

    def title(self, payload: dict) -> str:
        return shorten(payload["callback"]["topic"], 300)

    def content(self, payload: dict) -> dict:
        return {
            "request": {
                "topic": payload["callback"]["topic"],
                "message": "",
                "contact_preference": "phone",
            }
        }

    def deadline(self, payload: dict, submitted_at: datetime) -> Deadline:
        return Deadline(same_working_day(submitted_at))


ADAPTER = TeleQ()
