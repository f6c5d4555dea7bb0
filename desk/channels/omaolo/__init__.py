"""Omaolo symptom assessments (oirearviot) and service assessments (palveluarviot)."""

from __future__ import annotations

from datetime import datetime

from ...inbound.deadlines import Deadline, elapsed, same_working_day
from ..base import N_, Adapter, shorten
from .models import URGENCIES, OmaoloDelivery

__all__ = ["ADAPTER", "URGENCIES", "OmaoloDelivery"]
# Omaolo's most urgent classes are due in real elapsed time, any day and hour.
URGENT = {"P0": {"minutes": 15}, "P1": {"hours": 2}, "P2": {"hours": 10}}


class Omaolo(Adapter):
    name = "omaolo"
    label = N_("Omaolo")
    model = OmaoloDelivery
    municipality_always_required = True
    template = "content.html"

    def title(self, payload: dict) -> str:
        return shorten(payload["assessment"]["title"], 300)

    def content(self, payload: dict) -> dict:
        return {"assessment": payload["assessment"]}

    def retained(self, content: dict) -> dict:
        assessment = content.get("assessment", {})
        kept = ("kind", "code", "title", "urgency")
        return {"assessment": {k: assessment[k] for k in kept if k in assessment}}

    def topics(self, content: dict) -> set[str]:
        assessment = content.get("assessment", {})
        return {v for v in (assessment.get("code"), assessment.get("urgency")) if v}

    def urgency(self, payload: dict) -> str | None:
        return payload["assessment"].get("urgency")

    def deadline(self, payload: dict, submitted_at: datetime) -> Deadline:
        urgency = self.urgency(payload)
        if payload["assessment"]["kind"] == "symptom" and urgency in URGENT:
            return Deadline(elapsed(submitted_at, **URGENT[urgency]), emergency=urgency == "P0")
        return Deadline(same_working_day(submitted_at))


ADAPTER = Omaolo()
