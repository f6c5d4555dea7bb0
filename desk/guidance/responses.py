"""Response templates: ready phrases with placeholders filled from the item. Plain Python.

A placeholder is a name in braces, e.g. `{first_name}`. Filling replaces those the item has a
value for and leaves the rest as they are, listed, so that the professional sees what is still
to write before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

#: The placeholders a template may use, in the order the editor lists them.
PLACEHOLDERS = (
    "first_name",
    "municipality",
    "self_booking_link",
    "portal_link",
    "professional",
    "deadline",
    "queue",
)


@dataclass(frozen=True)
class Filled:
    text: str
    #: placeholders left in the text: known ones without a value, and unknown names
    missing: list[str] = field(default_factory=list)
    #: placeholders filled with a date that has already passed (a promise the text cannot keep)
    past: list[str] = field(default_factory=list)


def fill(
    template: str, values: Mapping[str, str | None], past: Collection[str] = frozenset()
) -> Filled:
    """`template` with every placeholder that has a value replaced; `past` names the values
    that are dates already gone, so that the text is not used before it is corrected."""
    missing: list[str] = []
    gone: list[str] = []

    def replace(match: re.Match) -> str:
        name = match.group(1)
        value = values.get(name)
        if value:
            if name in past and name not in gone:
                gone.append(name)
            return value
        if name not in missing:
            missing.append(name)
        return match.group(0)

    return Filled(PLACEHOLDER.sub(replace, template), missing, gone)


def unfilled(text: str) -> list[str]:
    """Known placeholders still in a text about to be saved (unknown braces are the writer's
    own business, e.g. a resident's quoted text)."""
    found = []
    for name in PLACEHOLDER.findall(text or ""):
        if name in PLACEHOLDERS and name not in found:
            found.append(name)
    return found


def first_name(full_name: str | None) -> str | None:
    """The first of the resident's names, as the source system gave them."""
    parts = (full_name or "").split()
    return parts[0] if parts else None


def check_template(
    form: dict[str, str],
    *,
    municipalities: set[str],
    channels: set[str],
    service_areas: set[str],
) -> tuple[dict | None, dict[str, str]]:
    """A template's fields from an editor's form, or the problems per field (codes the UI
    words: required, too_long, unknown, unknown_placeholder). Finnish and Swedish are
    required; English is optional, but a title needs its text and a text its title."""
    problems: dict[str, str] = {}
    values: dict = {}
    english = any((form.get(name) or "").strip() for name in ("title_en", "body_en"))
    for name, limit in (
        ("title_fi", 200),
        ("title_sv", 200),
        ("title_en", 200),
        ("body_fi", 4000),
        ("body_sv", 4000),
        ("body_en", 4000),
    ):
        value = (form.get(name) or "").strip()
        if not value:
            if english or not name.endswith("_en"):
                problems[name] = "required"
        elif len(value) > limit:
            problems[name] = "too_long"
        elif name.startswith("body") and any(
            p not in PLACEHOLDERS for p in PLACEHOLDER.findall(value)
        ):
            problems[name] = "unknown_placeholder"
        values[name] = value
    for name, field_name, known in (
        ("municipality", "municipality_code", municipalities),
        ("channel", "channel", channels),
        ("service_area", "service_area_code", service_areas),
    ):
        value = (form.get(name) or "").strip() or None
        if value is not None and value not in known:
            problems[name] = "unknown"
        values[field_name] = value
    values["active"] = form.get("active") == "on"
    return (None, problems) if problems else (values, {})
