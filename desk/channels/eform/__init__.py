"""Electronic forms: income support, disability services, social care need, health, other."""

from __future__ import annotations

from datetime import datetime

from ...inbound.deadlines import Deadline, same_working_day, working_days_after
from ..base import N_, Adapter, shorten
from .models import TYPES, EFormDelivery

__all__ = ["ADAPTER", "TYPES", "EFormDelivery"]
SOCIAL = ("income-support", "disability-services", "social-care-need")


class EForm(Adapter):
    name = "eform"
    label = N_("E-form")
    model = EFormDelivery
    municipality_always_required = True
    template = "content.html"

    def title(self, payload: dict) -> str:
        return shorten(payload["form"]["title"], 300)

    def content(self, payload: dict) -> dict:
        return {"form": payload["form"], "urgent": bool(payload.get("urgent"))}

    def topics(self, content: dict) -> set[str]:
        form_type = content.get("form", {}).get("type")
        return {form_type} if form_type else set()

    def form_type(self, payload: dict) -> str | None:
        return payload["form"]["type"]

    def deadline(self, payload: dict, submitted_at: datetime) -> Deadline:
        form_type = self.form_type(payload)
        if form_type == "income-support" and payload.get("urgent"):
            return Deadline(working_days_after(submitted_at, 1))
        if form_type in SOCIAL:
            return Deadline(working_days_after(submitted_at, 7))
        return Deadline(same_working_day(submitted_at))


ADAPTER = EForm()
