"""Electronic forms: income support, disability services, social care need, health, other."""

from __future__ import annotations

from datetime import datetime

from ...inbound.deadlines import Deadline, same_working_day, working_days_after
from ..base import N_, Adapter, shorten
from .models import TYPES, EFormDelivery

__all__ = ["ADAPTER", "TYPES", "EFormDelivery"]
SOCIAL = ("income-support", "disability-services", "social-care-need")
#: working days to answer a request for more information: income support is the resident's
#: living (a week); disability services and care needs often need statements from others
REPLY_BY_DAYS = {"income-support": 5, "disability-services": 15, "social-care-need": 10}


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

    def retained(self, content: dict) -> dict:
        form = content.get("form", {})
        kept = {k: form[k] for k in ("type", "title") if k in form}
        return {"form": kept, "urgent": bool(content.get("urgent"))}

    def topics(self, content: dict) -> set[str]:
        form_type = content.get("form", {}).get("type")
        return {form_type} if form_type else set()

    def form_type(self, payload: dict) -> str | None:
        return payload["form"]["type"]

    def restart_after_information(self, content: dict) -> int | None:
        # Social welfare applications: decided within 7 working days of the day the last
        # necessary information arrives (the Social Assistance Act, 14 §).
        return 7 if content.get("form", {}).get("type") in SOCIAL else None

    def reply_by_days(self, content: dict) -> int:
        return REPLY_BY_DAYS.get(content.get("form", {}).get("type"), 7)

    def deadline(self, payload: dict, submitted_at: datetime) -> Deadline:
        form_type = self.form_type(payload)
        if form_type == "income-support" and payload.get("urgent"):
            return Deadline(working_days_after(submitted_at, 1))
        if form_type in SOCIAL:
            return Deadline(working_days_after(submitted_at, 7))
        return Deadline(same_working_day(submitted_at))


ADAPTER = EForm()
