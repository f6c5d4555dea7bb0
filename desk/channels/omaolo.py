"""Omaolo symptom assessments (oirearviot) and service assessments (palveluarviot)."""

from __future__ import annotations

from datetime import datetime

from ..inbound.deadlines import Deadline, elapsed, same_working_day
from .base import Adapter, Checker, shorten

URGENCIES = tuple(f"P{n}" for n in range(9))
# Omaolo's most urgent classes are due in real elapsed time, any day and hour.
URGENT = {"P0": {"minutes": 15}, "P1": {"hours": 2}, "P2": {"hours": 10}}


class Omaolo(Adapter):
    name = "omaolo"
    municipality_always_required = True

    def check(self, checker: Checker, payload: dict) -> None:
        a = checker.obj(payload, "assessment", "assessment")
        if a is None:
            return
        kind = checker.string(a, "kind", "assessment.kind", choices=("symptom", "service"))
        checker.string(a, "code", "assessment.code", max_len=128)
        checker.string(a, "title", "assessment.title", max_len=300)
        if kind == "symptom":
            checker.string(a, "urgency", "assessment.urgency", choices=URGENCIES)
        elif kind == "service" and a.get("urgency") is not None:
            checker.problem("assessment.urgency", "must be absent for a service assessment")
        checker.string(a, "recommendation", "assessment.recommendation")
        answers = checker.array(a, "answers", "assessment.answers", required=False, max_items=300)
        for n, answer in enumerate(answers or []):
            path = f"assessment.answers[{n}]"
            if not isinstance(answer, dict):
                checker.problem(path, "must be an object")
                continue
            checker.string(answer, "question", f"{path}.question")
            checker.string(answer, "answer", f"{path}.answer", min_len=0)
        checker.boolean(a, "contact_request", "assessment.contact_request")

    def title(self, payload: dict) -> str:
        return shorten(payload["assessment"]["title"], 300)

    def content(self, payload: dict) -> dict:
        return {"assessment": payload["assessment"]}

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
