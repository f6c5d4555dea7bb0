"""The OpenAPI 3.1 description of the inbound API, kept beside the code that answers it."""

from __future__ import annotations

from typing import Any

from ..channels.base import EARLIEST, LANGUAGES, MAX_DEPTH, MUNICIPALITIES
from ..channels.chat import SENDERS
from ..channels.eform import TYPES as FORM_TYPES
from ..channels.omaolo import URGENCIES

TEXT = {"type": "string", "minLength": 1, "maxLength": 4000}
WHEN = (
    f"ISO 8601 with a UTC offset; not before {EARLIEST.isoformat()} (the first day of the "
    "wellbeing services county: no routing rule is older) and not more than 5 minutes in the "
    "future"
)
TIMESTAMP = {"type": "string", "format": "date-time", "description": WHEN}
EXTERNAL_ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": 128,
    "description": "The source system's own id of the delivery, unique per channel: 1–128 "
    "printable characters (letters, digits, punctuation, symbols and the space; no control, "
    "format or other white-space characters) that do not begin or end with a space, e.g. "
    "EF-2026/000123",
}


def _common(required_municipality: bool) -> tuple[dict[str, Any], list[str]]:
    municipality = {"type": "string", "enum": list(MUNICIPALITIES)}
    properties = {
        "external_id": EXTERNAL_ID,
        "submitted_at": TIMESTAMP,
        "municipality": municipality
        if required_municipality
        else {
            "anyOf": [municipality, {"type": "null"}],
            "description": "required when the resident is strongly identified",
        },
        "language": {"type": "string", "enum": list(LANGUAGES), "default": "fi"},
        "resident": {"$ref": "#/components/schemas/Resident"},
    }
    required = ["external_id", "submitted_at"] + (["municipality"] if required_municipality else [])
    return properties, required


def _delivery(
    extra: dict[str, Any], extra_required: list[str], *, municipality: bool
) -> dict[str, Any]:
    properties, required = _common(municipality)
    return {
        "type": "object",
        "properties": {**properties, **extra},
        "required": required + extra_required,
    }


SCHEMAS: dict[str, Any] = {
    "Resident": {
        "type": "object",
        "description": "Absent or identification 'none' means anonymous.",
        "properties": {
            "identification": {"type": "string", "enum": ["none", "strong"]},
            "personal_id": {
                "type": "string",
                "description": "Finnish personal identity code; required when strong, forbidden "
                "otherwise; check character, century sign and date are checked",
                "pattern": "^[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-Y]$",
            },
            "name": {"type": "string", "maxLength": 200},
            "phone": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$"},
            "email": {"type": "string", "maxLength": 254},
        },
        "required": ["identification"],
    },
    "ChatDelivery": _delivery(
        {
            "topic": {"type": "string", "maxLength": 200},
            "bot_summary": TEXT,
            "conversation": {
                "type": "array",
                "minItems": 1,
                "maxItems": 500,
                "items": {
                    "type": "object",
                    "properties": {
                        "sender": {"type": "string", "enum": list(SENDERS)},
                        "sent_at": TIMESTAMP,
                        "text": TEXT,
                    },
                    "required": ["sender", "sent_at", "text"],
                },
            },
        },
        ["conversation"],
        municipality=False,
    ),
    "OmaoloDelivery": _delivery(
        {
            "assessment": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["symptom", "service"]},
                    "code": {"type": "string", "minLength": 1, "maxLength": 128},
                    "title": {"type": "string", "minLength": 1, "maxLength": 300},
                    "urgency": {
                        "type": "string",
                        "enum": list(URGENCIES),
                        "description": "required for symptom, absent for service",
                    },
                    "recommendation": TEXT,
                    "answers": {
                        "type": "array",
                        "maxItems": 300,
                        "items": {
                            "type": "object",
                            "properties": {
                                "question": TEXT,
                                "answer": {"type": "string", "maxLength": 4000},
                            },
                            "required": ["question", "answer"],
                        },
                    },
                    "contact_request": {"type": "boolean"},
                },
                "required": ["kind", "code", "title", "recommendation"],
            },
        },
        ["assessment"],
        municipality=True,
    ),
    "EFormDelivery": _delivery(
        {
            "form": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": list(FORM_TYPES)},
                    "title": {"type": "string", "minLength": 1, "maxLength": 300},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {
                            "anyOf": [
                                {"type": "string"},
                                {"type": "number"},
                                {"type": "boolean"},
                                {"type": "array", "items": {"type": "string"}},
                            ]
                        },
                    },
                    "attachments": {
                        "type": "array",
                        "maxItems": 20,
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string", "minLength": 1, "maxLength": 255},
                                "content_type": {
                                    "type": "string",
                                    "minLength": 1,
                                    "maxLength": 255,
                                },
                                "size": {"type": "integer", "minimum": 0},
                            },
                            "required": ["name", "content_type", "size"],
                        },
                    },
                },
                "required": ["type", "title"],
            },
            "urgent": {"type": "boolean", "default": False},
        },
        ["form"],
        municipality=True,
    ),
    "HelpRequestDelivery": _delivery(
        {
            "request": {
                "type": "object",
                "properties": {
                    "topic": {"type": "string", "minLength": 1, "maxLength": 200},
                    "message": TEXT,
                    "contact_preference": {"type": "string", "enum": ["phone", "email", "message"]},
                },
                "required": ["topic", "message"],
            },
        },
        ["request"],
        municipality=False,
    ),
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
        },
        "required": ["status", "item_id", "queue", "item_status", "due_at", "reason"],
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

CHANNEL_SCHEMAS = {
    "chat": "ChatDelivery",
    "omaolo": "OmaoloDelivery",
    "eform": "EFormDelivery",
    "help-request": "HelpRequestDelivery",
}


def spec(server: str) -> dict[str, Any]:
    """The OpenAPI document, with `server` as the base address."""
    paths: dict[str, Any] = {}
    for channel, schema in CHANNEL_SCHEMAS.items():
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
                    "schema": {"type": "string", "enum": list(CHANNEL_SCHEMAS)},
                },
                {
                    "name": "external_id",
                    "in": "path",
                    "required": True,
                    "schema": EXTERNAL_ID,
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
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
