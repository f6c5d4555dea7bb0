"""The small interface every channel adapter implements, and the checks they share.

A delivery is validated in full, collecting every problem at once; the adapter then tells the
desk what the item looks like (title, content), how it routes (form type) and its deadline.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..inbound.deadlines import HELSINKI, Deadline
from ..models import utcnow
from ..pid import problem as pid_problem

MUNICIPALITIES = ("porvoo", "loviisa", "lapinjarvi", "sipoo", "askola", "myrskyla", "pukkila")
LANGUAGES = ("fi", "sv", "en")
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FUTURE_TOLERANCE = timedelta(minutes=5)
#: The first moment a delivery may be from: the wellbeing services county began on 2023-01-01,
#: and the routing rules and system areas of the reference data begin with it. Nothing older
#: can be routed, so it is refused before a 202 promises an item (and no date arithmetic ever
#: meets year 1 or 9999).
EARLIEST = datetime(2023, 1, 1, tzinfo=HELSINKI)
EXTERNAL_ID_RULE = (
    "must be printable characters (the space the only white space), "
    "not beginning or ending with a space"
)
_MISSING = object()


#: Deeper than any delivery of the contract needs (four levels) with room for source systems'
#: own fields; a body nested deeper is refused before anything walks it.
MAX_DEPTH = 32


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


@dataclass
class Checker:
    """Collects every problem of one payload as {field, message} pairs."""

    problems: list[dict[str, str]] = field(default_factory=list)
    #: the time the delivery arrived, for "not in the future"
    now: datetime = field(default_factory=utcnow)

    def problem(self, path: str, message: str) -> None:
        self.problems.append({"field": path, "message": message})

    def value(self, data: dict, key: str, path: str, *, required: bool) -> Any:
        """The value, or _MISSING (with a problem when required); null counts as missing."""
        value = data.get(key, _MISSING)
        if value is None:
            value = _MISSING
        if value is _MISSING and required:
            self.problem(path, "is required")
        return value

    def string(
        self,
        data: dict,
        key: str,
        path: str,
        *,
        required: bool = True,
        max_len: int = 4000,
        min_len: int = 1,
        choices: tuple[str, ...] | None = None,
    ) -> str | None:
        value = self.value(data, key, path, required=required)
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self.problem(path, "must be a string")
            return None
        if choices is not None and value not in choices:
            self.problem(path, f"must be one of: {', '.join(choices)}")
            return None
        if len(value) < min_len:
            self.problem(path, f"must have at least {min_len} character(s)")
            return None
        if len(value) > max_len:
            self.problem(path, f"must have at most {max_len} characters")
            return None
        return value

    def boolean(self, data: dict, key: str, path: str, *, required: bool = False) -> bool | None:
        value = self.value(data, key, path, required=required)
        if value is _MISSING:
            return None
        if not isinstance(value, bool):
            self.problem(path, "must be true or false")
            return None
        return value

    def timestamp(
        self, data: dict, key: str, path: str, *, required: bool = True
    ) -> datetime | None:
        text = self.string(data, key, path, required=required, max_len=64)
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.problem(path, "must be an ISO 8601 timestamp")
            return None
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.problem(path, "must have a UTC offset")
            return None
        if moment < EARLIEST:
            self.problem(path, f"is before {EARLIEST.isoformat()}")
            return None
        if moment > self.now + FUTURE_TOLERANCE:
            self.problem(path, "is more than 5 minutes in the future")
            return None
        return moment

    def obj(self, data: dict, key: str, path: str, *, required: bool = True) -> dict | None:
        value = self.value(data, key, path, required=required)
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            self.problem(path, "must be an object")
            return None
        return value

    def array(
        self,
        data: dict,
        key: str,
        path: str,
        *,
        required: bool = True,
        min_items: int = 0,
        max_items: int = 1000,
    ) -> list | None:
        value = self.value(data, key, path, required=required)
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            self.problem(path, "must be a list")
            return None
        if not min_items <= len(value) <= max_items:
            self.problem(path, f"must have {min_items}–{max_items} entries")
            return None
        return value


class Adapter:
    """One channel: validation of its own fields, and what its deliveries become."""

    name: str = ""
    #: whether the municipality is required even from an anonymous resident
    municipality_always_required: bool = False

    def check(self, checker: Checker, payload: dict) -> None:
        """Add a problem for every way the channel's own fields break the contract."""
        raise NotImplementedError

    def title(self, payload: dict) -> str:
        raise NotImplementedError

    def content(self, payload: dict) -> dict:
        """The channel's part of the payload, as the item page shows it."""
        raise NotImplementedError

    def form_type(self, payload: dict) -> str | None:
        """The form type routing rules may match on (e-forms only)."""
        return None

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


UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _check_characters(checker: Checker, value: Any, path: str) -> None:
    # NUL and unpaired surrogates are valid JSON escapes, but no database text can hold them.
    if isinstance(value, str):
        if UNSTORABLE.search(value):
            checker.problem(path, "contains a NUL character or an unpaired surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            if UNSTORABLE.search(key):
                checker.problem(path or "(root)", "has a field name that cannot be stored")
            _check_characters(checker, item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _check_characters(checker, item, f"{path}[{n}]")


def check_delivery(
    adapter: Adapter, payload: Any, *, now: datetime | None = None
) -> list[dict[str, str]]:
    """Every problem of a delivery against the common fields and the channel's own."""
    checker = Checker(now=now or utcnow())
    if not isinstance(payload, dict):
        checker.problem("", "must be a JSON object")
        return checker.problems
    _check_characters(checker, payload, "")
    external_id = checker.string(payload, "external_id", "external_id", max_len=128)
    # It names the delivery in the state's address and in people's searches and logs: no
    # invisible characters, and nothing that trimming would make another id. (A NUL or a lone
    # surrogate has its own problem above.)
    printable = external_id is None or (
        external_id.isprintable() and external_id == external_id.strip()
    )
    if not printable and not UNSTORABLE.search(external_id):
        checker.problem("external_id", EXTERNAL_ID_RULE)
    checker.timestamp(payload, "submitted_at", "submitted_at")
    checker.string(payload, "language", "language", required=False, choices=LANGUAGES)
    resident = checker.obj(payload, "resident", "resident", required=False)
    identified = False
    if resident is not None:
        level = checker.string(
            resident, "identification", "resident.identification", choices=("none", "strong")
        )
        identified = level == "strong"
        pid = checker.value(resident, "personal_id", "resident.personal_id", required=identified)
        if level == "none" and pid is not _MISSING:
            checker.problem("resident.personal_id", "is forbidden when the resident is anonymous")
        elif identified and pid is not _MISSING:
            if not isinstance(pid, str):
                checker.problem("resident.personal_id", "must be a string")
            elif reason := pid_problem(pid):
                checker.problem("resident.personal_id", reason)
        checker.string(resident, "name", "resident.name", required=False, max_len=200)
        phone = checker.string(resident, "phone", "resident.phone", required=False, max_len=20)
        if phone is not None and not PHONE.match(phone):
            checker.problem("resident.phone", "must be in international form, e.g. +358401234567")
        email = checker.string(resident, "email", "resident.email", required=False, max_len=254)
        if email is not None and not EMAIL.match(email):
            checker.problem("resident.email", "is not an email address")
    checker.string(
        payload,
        "municipality",
        "municipality",
        choices=MUNICIPALITIES,
        required=identified or adapter.municipality_always_required,
    )
    adapter.check(checker, payload)
    return checker.problems


def is_identified(payload: dict) -> bool:
    """Whether the delivery comes from a strongly identified resident."""
    resident = payload.get("resident") or {}
    return resident.get("identification") == "strong"


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
