"""Instructions (read by everyone, written by team leads and admins), the service matrix and
the response templates."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import guidance
from ..extensions import channel_registry, db
from ..formats import sort_key
from ..guidance import instructions
from ..guidance.instructions import Draft, Scope, Shown, check_draft, day_in_finland
from ..guidance.markup import render
from ..guidance.responses import PLACEHOLDERS, check_template
from ..i18n import by_name, day, language
from ..inbound.deadlines import parse_day
from ..models import (
    DigitalService,
    Instruction,
    InstructionVersion,
    Municipality,
    ResponseTemplate,
    Role,
    ServiceArea,
    SystemArea,
    utcnow,
)
from ..security import me, roles_required
from .labels import service_kind_label

bp = Blueprint("guidance", __name__)
EDITORS = (Role.TEAM_LEAD, Role.ADMIN)


def _reference() -> dict:
    from .labels import channel_label

    lang = language()
    # Every list of places in the order of their names in the interface language.
    municipalities = by_name(db.session.scalars(select(Municipality)))
    service_areas = by_name(db.session.scalars(select(ServiceArea)))
    return {
        "municipalities": municipalities,
        "system_areas": by_name(db.session.scalars(select(SystemArea))),
        "service_areas": service_areas,
        "channels": channel_registry().names(),
        "kinds": instructions.KINDS,
        # (code, name) pairs for the editors' select fields
        "municipality_choices": [(m.code, m.name(lang)) for m in municipalities],
        "channel_choices": [(c, channel_label(c)) for c in channel_registry().names()],
        "service_area_choices": [(a.code, a.name(lang)) for a in service_areas],
    }


def _day(value: str | None) -> date:
    """A date from the query string; today in Finland when missing or malformed."""
    try:
        return parse_day(value or "")
    except ValueError:
        return day_in_finland(utcnow())


def _may_edit() -> bool:
    return me().role in {r.value for r in EDITORS}


# --- instructions ---------------------------------------------------------------------------


@bp.get("/instructions")
@login_required
def instructions_list():
    """Every instruction as it reads now, with where it applies and whether it clashes."""
    everything = guidance.all_instructions(db.session)
    on = _day(request.args.get("on"))
    municipality = request.args.get("municipality") or None
    clashes: dict[int, list[InstructionVersion]] = {}
    for a, b in instructions.conflicts(everything):
        clashes.setdefault(a.instruction_id, []).append(b)
        clashes.setdefault(b.instruction_id, []).append(a)
    rows = []
    for versions in everything:
        current = versions[-1]
        if municipality and current.municipality_code not in (None, municipality):
            continue
        rows.append(
            (current, instructions.in_force(current, on), clashes.get(current.instruction_id, []))
        )
    lang = language()
    rows.sort(key=lambda r: (instructions.level(r[0]), sort_key(r[0].title(lang), lang)))
    return render_template(
        "guidance/instructions.html",
        rows=rows,
        on=on,
        municipality=municipality,
        may_edit=_may_edit(),
        **_reference(),
    )


@bp.get("/instructions/preview")
@login_required
def instruction_preview():
    """Exactly what a professional sees beside an item of this kind, on a chosen day."""
    reference = _reference()
    on = _day(request.args.get("on"))
    args = request.args
    municipality = args.get("municipality") or None
    requested = args.get("requested") or None
    known = {m.code for m in reference["municipalities"]}
    if municipality not in known:
        municipality = None
    if requested not in known:
        requested = None
    scope = Scope(
        municipality=municipality,
        system_area=guidance.system_area_or_none(db.session, municipality, on),
        channel=args.get("channel") or None,
        service_area=args.get("service_area") or None,
        topics=frozenset(t for t in (args.get("topic") or "").split() if t),
        requested_municipality=requested,
        requested_system_area=guidance.system_area_or_none(db.session, requested, on),
    )
    found = instructions.applicable(guidance.all_instructions(db.session), scope, on)
    resident_language = "sv" if args.get("language") == "sv" else "fi"
    return render_template(
        "guidance/preview.html",
        scope=scope,
        on=on,
        resident_language=resident_language,
        # as beside an item: in the professional's language first
        primary=guidance.reading_language(language(), resident_language),
        preview=guidance.Guidance([Shown(v) for v in found], []),
        **reference,
    )


def _form_values(draft_source) -> dict:
    return {k: draft_source.get(k, "") or "" for k in FORM_FIELDS}


FORM_FIELDS = (
    "kind",
    "municipality",
    "system_area",
    "channel",
    "service_area",
    "topic",
    "title_fi",
    "title_sv",
    "body_fi",
    "body_sv",
    "valid_from",
    "last_day",
)


def _version_values(version: InstructionVersion) -> dict:
    return {
        "kind": version.kind,
        "municipality": version.municipality_code or "",
        "system_area": version.system_area_code or "",
        "channel": version.channel or "",
        "service_area": version.service_area_code or "",
        "topic": version.topic or "",
        "title_fi": version.title_fi,
        "title_sv": version.title_sv,
        "body_fi": version.body_fi,
        "body_sv": version.body_sv,
        "valid_from": version.valid_from.isoformat(),
        "valid_to": version.valid_to.isoformat() if version.valid_to else "",
    }


def _checked(reference: dict) -> tuple[Draft | None, dict[str, str]]:
    return check_draft(
        request.form.to_dict(),
        municipalities={m.code for m in reference["municipalities"]},
        system_areas={a.code for a in reference["system_areas"]},
        channels=set(reference["channels"]),
        service_areas={s.code for s in reference["service_areas"]},
    )


def _save(instruction: Instruction, draft: Draft) -> InstructionVersion:
    number = instruction.versions[-1].number + 1 if instruction.versions else 1
    version = InstructionVersion(number=number, author_id=me().id, **asdict(draft))
    instruction.versions.append(version)
    db.session.flush()
    return version


def _warn_about_clashes(instruction: Instruction) -> None:
    others = [
        b if a.instruction_id == instruction.id else a
        for a, b in instructions.conflicts(guidance.all_instructions(db.session))
        if instruction.id in (a.instruction_id, b.instruction_id)
    ]
    if others:
        flash(
            _(
                "Saved, but it overlaps with another instruction for the same scope: %(titles)s."
                " Merge them or end one.",
                titles=", ".join(v.title(language()) for v in others),
            ),
            "error",
        )


def _editor(instruction: Instruction | None, values: dict, problems: dict, status: int = 200):
    return (
        render_template(
            "guidance/edit.html",
            instruction=instruction,
            values=values,
            problems=problems,
            **_reference(),
        ),
        status,
    )


@bp.get("/instructions/new")
@roles_required(*EDITORS)
def instruction_new():
    today = day_in_finland(utcnow()).isoformat()
    return _editor(
        None, {**dict.fromkeys(FORM_FIELDS, ""), "kind": "work", "valid_from": today}, {}
    )


@bp.post("/instructions")
@roles_required(*EDITORS)
def instruction_create():
    draft, problems = _checked(_reference())
    if draft is None:
        return _editor(None, _form_values(request.form), problems, 422)
    instruction = Instruction()
    db.session.add(instruction)
    _save(instruction, draft)
    _warn_about_clashes(instruction)
    db.session.commit()
    flash(_("The instruction was saved."), "success")
    return redirect(url_for("guidance.instruction", instruction_id=instruction.id))


def _instruction(instruction_id: int) -> Instruction:
    instruction = db.session.get(Instruction, instruction_id)
    if instruction is None or not instruction.versions:
        abort(404)
    return instruction


@bp.get("/instructions/<int:instruction_id>")
@login_required
def instruction(instruction_id: int):
    """The instruction as it reads now, and every earlier version with its author."""
    found = _instruction(instruction_id)
    return render_template(
        "guidance/instruction.html", instruction=found, may_edit=_may_edit(), **_reference()
    )


@bp.get("/instructions/<int:instruction_id>/edit")
@roles_required(*EDITORS)
def instruction_edit(instruction_id: int):
    found = _instruction(instruction_id)
    return _editor(found, _version_values(found.current), {})


@bp.post("/instructions/<int:instruction_id>")
@roles_required(*EDITORS)
def instruction_update(instruction_id: int):
    """A change is a new version; the earlier ones stay as they were."""
    found = _instruction(instruction_id)
    draft, problems = _checked(_reference())
    if draft is None:
        return _editor(found, _form_values(request.form), problems, 422)
    if asdict(draft) == {k: getattr(found.current, k) for k in asdict(draft)}:
        flash(_("Nothing was changed."), "success")
        return redirect(url_for("guidance.instruction", instruction_id=found.id))
    _save(found, draft)
    _warn_about_clashes(found)
    db.session.commit()
    flash(_("The instruction was saved as version %(n)d.", n=found.current.number), "success")
    return redirect(url_for("guidance.instruction", instruction_id=found.id))


@bp.post("/instructions/render")
@roles_required(*EDITORS)
def instruction_render():
    """The editor's Markdown as it will show (the draft preview in the edit form)."""
    lang = "sv" if request.form.get("preview") == "sv" else "fi"
    body = request.form.get(f"body_{lang}", "")
    return render_template("guidance/_rendered.html", body=body)


# --- the service matrix ---------------------------------------------------------------------


@bp.get("/services")
@login_required
def services():
    """Each municipality's digital services on a day; two side by side; what changes soon."""
    reference = _reference()
    on = _day(request.args.get("on"))
    known = [m.code for m in reference["municipalities"]]
    compare = [c for c in request.args.getlist("compare") if c in known][:2]
    shown = [m for m in reference["municipalities"] if not compare or m.code in compare]
    matrix = guidance.services_on(db.session, on)
    differing = set()
    if len(compare) == 2:
        for kind in guidance.SERVICE_KINDS:
            a, b = ([s.name for s in matrix.get(c, {}).get(kind, [])] for c in compare)
            if sorted(a) != sorted(b):
                differing.add(kind)
    return render_template(
        "guidance/services.html",
        on=on,
        matrix=matrix,
        differing=differing,
        shown=shown,
        compare=compare,
        kinds=guidance.SERVICE_KINDS,
        changes=guidance.service_changes(db.session, on, on + timedelta(days=62)),
        municipality_names={m.code: m.name(language()) for m in reference["municipalities"]},
        municipalities=reference["municipalities"],
    )


SERVICE_FIELDS = (
    "municipality_code",
    "kind",
    "name",
    "name_sv",
    "name_en",
    "url",
    "note_fi",
    "note_sv",
    "valid_from",
    "valid_to",
)


def _service_editor(service: DigitalService | None, values: dict, problems: dict, status=200):
    reference = _reference()
    return (
        render_template(
            "guidance/service_edit.html",
            service=service,
            values=values,
            problems=problems,
            municipality_choices=reference["municipality_choices"],
            kind_choices=[(k, service_kind_label(k)) for k in guidance.SERVICE_KINDS],
        ),
        status,
    )


def _checked_service() -> tuple[dict | None, dict]:
    known = {m.code for m in _reference()["municipalities"]}
    return guidance.check_service(request.form.to_dict(), municipalities=known)


def _service_form() -> dict:
    return {name: request.form.get(name, "") for name in SERVICE_FIELDS}


def _saved_service(service: DigitalService, values: dict):
    for name, value in values.items():
        setattr(service, name, value)
    service.updated_by = me().display_name
    service.updated_at = utcnow()
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        problems = {"name": "duplicate"}
        return _service_editor(service if service.id else None, _service_form(), problems, 422)
    flash(_("The service was saved."), "success")
    start = values["valid_from"]
    later = start if start and start > _day(None) else None  # the matrix on the day it starts
    return redirect(url_for("guidance.services", on=later.isoformat() if later else None))


@bp.get("/services/new")
@roles_required(*EDITORS)
def service_new():
    """Add a service to the matrix (from a date on, when it starts later)."""
    values = dict.fromkeys(SERVICE_FIELDS, "")
    values["municipality_code"] = request.args.get("municipality", "")
    return _service_editor(None, values, {})


@bp.post("/services")
@roles_required(*EDITORS)
def service_create():
    values, problems = _checked_service()
    if values is None:
        return _service_editor(None, _service_form(), problems, 422)
    service = DigitalService()
    db.session.add(service)
    return _saved_service(service, values)


def _service(service_id: int) -> DigitalService:
    return db.get_or_404(DigitalService, service_id)


@bp.get("/services/<int:service_id>/edit")
@roles_required(*EDITORS)
def service_edit(service_id: int):
    """Change a service, or end it (its last day comes from "valid to")."""
    service = _service(service_id)
    values = {name: getattr(service, name, None) or "" for name in SERVICE_FIELDS}
    values["valid_from"] = service.valid_from.isoformat() if service.valid_from else ""
    last = service.valid_to - timedelta(days=1) if service.valid_to else None
    values["last_day"] = last.isoformat() if last else ""
    return _service_editor(service, values, {})


@bp.post("/services/<int:service_id>")
@roles_required(*EDITORS)
def service_update(service_id: int):
    service = _service(service_id)
    values, problems = _checked_service()
    if values is None:
        return _service_editor(service, _service_form(), problems, 422)
    return _saved_service(service, values)


# --- response templates ---------------------------------------------------------------------


@bp.get("/templates")
@login_required
def templates():
    """The response templates, searchable, with how often each went into a saved text."""
    query = (request.args.get("q") or "").strip().lower()
    rows = by_name(db.session.scalars(select(ResponseTemplate)), lambda t: t.title(language()))
    if query:
        texts = ("title_fi", "title_sv", "title_en", "body_fi", "body_sv", "body_en")
        rows = [
            t
            for t in rows
            if all(
                word in " ".join(getattr(t, name) or "" for name in texts).lower()
                for word in query.split()
            )
        ]
    month_ago = utcnow() - timedelta(days=30)
    return render_template(
        "guidance/templates.html",
        rows=rows,
        q=request.args.get("q", ""),
        uses_month=guidance.use_counts(db.session, month_ago),
        uses_all=guidance.use_counts(db.session),
        placeholders=PLACEHOLDERS,
        may_edit=_may_edit(),
        **_reference(),
    )


TEMPLATE_FIELDS = (
    "title_fi",
    "title_sv",
    "title_en",
    "body_fi",
    "body_sv",
    "body_en",
    "municipality",
    "channel",
    "service_area",
)


def _template_editor(template: ResponseTemplate | None, values: dict, problems: dict, status=200):
    return (
        render_template(
            "guidance/template_edit.html",
            template=template,
            values=values,
            problems=problems,
            placeholders=PLACEHOLDERS,
            **_reference(),
        ),
        status,
    )


def _checked_template() -> tuple[dict | None, dict[str, str]]:
    reference = _reference()
    return check_template(
        request.form.to_dict(),
        municipalities={m.code for m in reference["municipalities"]},
        channels=set(reference["channels"]),
        service_areas={s.code for s in reference["service_areas"]},
    )


@bp.get("/templates/new")
@roles_required(*EDITORS)
def template_new():
    return _template_editor(None, {**dict.fromkeys(TEMPLATE_FIELDS, ""), "active": True}, {})


@bp.post("/templates")
@roles_required(*EDITORS)
def template_create():
    values, problems = _checked_template()
    if values is None:
        return _template_editor(None, _template_form(), problems, 422)
    db.session.add(ResponseTemplate(**values))
    db.session.commit()
    flash(_("The template was saved."), "success")
    return redirect(url_for("guidance.templates"))


def _template(template_id: int) -> ResponseTemplate:
    return db.get_or_404(ResponseTemplate, template_id)


def _template_form() -> dict:
    return {
        **{k: request.form.get(k, "") for k in TEMPLATE_FIELDS},
        "active": request.form.get("active") == "on",
    }


@bp.get("/templates/<int:template_id>/edit")
@roles_required(*EDITORS)
def template_edit(template_id: int):
    template = _template(template_id)
    values = {
        "title_fi": template.title_fi,
        "title_sv": template.title_sv,
        "title_en": template.title_en or "",
        "body_fi": template.body_fi,
        "body_sv": template.body_sv,
        "body_en": template.body_en or "",
        "municipality": template.municipality_code or "",
        "channel": template.channel or "",
        "service_area": template.service_area_code or "",
        "active": template.active,
    }
    return _template_editor(template, values, {})


@bp.post("/templates/<int:template_id>")
@roles_required(*EDITORS)
def template_update(template_id: int):
    template = _template(template_id)
    values, problems = _checked_template()
    if values is None:
        return _template_editor(template, _template_form(), problems, 422)
    for name, value in values.items():
        setattr(template, name, value)
    template.updated_at = utcnow()
    db.session.commit()
    flash(_("The template was saved."), "success")
    return redirect(url_for("guidance.templates"))


# --- template helpers -----------------------------------------------------------------------


def instruction_scope(version: InstructionVersion) -> str:
    """Where an instruction applies, in words: place, channel, service area, topic."""
    from .labels import channel_label, reference, topic_label

    lang = language()
    kept = reference()
    if version.municipality_code:
        place = kept.get(Municipality, version.municipality_code).name(lang)
    elif version.system_area_code:
        area = kept.get(SystemArea, version.system_area_code).name(lang)
        place = _("System area %(name)s", name=area)
    else:
        place = _("Whole region")
    parts = [place]
    if version.channel:
        parts.append(channel_label(version.channel))
    if version.service_area_code:
        parts.append(kept.get(ServiceArea, version.service_area_code).name(lang))
    if version.topic:
        parts.append(_("topic %(topic)s", topic=topic_label(version.topic)))
    return " · ".join(parts)


def validity(version) -> str:
    start = day(version.valid_from) if version.valid_from else None
    end = day(version.valid_to - timedelta(days=1)) if version.valid_to else None
    if start and end:
        return _("%(start)s–%(end)s", start=start, end=end)
    if start:
        return _("from %(start)s", start=start)
    if end:
        return _("until %(end)s", end=end)
    return _("always")


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        markdown=lambda text: Markup(render(text)),  # noqa: S704 (sanitised by nh3)
        instruction_scope=instruction_scope,
        validity=validity,
    )
    app.jinja_env.filters["format_placeholder"] = lambda name: "{" + name + "}"
    # An end date is exclusive; people read the last day it still holds.
    app.jinja_env.filters["last_day"] = lambda end: day(end - timedelta(days=1))
