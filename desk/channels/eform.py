"""Electronic forms: income support, disability services, social care need, health, other."""

from __future__ import annotations

from datetime import datetime

from ..inbound.deadlines import Deadline, same_working_day, working_days_after
from .base import Adapter, Checker, shorten

TYPES = (
    "income-support",
    "disability-services",
    "social-care-need",
    "health-questionnaire",
    "other",
)
SOCIAL = ("income-support", "disability-services", "social-care-need")


def _is_answer(value) -> bool:
    if isinstance(value, bool | str):
        return True
    if isinstance(value, int | float):
        return value == value and value not in (float("inf"), float("-inf"))
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


class EForm(Adapter):
    name = "eform"
    municipality_always_required = True

    def check(self, checker: Checker, payload: dict) -> None:
        checker.boolean(payload, "urgent", "urgent")
        form = checker.obj(payload, "form", "form")
        if form is None:
            return
        checker.string(form, "type", "form.type", choices=TYPES)
        checker.string(form, "title", "form.title", max_len=300)
        fields = checker.obj(form, "fields", "form.fields", required=False)
        for question, answer in (fields or {}).items():
            if not question or len(question) > 1000:
                checker.problem("form.fields", "questions must have 1–1000 characters")
            if not _is_answer(answer):
                checker.problem(
                    f"form.fields.{question}",
                    "must be a string, number, boolean or list of strings",
                )
        attachments = checker.array(
            form, "attachments", "form.attachments", required=False, max_items=20
        )
        for n, attachment in enumerate(attachments or []):
            path = f"form.attachments[{n}]"
            if not isinstance(attachment, dict):
                checker.problem(path, "must be an object")
                continue
            checker.string(attachment, "name", f"{path}.name", max_len=255)
            checker.string(attachment, "content_type", f"{path}.content_type", max_len=255)
            size = attachment.get("size")
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                checker.problem(f"{path}.size", "must be a whole number of bytes")

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
