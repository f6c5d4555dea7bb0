"""Another channel, as the region would add one (a trial of phone requests; the real callback
channel is desk/channels/callback). Used by a test to show that a channel is one module plus
configuration and data: its model, its adapter, and nothing else (without a template of its own
its content shows field by field)."""

from __future__ import annotations

from datetime import datetime

from desk.channels.base import N_, Adapter, Delivery, Model, Text, shorten
from desk.inbound.deadlines import Deadline, same_working_day


class Callback(Model):
    topic: Text(200)


class TeleQDelivery(Delivery):
    """A resident asked the phone service to call back."""

    callback: Callback


class TeleQ(Adapter):
    name = "teleq"
    label = N_("Phone callback")
    model = TeleQDelivery

    def title(self, payload: dict) -> str:
        return shorten(payload["callback"]["topic"], 300)

    def content(self, payload: dict) -> dict:
        return {"callback": payload["callback"]}

    def deadline(self, payload: dict, submitted_at: datetime) -> Deadline:
        return Deadline(same_working_day(submitted_at))


ADAPTER = TeleQ()
