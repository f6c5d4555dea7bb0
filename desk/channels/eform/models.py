"""An e-form delivery: the form's answers and its attachments' metadata."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, WithJsonSchema

from ..base import Delivery, Entries, Model, Text, WholeNumber, fail, rule

TYPES = (
    "income-support",
    "disability-services",
    "social-care-need",
    "health-questionnaire",
    "other",
)
ANSWER_RULE = "must be a string, number, boolean or list of strings"


def _answer(value: Any) -> Any:
    if isinstance(value, bool | str | int | float):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise fail(ANSWER_RULE)


Answer = Annotated[
    Any,
    PlainValidator(_answer),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "number"},
                {"type": "boolean"},
                {"type": "array", "items": {"type": "string"}},
            ]
        }
    ),
]
Question = Annotated[
    str,
    Field(json_schema_extra={"minLength": 1, "maxLength": 1000}),
    rule(lambda q: None if 1 <= len(q) <= 1000 else "questions must have 1–1000 characters"),
]


class Attachment(Model):
    """An attachment's metadata; the file itself stays in the e-form service."""

    name: Text(255)
    content_type: Text(255)
    size: WholeNumber = Field(ge=0, le=2**53 - 1, description="bytes")


class Form(Model):
    type: Literal[TYPES]
    title: Text(300)
    fields: dict[Question, Answer] | None = None
    attachments: Entries(Attachment, 0, 20) | None = None


class EFormDelivery(Delivery):
    """An electronic form the resident filled in (income support, disability services, …)."""

    form: Form
    urgent: bool | None = Field(False, description="The resident states the matter is urgent")
