"""Which work instructions apply to an item, on a day, as known at a moment. Plain Python.

An instruction is a list of versions; every edit adds one, so what an item was shown when it
arrived can be told apart from what applies now. A version's scope is optional at every facet:
a municipality or a system area (neither: the whole region), a channel, a service area and a
topic. It is in force from `valid_from` (inclusive) to `valid_to` (exclusive), days in Finland.

Precedence: among instructions for the same facets (kind, channel, service area, topic), a
municipality's hides its system area's, which hides the region's. The result is ordered from
the most specific down, so the instruction closest to the resident comes first; an emergency's
instruction (topic P0) comes before all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from ..inbound.deadlines import parse_day

HELSINKI = ZoneInfo("Europe/Helsinki")

WORK = "work"
OTHER_MUNICIPALITY = "other_municipality"
KINDS = (WORK, OTHER_MUNICIPALITY)


class Version(Protocol):
    """What resolution reads of an instruction version (the ORM row satisfies it)."""

    id: int
    instruction_id: int
    number: int
    kind: str
    municipality_code: str | None
    system_area_code: str | None
    channel: str | None
    service_area_code: str | None
    topic: str | None
    valid_from: date
    valid_to: date | None
    created_at: datetime
    title_fi: str


@dataclass(frozen=True)
class Scope:
    """What an item asks of the instructions. `requested_*` is the municipality the resident
    asks service from, when it is not their own."""

    municipality: str | None
    system_area: str | None
    channel: str | None
    service_area: str | None
    #: what the matter is about: e.g. the Omaolo assessment and its urgency class
    topics: frozenset[str] = frozenset()
    requested_municipality: str | None = None
    requested_system_area: str | None = None

    @property
    def asks_elsewhere(self) -> bool:
        return bool(self.requested_municipality) and (
            self.requested_municipality != self.municipality
        )


def day_in_finland(moment: datetime) -> date:
    """The calendar day in Finland at `moment` (validity dates are Finnish days)."""
    return moment.astimezone(HELSINKI).date()


def in_force(version: Version, day: date) -> bool:
    return version.valid_from <= day and (version.valid_to is None or day < version.valid_to)


def level(version: Version) -> int:
    """0 for a municipality's instruction, 1 for a system area's, 2 for the region's."""
    if version.municipality_code:
        return 0
    return 1 if version.system_area_code else 2


def _facets(version: Version) -> tuple:
    return (version.kind, version.channel, version.service_area_code, version.topic)


def _place_matches(version: Version, municipality: str | None, area: str | None) -> bool:
    if version.municipality_code:
        return version.municipality_code == municipality
    if version.system_area_code:
        return version.system_area_code == area
    return True


def matches(version: Version, scope: Scope) -> bool:
    """Whether the version's scope covers the item's."""
    for facet, wanted in (
        (version.channel, scope.channel),
        (version.service_area_code, scope.service_area),
    ):
        if facet is not None and facet != wanted:
            return False
    if version.topic is not None and version.topic not in scope.topics:
        return False
    if version.kind == OTHER_MUNICIPALITY:
        # Shown only for a resident asking elsewhere; its place is where they ask.
        return scope.asks_elsewhere and _place_matches(
            version, scope.requested_municipality, scope.requested_system_area
        )
    return _place_matches(version, scope.municipality, scope.system_area)


def as_known_at(versions: Sequence[Version], moment: datetime | None) -> Version | None:
    """The instruction as it read at `moment` (its latest version then); None if it did not
    exist yet. `None` for the moment means now."""
    known = [v for v in versions if moment is None or v.created_at <= moment]
    return max(known, key=lambda v: v.number, default=None)


def applicable(
    instructions: Iterable[Sequence[Version]],
    scope: Scope,
    day: date,
    known_at: datetime | None = None,
) -> list[Version]:
    """The instructions that apply to `scope` on `day`, as they read at `known_at`, most
    specific first."""
    candidates = []
    for versions in instructions:
        version = as_known_at(versions, known_at)
        if version is not None and in_force(version, day) and matches(version, scope):
            candidates.append(version)
    closest: dict[tuple, int] = {}
    for version in candidates:
        facets = _facets(version)
        closest[facets] = min(closest.get(facets, 2), level(version))
    chosen = [v for v in candidates if level(v) == closest[_facets(v)]]
    return sorted(chosen, key=_order)


#: Topics of an emergency (Omaolo's urgency class P0): what to do comes before anything else.
EMERGENCY_TOPICS = frozenset({"P0"})


def _order(version: Version) -> tuple:
    specific = sum(
        f is not None for f in (version.channel, version.service_area_code, version.topic)
    )
    return (
        version.topic not in EMERGENCY_TOPICS,  # an emergency's instruction before all else
        version.kind != OTHER_MUNICIPALITY,  # then the special case, when it arises
        level(version),
        -specific,
        version.title_fi,
        version.instruction_id,
    )


@dataclass(frozen=True)
class Shown:
    """An instruction on the item page; `changed` when it has been edited since the item
    arrived (then `then` is what applied at arrival)."""

    version: Version
    then: Version | None = None

    @property
    def changed(self) -> bool:
        return self.then is not None and self.then.id != self.version.id


def newest(instructions: Iterable[Sequence[Version]]) -> datetime | None:
    """When the newest version of any instruction was written (None: there are none)."""
    return max((v.created_at for versions in instructions for v in versions), default=None)


def for_item(
    instructions: Iterable[Sequence[Version]],
    scope: Scope,
    arrived: datetime,
    now: datetime,
    *,
    current: list[Version] | None = None,
    then: list[Version] | None = None,
) -> tuple[list[Shown], list[Version]]:
    """What applies now, each marked if it changed since the item arrived; and what applied
    at arrival but no longer does. `current` and `then`: what `applicable` gives for now and
    for the arrival, when the caller has it already."""
    instructions = list(instructions)
    if then is None:
        then = applicable(instructions, scope, day_in_finland(arrived), known_at=arrived)
    if current is None:
        current = applicable(instructions, scope, day_in_finland(now))
    then_by_instruction = {v.instruction_id: v for v in then}
    shown = [Shown(v, then_by_instruction.get(v.instruction_id)) for v in current]
    still = {v.instruction_id for v in current}
    return shown, [v for v in then if v.instruction_id not in still]


def _scope_key(version: Version) -> tuple:
    return (version.municipality_code, version.system_area_code, *_facets(version))


def _overlap(a: Version, b: Version) -> bool:
    a_end, b_end = a.valid_to or date.max, b.valid_to or date.max
    return a.valid_from < b_end and b.valid_from < a_end


def conflicts(instructions: Iterable[Sequence[Version]]) -> list[tuple[Version, Version]]:
    """Pairs of instructions (as they read now) that would both apply to the same scope on
    some day: an editor should merge them or end one."""
    current = [v for versions in instructions if (v := as_known_at(versions, None))]
    by_scope: dict[tuple, list[Version]] = {}
    for version in current:
        by_scope.setdefault(_scope_key(version), []).append(version)
    pairs = []
    for versions in by_scope.values():
        versions.sort(key=lambda v: (v.valid_from, v.instruction_id))
        for i, a in enumerate(versions):
            pairs.extend((a, b) for b in versions[i + 1 :] if _overlap(a, b))
    return pairs


@dataclass(frozen=True)
class Draft:
    """An editor's instruction, checked: what a new version will hold."""

    kind: str
    municipality_code: str | None
    system_area_code: str | None
    channel: str | None
    service_area_code: str | None
    topic: str | None
    title_fi: str
    title_sv: str
    body_fi: str
    body_sv: str
    valid_from: date
    valid_to: date | None


MAX_TITLE = 200
MAX_BODY = 20_000


def check_draft(
    form: dict[str, str],
    *,
    municipalities: set[str],
    system_areas: set[str],
    channels: set[str],
    service_areas: set[str],
) -> tuple[Draft | None, dict[str, str]]:
    """The draft from an editor's form fields, or the problems per field (codes the UI words:
    required, unknown, too_long, both_places, bad_date, ends_before_start)."""
    problems: dict[str, str] = {}

    def text(name: str, limit: int, required: bool = True) -> str:
        value = (form.get(name) or "").strip()
        if required and not value:
            problems[name] = "required"
        elif len(value) > limit:
            problems[name] = "too_long"
        return value

    def code(name: str, known: set[str]) -> str | None:
        value = (form.get(name) or "").strip() or None
        if value is not None and value not in known:
            problems[name] = "unknown"
        return value

    def day(name: str, required: bool) -> date | None:
        value = (form.get(name) or "").strip()
        if not value:
            if required:
                problems[name] = "required"
            return None
        try:
            return parse_day(value)
        except ValueError:
            problems[name] = "bad_date"
            return None

    kind = (form.get("kind") or WORK).strip()
    if kind not in KINDS:
        problems["kind"] = "unknown"
    municipality = code("municipality", municipalities)
    area = code("system_area", system_areas)
    if municipality and area:
        problems["system_area"] = "both_places"
    channel = code("channel", channels)
    service_area = code("service_area", service_areas)
    topic = text("topic", 80, required=False) or None
    titles = {n: text(n, MAX_TITLE) for n in ("title_fi", "title_sv")}
    bodies = {n: text(n, MAX_BODY) for n in ("body_fi", "body_sv")}
    valid_from = day("valid_from", required=True)
    valid_to = day("valid_to", required=False)
    if valid_from and valid_to and valid_to <= valid_from:
        problems["valid_to"] = "ends_before_start"
    if problems:
        return None, problems
    return (
        Draft(
            kind,
            municipality,
            area,
            channel,
            service_area,
            topic,
            titles["title_fi"],
            titles["title_sv"],
            bodies["body_fi"],
            bodies["body_sv"],
            valid_from,
            valid_to,
        ),
        {},
    )
