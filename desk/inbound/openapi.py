"""The OpenAPI 3.1 description of the inbound API, generated from the channels' models.

The delivery schemas are the pydantic models the API validates with (JSON Schema 2020-12), so
the document and the desk cannot disagree; what a schema cannot say is in its description.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from ..channels import Registry
from ..channels.base import MAX_DEPTH, ExternalId
from .answers import Feedback, MessageReceipt, ResidentMessage

REF = "#/components/schemas/{model}"


class _Schema(GenerateJsonSchema):
    """Pydantic's JSON Schema without the titles it makes up from field names."""

    def field_title_should_be_set(self, schema) -> bool:
        return False


def _external_id() -> dict[str, Any]:
    return TypeAdapter(ExternalId).json_schema()


#: what comes back in about a delivery (the outbound contract): path suffix → model
ANSWERS = {"messages": ResidentMessage, "receipts": MessageReceipt, "feedback": Feedback}


def delivery_schemas(
    channels: Registry,
) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    """The schema name of each channel's delivery, of each answer coming back in (by its path
    suffix), and every schema they use."""
    models = [channels.model(name) for name in channels.names()]
    names, document = models_json_schema(
        [(model, "validation") for model in [*models, *ANSWERS.values()]],
        ref_template=REF,
        schema_generator=_Schema,
    )

    def name(model) -> str:
        return names[(model, "validation")]["$ref"].rsplit("/", 1)[1]

    by_channel = {n: name(m) for n, m in zip(channels.names(), models, strict=True)}
    by_answer = {f"/{suffix}": name(model) for suffix, model in ANSWERS.items()}
    return by_channel, by_answer, document.get("$defs", {})


RESPONSES: dict[str, Any] = {
    "Receipt": {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["accepted", "duplicate", "updated"]},
            "delivery_id": {"type": "string"},
            "item_url": {"type": ["string", "null"]},
        },
        "required": ["status", "delivery_id", "item_url"],
    },
    "State": {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["pending", "routed", "rejected"]},
            "item_id": {"type": ["string", "null"]},
            "queue": {"type": ["string", "null"]},
            "item_status": {"enum": ["new", "in_progress", "waiting", "resolved", None]},
            "due_at": {"type": ["string", "null"], "format": "date-time"},
            "reason": {"type": ["string", "null"]},
            "position": {
                "type": ["integer", "null"],
                "minimum": 1,
                "description": "The item's place in its queue's work order (1 = next) while "
                "nobody has taken it; null otherwise",
            },
            "estimated_wait_seconds": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "An estimate from the queue's pace over the last two hours "
                "while nobody has taken the item; null when taken or too little history",
            },
        },
        "required": [
            "status",
            "item_id",
            "queue",
            "item_status",
            "due_at",
            "reason",
            "position",
            "estimated_wait_seconds",
        ],
    },
    "Answered": {
        "type": "object",
        "properties": {"status": {"type": "string", "enum": ["accepted", "duplicate"]}},
        "required": ["status"],
    },
    "Error": {
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "message": {"type": "string"},
            "delivery_id": {"type": "string"},
        },
        "required": ["error"],
    },
    "Invalid": {
        "type": "object",
        "properties": {
            "error": {"const": "invalid"},
            "problems": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    "required": ["field", "message"],
                },
            },
        },
        "required": ["error", "problems"],
    },
}


def _answer(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


ERRORS = {
    "400": _answer(
        "The body is not JSON or not a JSON object (error invalid_json), also when it has a "
        "key twice in one object, a number out of range (1e999, NaN, Infinity) or objects and "
        f"lists nested more than {MAX_DEPTH} levels deep; or the address has a control character",
        "Error",
    ),
    "401": _answer("No or unknown bearer token", "Error"),
    "403": _answer("The token may not deliver to this channel", "Error"),
    "413": _answer(
        "The body is larger than 256 KiB, with or without Content-Length (chunked)", "Error"
    ),
    "429": _answer("Too many requests from this token or address; retry later", "Error"),
    "503": _answer("The database is unreachable; retry after the Retry-After seconds", "Error"),
}


def spec(server: str, channels: Registry) -> dict[str, Any]:
    """The OpenAPI document of the channels in use, with `server` as the base address."""
    schema_of, answer_of, schemas = delivery_schemas(channels)
    paths: dict[str, Any] = {}
    for channel, schema in schema_of.items():
        paths[f"/api/v1/inbound/{channel}"] = {
            "post": {
                "operationId": f"deliver_{channel.replace('-', '_')}",
                "summary": f"Deliver one {channel} item",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                    },
                },
                "responses": {
                    "202": _answer("Accepted and durably stored; the item will appear", "Receipt"),
                    "200": _answer("A repeat: duplicate, or (chat) updated", "Receipt"),
                    "409": _answer(
                        "A repeat with other content; nothing changed. Also a delivery whose "
                        "external_id another source system (tokens of another name) has "
                        "delivered on this channel: nothing changed, and nothing of the other "
                        "delivery is told (no delivery_id)",
                        "Error",
                    ),
                    "422": _answer("The body breaks the contract; every problem listed", "Invalid"),
                    **ERRORS,
                },
            }
        }
    paths["/api/v1/inbound/{channel}/{external_id}"] = {
        "get": {
            "operationId": "delivery_state",
            "summary": "The processing state of a delivery",
            "parameters": [
                {
                    "name": "channel",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": channels.names()},
                },
                {
                    "name": "external_id",
                    "in": "path",
                    "required": True,
                    "schema": _external_id(),
                },
            ],
            "responses": {
                "200": _answer("The state", "State"),
                "404": _answer(
                    "No delivery with this external_id from this source system. A state "
                    "belongs to the source system that delivered it: any of its tokens (the "
                    "tokens with its name, a revoked predecessor's deliveries included) reads "
                    "it; another system's token gets 404",
                    "Error",
                ),
                "400": _answer("The address has a control character", "Error"),
                **{k: v for k, v in ERRORS.items() if k in ("401", "403", "429", "503")},
            },
        }
    }
    parameters = paths["/api/v1/inbound/{channel}/{external_id}"]["get"]["parameters"]
    for suffix, (operation, summary, conflict) in {
        "/messages": (
            "resident_message",
            "The resident's message outside a chat (outbound contract): added to the item's "
            "conversation, and the item goes back to whoever works on it",
            "The item's resident is not identified, or the delivery has no item (rejected, or "
            "not routed yet: retry)",
        ),
        "/receipts": (
            "message_receipt",
            "The desk's message was delivered to or read by the resident",
            "The delivery has no item (rejected, or not routed yet: retry)",
        ),
        "/feedback": (
            "resident_feedback",
            "The resident's answer to the region's satisfaction question after the matter "
            "ended: the score counts in the reports' NPS, the comment is read by team leads. "
            "A repeated feedback_id is a duplicate (the first answer is kept)",
            "The item is not resolved yet (ask after it ends), or the delivery has no item "
            "(rejected, or not routed yet)",
        ),
    }.items():
        paths[f"/api/v1/inbound/{{channel}}/{{external_id}}{suffix}"] = {
            "post": {
                "operationId": operation,
                "summary": summary,
                "parameters": parameters,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{answer_of[suffix]}"}
                        }
                    },
                },
                "responses": {
                    "202": _answer("Accepted", "Answered"),
                    "200": _answer("A repeat: nothing changed", "Answered"),
                    "404": _answer(
                        "No delivery with this external_id from this source system"
                        + (
                            " (or no message of the desk with this message_id on it)"
                            if suffix == "/receipts"
                            else ""
                        ),
                        "Error",
                    ),
                    "409": _answer(conflict, "Error"),
                    "422": _answer("The body breaks the contract; every problem listed", "Invalid"),
                    **ERRORS,
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "desk inbound API",
            "version": "1.0.0",
            "description": "How source systems hand work to the desk of the digital "
            "social and health centre of Itä-Uusimaa.",
        },
        "servers": [{"url": server}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": {**schemas, **RESPONSES},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
