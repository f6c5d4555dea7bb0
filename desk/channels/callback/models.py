"""A phone callback request (TeleQ *takaisinsoitto*): the caller chose a topic in the phone menu
and asked to be called back instead of waiting on the line."""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from pydantic import Field, model_validator

from ...inbound.deadlines import HELSINKI, is_working_day
from ..base import Anonymous, Delivery, Model, Moment, Phone, Whole, fail

TOPICS = ("health", "social", "oral-health", "medication", "other")
#: office hours, within which a requested window lies (inbound.md, "Deadlines")
OPENS, CLOSES = time(8), time(16)
WINDOW_RULE = "must lie within the office hours (8–16) of one working day"
AFTER_FROM = "must be after from"
AFTER_CALL = "must be after submitted_at"


class Window(Model):
    """When the caller asked to be called: both ends within one working day's office hours."""

    from_: Moment = Field(alias="from")
    to: Moment

    @model_validator(mode="after")
    def _office_hours_of_one_day(self) -> Window:
        start, end = self.from_.astimezone(HELSINKI), self.to.astimezone(HELSINKI)
        if start >= end:
            raise fail(AFTER_FROM, "to")
        day = start.date()
        if not (
            end.date() == day
            and is_working_day(day)
            and start.time() >= OPENS
            and end.time() <= CLOSES
        ):
            raise fail(WINDOW_RULE)
        return self


class Callback(Model):
    phone: Phone = Field(description="The number to call, in international form (+358…)")
    topic: Literal[TOPICS] = Field(description="The phone menu's choice")
    queue_position: Whole(1, 100_000) | None = Field(
        None, description="The caller's place in the phone queue"
    )
    window: Window | None = Field(
        None,
        description="When the caller asked to be called, or null. Both ends "
        f"{WINDOW_RULE} ('{WINDOW_RULE}'); 'to' {AFTER_FROM} ('{AFTER_FROM}') and "
        f"{AFTER_CALL} ('{AFTER_CALL}'). The item is due at its end.",
    )
    recording_seconds: Whole(0, 86_400) | None = Field(
        None, description="The length of the caller's recorded message, in seconds"
    )


class CallbackDelivery(Delivery):
    """A callback request from the phone service; the caller is not identified by the call
    (the professional may identify them on the phone)."""

    resident: Anonymous | None = None
    callback: Callback

    @model_validator(mode="after")
    def _window_after_the_call(self) -> CallbackDelivery:
        window = self.callback.window
        if window is not None and window.to <= self.submitted_at:
            raise fail(AFTER_CALL, "callback", "window", "to")
        return self


def window_end(payload: dict) -> datetime | None:
    """The end of the requested window, if the caller gave one."""
    window = payload["callback"].get("window")
    return datetime.fromisoformat(window["to"].upper()) if window else None
