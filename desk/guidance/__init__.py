"""What the desk tells a professional beside an item: the instructions that apply, the
municipality's digital services, and response templates filled from the item. Reads the
database through a Session; no Flask."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import formats, kept
from ..channels.base import Adapter
from ..inbound.deadlines import OFFICE_CLOSES, parse_day
from ..inbound.routing import RoutingError, system_area_in
from ..models import (
    DigitalService,
    Instruction,
    InstructionVersion,
    Municipality,
    ResponseTemplate,
    TemplateUse,
    User,
    WorkItem,
)
from . import instructions
from .instructions import Scope, Shown, day_in_finland
from .responses import Filled, fill, first_name

#: The service matrix's rows, in the order a professional goes through them.
SERVICE_KINDS = (
    "identified_portal",
    "self_booking",
    "remote_reception",
    "chat",
    "omaolo",
    "forms",
    "phone_callback",
)


def all_instructions(session: Session) -> list[list[InstructionVersion]]:
    """Every instruction with all its versions (a small table, read whole)."""
    return [list(i.versions) for i in session.scalars(select(Instruction).order_by(Instruction.id))]


def system_area_or_none(
    session: Session, municipality: str | None, day: date, reference: kept.Reference | None = None
) -> str | None:
    """The system area a municipality belongs to on `day`, from the kept reference tables
    (`reference` when the caller has them already); None when none is given or known."""
    if not municipality:
        return None
    try:
        return system_area_in((reference or kept.reference(session)).memberships, municipality, day)
    except RoutingError:
        return None


def topics_of(item: WorkItem, adapter: Adapter | None) -> frozenset[str]:
    """What the item is about, as its channel (None: one no longer in use) reads it."""
    return frozenset(adapter.topics(item.content or {})) if adapter else frozenset()


def scope_of(
    session: Session,
    item: WorkItem,
    day: date,
    adapter: Adapter | None,
    reference: kept.Reference | None = None,
) -> Scope:
    """What the item asks of the instructions on `day`."""
    reference = reference or kept.reference(session)
    return Scope(
        municipality=item.municipality_code,
        system_area=system_area_or_none(session, item.municipality_code, day, reference),
        channel=item.channel,
        service_area=item.service_area_code,
        topics=topics_of(item, adapter),
        requested_municipality=item.requested_municipality_code,
        requested_system_area=system_area_or_none(
            session, item.requested_municipality_code, day, reference
        ),
    )


def reading_language(interface: str, item_language: str | None) -> str:
    """The language a professional reads an item's instructions in first (the other one is
    a click away): their interface language; with an English interface, which instructions
    do not have, the item's language, Swedish or else Finnish."""
    if interface in ("fi", "sv"):
        return interface
    return "sv" if item_language == "sv" else "fi"


@dataclass
class Guidance:
    shown: list[Shown]
    #: what applied when the item arrived but no longer does
    gone: list[InstructionVersion]


def for_item(
    session: Session,
    item: WorkItem,
    now: datetime,
    adapter: Adapter | None,
    reference: kept.Reference | None = None,
) -> Guidance:
    """The instructions for the item, read by its channel's adapter, from the kept reference
    tables (`reference` when the caller has them already)."""
    reference = reference or kept.reference(session)
    today = day_in_finland(now)
    scope = scope_of(session, item, today, adapter, reference)
    every = reference.instructions

    def applicable(day: date) -> list:
        return reference.worked_out(
            ("instructions", scope, day), lambda: instructions.applicable(every, scope, day)
        )

    # What applied at arrival is what applied on that day, when no version has been written
    # since (nearly always): the same for every item of the scope and day.
    arrived = item.submitted_at
    newest = reference.worked_out(("newest version",), lambda: instructions.newest(every))
    then = applicable(day_in_finland(arrived)) if newest is None or newest <= arrived else None
    shown, gone = instructions.for_item(
        every, scope, arrived, now, current=applicable(today), then=then
    )
    return Guidance(shown, gone)


def services_on(
    session: Session, day: date, municipality: str | None = None
) -> dict[str, dict[str, list[DigitalService]]]:
    """The service matrix as it stands on `day`: municipality → kind → services (only
    `municipality`'s row when one is given)."""
    matrix: dict[str, dict[str, list[DigitalService]]] = defaultdict(lambda: defaultdict(list))
    query = select(DigitalService).order_by(DigitalService.municipality_code, DigitalService.id)
    if municipality is not None:
        query = query.where(DigitalService.municipality_code == municipality)
    for service in session.scalars(query):
        if _in_force(service, day):
            matrix[service.municipality_code][service.kind].append(service)
    return matrix


def item_services(
    session: Session, item: WorkItem, now: datetime, reference: kept.Reference | None = None
) -> dict:
    """The resident's municipality's digital services today, from the kept reference tables
    (`reference` when the caller has them already): kind → services."""
    day = day_in_finland(now)
    reference = reference or kept.reference(session)

    def work() -> dict[str, list[DigitalService]]:
        found: dict[str, list[DigitalService]] = defaultdict(list)
        for service in reference.services:
            if service.municipality_code == item.municipality_code and _in_force(service, day):
                found[service.kind].append(service)
        return dict(found)

    return reference.worked_out(("services", item.municipality_code, day), work)


def _in_force(service: DigitalService, day: date) -> bool:
    return (service.valid_from is None or service.valid_from <= day) and (
        service.valid_to is None or day < service.valid_to
    )


def service_changes(session: Session, after: date, until: date) -> list[DigitalService]:
    """Services that start or end in (after, until]: what changes soon."""
    changes = session.scalars(
        select(DigitalService).where(
            ((DigitalService.valid_from > after) & (DigitalService.valid_from <= until))
            | ((DigitalService.valid_to > after) & (DigitalService.valid_to <= until))
        )
    )
    return sorted(
        changes,
        key=lambda s: (
            min(d for d in (s.valid_from, s.valid_to) if d and d > after),
            s.municipality_code,
        ),
    )


def check_service(form: dict[str, str], *, municipalities: set[str]) -> tuple[dict | None, dict]:
    """A service row from an editor's form, or the problems per field (codes the UI words:
    required, unknown, too_long, bad_url, bad_date, ends_before_start). The form gives the
    first and the last day in force; the row keeps `valid_to` as the day after the last."""
    problems: dict[str, str] = {}
    values: dict = {}
    for name, known in (("municipality_code", municipalities), ("kind", set(SERVICE_KINDS))):
        value = (form.get(name) or "").strip()
        if not value:
            problems[name] = "required"
        elif value not in known:
            problems[name] = "unknown"
        values[name] = value
    for name, limit, required in (
        ("name", 160, True),
        ("name_sv", 160, False),
        ("name_en", 160, False),
        ("url", 500, False),
        ("note_fi", 500, False),
        ("note_sv", 500, False),
    ):
        value = (form.get(name) or "").strip()
        if required and not value:
            problems[name] = "required"
        elif len(value) > limit:
            problems[name] = "too_long"
        values[name] = value
    url = values["url"]
    if url and not (url.startswith(("https://", "http://")) and " " not in url and "." in url):
        problems["url"] = "bad_url"
    values["url"] = url or None
    # No name of its own in Swedish or English: the Finnish one is shown there.
    values["name_sv"] = values["name_sv"] or None
    values["name_en"] = values["name_en"] or None
    days: dict[str, date | None] = {}
    for name in ("valid_from", "last_day"):
        text = (form.get(name) or "").strip()
        try:
            days[name] = parse_day(text) if text else None
        except ValueError:
            problems[name] = "bad_date"
    start, last = days.get("valid_from"), days.get("last_day")
    if start and last and last < start:
        problems["last_day"] = "ends_before_start"
    values["valid_from"] = start
    # Editors give the last day; the matrix keeps the first day without it (exclusive).
    values["valid_to"] = last + timedelta(days=1) if last else None
    return (None, problems) if problems else (values, {})


#: a Markdown link to an https address in an instruction's text
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]{1,200})\]\((https://[^)\s]{1,500})\)")


def attachable_links(
    session: Session,
    item: WorkItem,
    shown: list,
    language: str,
    now: datetime,
    services: dict | None = None,
) -> list[tuple[str, str]]:
    """(title, url) of what a professional may attach to a message to the resident: the
    digital services of the resident's municipality in the service matrix, and the links in
    the instructions shown for the item; each address once, in the resident's language."""
    found: dict[str, str] = {}
    if services is None:
        services = item_services(session, item, now)
    for kind in sorted(services):
        for service in services[kind]:
            if service.url and service.url.startswith("https://"):
                found.setdefault(service.url, service.name_in(language))
    for entry in shown:
        for title, url in _MARKDOWN_LINK.findall(entry.version.body(language)):
            found.setdefault(url, title)
    return [(title, url) for url, title in found.items()]


def _first_link(services: list[DigitalService]) -> str | None:
    return next((s.url for s in services if s.url), None)


def placeholder_values(
    session: Session,
    item: WorkItem,
    user: User,
    language: str,
    now: datetime,
    services: dict | None = None,
) -> dict[str, str | None]:
    """The values a template's placeholders take for this item, written in `language` (the
    template's: dates as the resident's language writes them in Finland)."""
    municipality = (
        session.get(Municipality, item.municipality_code) if item.municipality_code else None
    )
    if services is None:
        services = item_services(session, item, now)
    return {
        "first_name": first_name(item.resident_name),
        "municipality": municipality.name(language) if municipality else None,
        "self_booking_link": _first_link(services.get("self_booking", [])),
        "portal_link": _first_link(services.get("identified_portal", [])),
        "professional": user.shown_name,
        "deadline": deadline_text(item.due_at, language) if item.due_at else None,
        "queue": item.queue.name(language) if item.queue else None,
    }


def deadline_text(due: datetime, language: str) -> str:
    """A deadline as a reply promises it: the day alone when it is the day's end of office
    hours ("viimeistään 4.12.2026"), else the day and the time ("4.12.2026 klo 15.30")."""
    if formats.in_finland(due).time() == OFFICE_CLOSES:
        return formats.day(due, language, text=True)
    return formats.moment(due, language, text=True)


def past_placeholders(item: WorkItem, now: datetime) -> frozenset[str]:
    """The placeholders whose value is a moment already gone for this item: an overdue
    item's deadline cannot be promised to the resident any more."""
    return frozenset({"deadline"}) if item.due_at and item.due_at <= now else frozenset()


def templates_for(
    session: Session, item: WorkItem, reference: kept.Reference | None = None
) -> list[ResponseTemplate]:
    """The active templates that suit the item: those for its municipality, channel and
    service area, and the general ones; the most specific first. From the kept reference
    tables (`reference` when the caller has them already)."""
    reference = reference or kept.reference(session)
    municipality, channel, area = item.municipality_code, item.channel, item.service_area_code
    language = item.language

    def work() -> list[ResponseTemplate]:
        found = []
        for template in reference.templates:
            if not template.active:
                continue
            facets = (
                (template.municipality_code, municipality),
                (template.channel, channel),
                (template.service_area_code, area),
            )
            if all(mine is None or mine == theirs for mine, theirs in facets):
                found.append(template)
        return sorted(
            found,
            key=lambda t: (
                -sum(f is not None for f in (t.municipality_code, t.channel, t.service_area_code)),
                # then by the title the dialog shows: in the resident's language
                formats.sort_key(t.title(t.text_language(language)), language),
            ),
        )

    key = ("templates", municipality, channel, area, language)
    return list(reference.worked_out(key, work))


@dataclass
class Offered:
    template: ResponseTemplate
    language: str
    filled: Filled


def offer(
    session: Session,
    templates: list[ResponseTemplate],
    item: WorkItem,
    user: User,
    now: datetime,
    services: dict | None = None,
) -> list[Offered]:
    """Each template filled in the resident's language: Swedish or English when the resident
    writes it (English when the template has an English text), Finnish otherwise. Dates come
    as that language writes them; one already past is marked."""
    values: dict[str, dict[str, str | None]] = {}
    past = past_placeholders(item, now)
    offered = []
    for template in templates:
        language = template.text_language(item.language)
        if language not in values:
            if services is None:
                services = item_services(session, item, now)
            values[language] = placeholder_values(session, item, user, language, now, services)
        filled = fill(template.body(language), values[language], past)
        offered.append(Offered(template, language, filled))
    return offered


def record_use(
    session: Session, template_ids: list[int], item: WorkItem, user: User, language: str
) -> None:
    """Count the templates whose text went into a saved note or resolution."""
    for template_id in dict.fromkeys(template_ids):
        if session.get(ResponseTemplate, template_id) is not None:
            session.add(
                TemplateUse(
                    template_id=template_id, item_id=item.id, user_id=user.id, language=language
                )
            )


def use_counts(session: Session, since: datetime | None = None) -> dict[int, int]:
    query = select(TemplateUse.template_id, func.count()).group_by(TemplateUse.template_id)
    if since is not None:
        query = query.where(TemplateUse.at >= since)
    return dict(session.execute(query).all())
