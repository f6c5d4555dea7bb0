"""What every channel shares: the adapter interface, the common fields of a delivery as pydantic
models, the JSON the desk reads, and the problems of a delivery in the API's words.

A channel declares its delivery once, as a pydantic model (`Delivery` plus its own fields). The
inbound API validates with it, `/api/v1/openapi.json` is generated from it, and the adapter says
what a valid delivery becomes (title, content, deadline, routing facts, weight).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..inbound.deadlines import HELSINKI, Deadline
from ..models import utcnow
from ..pid import problem as pid_problem

FUTURE_TOLERANCE = timedelta(minutes=5)
#: The first moment a delivery may be from: the wellbeing services county began on 2023-01-01,
#: and the routing rules and system areas of the reference data begin with it. Nothing older
#: can be routed, so it is refused before a 202 promises an item (and no date arithmetic ever
#: meets year 1 or 9999).
EARLIEST = datetime(2023, 1, 1, tzinfo=HELSINKI)
#: Deeper than any delivery of the contract needs (four levels) with room for source systems'
#: own fields; a body nested deeper is refused before anything walks it.
MAX_DEPTH = 32
TEXT_LIMIT = 4000
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"
# (White space spelled out: \s is not the same set in Python, ECMA-262 and test generators.)
EMAIL_PATTERN = r"^[^@ \t\n\r\f\v]+@[^@ \t\n\r\f\v]+\.[^@ \t\n\r\f\v]+$"
PID_PATTERN = r"^[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-Y]$"
UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")

# The rules a JSON Schema cannot state, each with the words the desk answers when it is broken.
EXTERNAL_ID_RULE = (
    "must be printable characters (the space the only white space), "
    "not beginning or ending with a space"
)
FUTURE_RULE = "is more than 5 minutes in the future"
EARLY_RULE = f"is before {EARLIEST.isoformat()}"
UNSTORABLE_RULE = "contains a NUL character or an unpaired surrogate"
UNSTORABLE_NAME_RULE = "has a field name that cannot be stored"
WHEN = (
    f"ISO 8601 with a UTC offset; not before {EARLIEST.isoformat()} (the first day of the "
    "wellbeing services county: no routing rule is older) and not more than 5 minutes in the "
    f"future, else answered with '{EARLY_RULE}' or '{FUTURE_RULE}'"
)
SEMANTIC_RULES = (
    "Rules beyond this schema, each answered 422 with its own message: a timestamp "
    f"{EARLY_RULE} or {FUTURE_RULE}; an external_id that {EXTERNAL_ID_RULE}; a personal_id "
    "that is not one ('not a personal identity code (DDMMYYCZZZQ)') or whose century sign, "
    "date, individual number or check character is wrong ('unknown "
    "century sign', 'not a real calendar date', 'individual number out of range', 'checksum "
    f"does not match'); any text that {UNSTORABLE_RULE}, and an object that "
    f"{UNSTORABLE_NAME_RULE} (NUL, an unpaired surrogate: no database stores them)."
)


class InvalidJson(ValueError):
    """A text that is not JSON the desk accepts; the message says why, as what follows "the
    body" ("is not valid JSON", "has the key 'x' twice in one object")."""


def _no_constants(name: str):
    raise InvalidJson(f"has {name}, which is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJson(f"has a number beyond the range of numbers ({text[:40]})")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise InvalidJson(f"has the key {key[:64]!r} twice in one object")
        found[key] = value
    return found


def _deeper_than(value: Any, limit: int) -> bool:
    # A loop, not recursion: the point is to refuse what recursion would choke on.
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            if level > limit:
                return True
            stack.extend((child, level + 1) for child in node)
    return False


def parse_json(text: str | bytes) -> Any:
    """A JSON text as the desk reads it, or InvalidJson: no key twice in one object (which
    value would the sender mean?), only finite numbers (no NaN, Infinity or 1e999, which no
    database JSON holds), and at most MAX_DEPTH levels of objects and lists."""
    try:
        value = json.loads(
            text,
            parse_constant=_no_constants,
            parse_float=_finite,
            object_pairs_hook=_unique_keys,
        )
    except InvalidJson:
        raise
    except RecursionError:
        raise InvalidJson(f"is nested more than {MAX_DEPTH} levels deep") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidJson("is not valid JSON") from None
    if _deeper_than(value, MAX_DEPTH):
        raise InvalidJson(f"is nested more than {MAX_DEPTH} levels deep")
    return value


# -- Field types ------------------------------------------------------------------------------


def fail(message: str, *at: str | int) -> PydanticCustomError:
    """The error a validator raises: the desk's own words, for the value or, with `at`, for a
    part of it (a list's third entry's field: `fail("…", 2, "sent_at")`)."""
    # Braces in the words are not placeholders.
    text = message.replace("{", "{{").replace("}", "}}")
    return PydanticCustomError("desk", text, {"at": list(at)} if at else None)


def rule(check: Callable[[Any], str | None]) -> AfterValidator:
    """A validator from a function that returns what is wrong with a value, or None."""

    def validate(value: Any) -> Any:
        if (message := check(value)) is not None:
            raise fail(message)
        return value

    return AfterValidator(validate)


def Text(max_length: int = TEXT_LIMIT, min_length: int = 1):  # noqa: N802 (a type)
    return Annotated[str, Field(min_length=min_length, max_length=max_length)]


def Entries(item: Any, lo: int, hi: int):  # noqa: N802 (a type)
    """A list of lo–hi items; broken bounds are worded with both ("must have 1–500 entries")."""
    return Annotated[
        list[item],
        Field(json_schema_extra={"minItems": lo, "maxItems": hi}),
        rule(lambda v: None if lo <= len(v) <= hi else f"must have {lo}–{hi} entries"),
    ]


def absent(message: str):
    """A field that must not be there (null counts as not there)."""

    def forbid(value: Any) -> None:
        if value is not None:
            raise fail(message)

    return Annotated[None, BeforeValidator(forbid)]


#: the moment a delivery arrived, while it is validated ("not in the future" is from it)
ARRIVED: ContextVar[datetime | None] = ContextVar("arrived", default=None)


def _moment(value: Any) -> datetime:
    # One Python call per timestamp: a delivery has dozens (a chat's every message).
    if not isinstance(value, str):
        raise fail("must be a string")
    if len(value) > 64:
        raise fail("must have at most 64 characters")
    try:
        # RFC 3339 also writes the separator and the zone in lower case.
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        raise fail("must be an ISO 8601 timestamp") from None
    if moment.utcoffset() is None:
        raise fail("must have a UTC offset")
    return moment


def _timestamp(value: Any) -> datetime:
    moment = _moment(value)
    if moment < EARLIEST:
        raise fail(EARLY_RULE)
    if moment > (ARRIVED.get() or utcnow()) + FUTURE_TOLERANCE:
        raise fail(FUTURE_RULE)
    return moment


Timestamp = Annotated[
    AwareDatetime,
    PlainValidator(_timestamp, json_schema_input_type=AwareDatetime),
    Field(description=WHEN),
]
#: a time that may lie ahead (a window the resident asked for), with its UTC offset
Moment = Annotated[
    AwareDatetime,
    PlainValidator(_moment, json_schema_input_type=AwareDatetime),
    Field(description="ISO 8601 with a UTC offset"),
]


def _external_id_problem(value: str) -> str | None:
    # It names the delivery in the state's address and in people's searches and logs: no
    # invisible characters, and nothing that trimming would make another id. (A NUL or a lone
    # surrogate has its own problem.)
    if UNSTORABLE.search(value) or (value.isprintable() and value == value.strip()):
        return None
    return EXTERNAL_ID_RULE


ExternalId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        description="The source system's own id of the delivery, unique per channel: 1–128 "
        "printable characters (letters, digits, punctuation, symbols and the space; no "
        "control, format or other white-space characters) that do not begin or end with a "
        "space, e.g. EF-2026/000123",
    ),
    rule(_external_id_problem),
]
PersonalId = Annotated[
    str,
    Field(
        pattern=PID_PATTERN,
        description="Finnish personal identity code (henkilötunnus); its century sign, date, "
        "individual number (002–999) and check character are checked",
    ),
    rule(pid_problem),
]
Phone = Annotated[
    str, Field(max_length=20, pattern=PHONE_PATTERN, description="International form, +358…")
]
Email = Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]
#: what a pattern means, for the problem when a value does not match it
PATTERN_MESSAGES = {
    PHONE_PATTERN: "must be in international form, e.g. +358401234567",
    EMAIL_PATTERN: "is not an email address",
    PID_PATTERN: "not a personal identity code (DDMMYYCZZZQ)",
}


def _whole(value: Any) -> Any:
    # JSON Schema counts 2.0 as an integer; so does the desk.
    return int(value) if isinstance(value, float) and value.is_integer() else value


#: an integer as JSON Schema has it (any number without a fraction)
WholeNumber = Annotated[int, BeforeValidator(_whole)]


def Whole(ge: int, le: int):  # noqa: N802 (a type)
    """A whole number from `ge` to `le`, the bounds stated in the schema."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_whole)]


class Model(BaseModel):
    """A part of a delivery: JSON types exactly (no "1" for 1, no 1 for true), unknown fields
    ignored (source systems may send their own; the stored delivery keeps them)."""

    # Python's regular expressions, as the JSON Schema tools of source systems' tests use.
    model_config = ConfigDict(strict=True, extra="ignore", regex_engine="python-re")


class _Contact(Model):
    """What every resident may give: how to reach them."""

    name: Text(200) | None = None
    phone: Phone | None = None
    email: Email | None = None


class Anonymous(_Contact):
    """A resident who has not identified (or no resident at all)."""

    identification: Literal["none"]
    personal_id: absent("is forbidden when the resident is anonymous") = None


class Identified(_Contact):
    """A resident who identified strongly (bank credentials, mobile certificate)."""

    identification: Literal["strong"]
    personal_id: PersonalId


Resident = Annotated[
    Anonymous | Identified,
    Field(
        discriminator="identification",
        description="Absent, null or identification 'none' means anonymous; 'strong' needs the "
        "personal_id, and then the municipality is required too.",
    ),
]


_MISSING = object()


def _needed(value: Any) -> Any:
    if value is _MISSING:
        raise fail("is required")
    return value


#: the municipality's check of the cross-field rule (see Delivery)
NEEDED = BeforeValidator(_needed)


def _strong_needs_municipality(schema: dict[str, Any]) -> None:
    # The cross-field rule in the schema's own terms: a strong resident needs a municipality.
    strong = {"const": "strong"}
    schema["if"] = {
        "properties": {
            "resident": {
                "type": "object",
                "properties": {"identification": strong},
                "required": ["identification"],
            }
        },
        "required": ["resident"],
    }
    schema["then"] = {
        "properties": {"municipality": {"type": "string"}},
        "required": ["municipality"],
    }


class Delivery(Model):
    """The fields every channel's delivery has. A channel's model adds its own; the registry
    narrows `municipality` and `language` to the reference data and the configuration."""

    model_config = ConfigDict(json_schema_extra=_strong_needs_municipality)

    external_id: ExternalId
    submitted_at: Timestamp
    language: str | None = None
    resident: Resident | None = None
    municipality: Annotated[str | None, NEEDED] = None

    @model_validator(mode="before")
    @classmethod
    def _municipality_with_identification(cls, data: Any) -> Any:
        # Decided on the delivery as sent, so that the problem is listed with the resident's
        # own (a strong resident without a personal_id and without a municipality has two).
        resident = data.get("resident") if isinstance(data, dict) else None
        if (
            isinstance(resident, dict)
            and resident.get("identification") == "strong"
            and data.get("municipality") is None
        ):
            return {**data, "municipality": _MISSING}
        return data


# -- Problems ---------------------------------------------------------------------------------


def _choices(text: str) -> str:
    return ", ".join(re.findall(r"'([^']*)'", text))


def _message(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "desk":
        return error["msg"]
    if kind in ("missing", "union_tag_not_found") or (
        error.get("input", "") is None and kind.endswith("_type")
    ):
        # null counts as missing: a required field sent as null is not there
        return "is required"
    if kind in ("literal_error", "enum"):
        return f"must be one of: {_choices(ctx['expected'])}"
    if kind == "union_tag_invalid":
        return f"must be one of: {_choices(ctx['expected_tags'])}"
    if kind == "string_too_short":
        return f"must have at least {ctx['min_length']} character(s)"
    if kind == "string_too_long":
        return f"must have at most {ctx['max_length']} characters"
    if kind == "string_pattern_mismatch":
        return PATTERN_MESSAGES.get(ctx["pattern"], "has the wrong form")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be an object"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}"
    return {
        "string_type": "must be a string",
        "bool_type": "must be true or false",
        "int_type": "must be a whole number",
        "list_type": "must be a list",
        "none_required": "must be absent",
    }.get(kind, error["msg"])


def _path(loc: tuple, payload: Any) -> str:
    """The field's path as the delivery has it ("conversation[2].sent_at"), read along the
    delivery: where pydantic names the member of a discriminated union by its tag ("resident",
    "strong", "personal_id"), the tag is the value of a field there, not a field, and is left
    out."""
    path, node = "", payload
    for n, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        if (
            isinstance(node, dict)
            and n < len(loc) - 1
            and part not in node
            and part in node.values()
        ):
            continue
        path += f".{part}" if path else part
        node = node.get(part) if isinstance(node, dict) else None
    return path


def problems(
    model: type[BaseModel], payload: Any, *, now: datetime | None = None, text: bytes | None = None
) -> list[dict[str, str]]:
    """Every problem of `payload` against `model`, as the API's {field, message}: none when it
    keeps the contract. `now` is the moment it arrived (for "not in the future"; the clock's
    when None); `text`, the JSON it was read from, spares the look for unstorable characters
    when it has no escape that could be one."""
    if not isinstance(payload, dict):
        return [{"field": "", "message": "must be a JSON object"}]
    found = unstorable(payload) if text is None or SUSPECT_ESCAPE.search(text) else []
    arrived = ARRIVED.set(now or utcnow())
    try:
        model.model_validate(payload)
    except ValidationError as error:
        found += problems_of(error, payload)
    finally:
        ARRIVED.reset(arrived)
    return found


def problems_of(error: ValidationError, payload: Any) -> list[dict[str, str]]:
    """A pydantic ValidationError of `payload` as the API's {field, message} problems, one
    per problem."""
    found = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        if loc and loc[-1] == "[key]":
            # A field name of a free-form object: the problem is the object's.
            loc = loc[:-2]
        ctx = detail.get("ctx") or {}
        if detail["type"] in ("union_tag_not_found", "union_tag_invalid"):
            path = f"{_path(loc, payload)}.{ctx['discriminator'].strip(chr(39))}"
        else:
            path = _path((*loc, *ctx.get("at", ())), payload)
        found.append({"field": path, "message": _message(detail)})
    return found


#: how a NUL or an unpaired surrogate shows in JSON text: only as an escape (raw, the text
#: would not be JSON or not UTF-8); a text without one holds neither
SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def unstorable(value: Any, path: str = "") -> list[dict[str, str]]:
    """NUL and unpaired surrogates are valid JSON escapes, but no database text holds them:
    a problem for every string and field name, anywhere in the delivery, that has one."""
    found: list[dict[str, str]] = []
    stack = [(value, path)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, str):
            if UNSTORABLE.search(node):
                found.append({"field": at, "message": UNSTORABLE_RULE})
        elif isinstance(node, dict):
            for key, item in node.items():
                if UNSTORABLE.search(key):
                    found.append({"field": at or "(root)", "message": UNSTORABLE_NAME_RULE})
                stack.append((item, f"{at}.{key}" if at else key))
        elif isinstance(node, list):
            stack.extend((item, f"{at}[{n}]") for n, item in enumerate(node))
    return found


# -- Adapters ---------------------------------------------------------------------------------


def N_(text: str) -> str:  # noqa: N802 (gettext's convention)
    """Marks a label for translation; the interface translates it when it shows it."""
    return text


class Adapter:
    """One channel: its delivery model, and what a valid delivery becomes."""

    #: the channel's name in the API's address (/api/v1/inbound/<name>) and in the data
    name: ClassVar[str] = ""
    #: the channel's name for people, translated by the interface
    label: ClassVar[str] = ""
    #: the pydantic model of a delivery (a subclass of Delivery)
    model: ClassVar[type[Delivery]] = Delivery
    #: whether the municipality is required even from an anonymous resident
    municipality_always_required: ClassVar[bool] = False
    #: how much of a person's room one item in progress takes (a chat more than a form)
    weight: ClassVar[int] = 1
    #: the template of the item's content on its page, in the adapter's own folder
    template: ClassVar[str | None] = None
    #: a live conversation: the desk replies in it, and closing it ends the resident's window
    live: ClassVar[bool] = False
    #: a digital contact; a phone channel's items are phone contacts, which the reports weigh
    #: the digital ones against (the region's digital share)
    digital: ClassVar[bool] = True

    def title(self, payload: dict) -> str:
        raise NotImplementedError

    def content(self, payload: dict) -> dict:
        """The channel's part of the payload, as the item page shows it."""
        raise NotImplementedError

    def retained(self, content: dict) -> dict:
        """What of an item's stored content outlives its retention period (desk.work.
        retention): what reports and instructions classify by, never what names or quotes the
        resident. Nothing, unless the channel says otherwise."""
        return {}

    def retained_title(self, title: str, content: dict) -> str:
        """The title an item keeps when its resident's data is erased: the title itself where
        it names the kind of matter (a form's, an assessment's, a request's topic); a channel
        whose title quotes the resident or gives their number says something else."""
        return title

    def form_type(self, payload: dict) -> str | None:
        """The form type routing rules may match on (e-forms only)."""
        return None

    def stored_form_type(self, content: dict) -> str | None:
        """The form type again, from an item's stored content: routing rules place the item
        anew when a caller identifies themselves on the phone."""
        return None

    def phone(self, payload: dict) -> str | None:
        """The number to call the resident on, if they gave one."""
        return (payload.get("resident") or {}).get("phone")

    def topics(self, content: dict) -> set[str]:
        """What the matter is about, from an item's stored content (instructions match on it):
        the chatbot's topic, the Omaolo assessment and its urgency, the form type, the
        request's topic."""
        return set()

    def deadline(self, payload: dict, submitted_at: datetime) -> Deadline:
        raise NotImplementedError

    def urgency(self, payload: dict) -> str | None:
        return None

    def update(self, stored: dict, repeat: dict) -> dict | None:
        """For a repeat with different content: the payload to keep if the channel allows this
        change (a growing chat), or None when it is a conflict."""
        return None

    def restart_after_information(self, content: dict) -> int | None:
        """For a matter whose legal deadline counts from the day the last necessary information
        arrives: how many working days it runs from the answer to a request for more
        information (the deadline pauses while the request is open). None: it does not pause."""
        return None

    def reply_by_days(self, content: dict) -> int:
        """The working days a resident is given by default to answer a request for more
        information on this matter."""
        return 7


def is_identified(payload: dict) -> bool:
    """Whether the delivery comes from a strongly identified resident."""
    resident = payload.get("resident") or {}
    return resident.get("identification") == "strong"


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
