"""Reports for team leads: a period's arrivals, resolutions, backlog, times, deadlines and
the digital share against the region's 2025 target, compared with the period before; one row
per item as CSV; the import of TeleQ's phone statistics; and the region's three 2025 targets
month by month (with their CSV, a printable page, the import of other contacts and care, and
the residents' comments on their satisfaction answers)."""

from __future__ import annotations

from datetime import date, timedelta

from babel.dates import format_date
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from .. import reports
from ..extensions import channel_registry, db
from ..formats import sort_key
from ..guidance.instructions import day_in_finland
from ..i18n import FORMATS, duration, language
from ..inbound.deadlines import parse_day
from ..models import (
    ItemEvent,
    ItemMessage,
    Municipality,
    OutcomeCode,
    Queue,
    ResponseTemplate,
    WorkItem,
    utcnow,
)
from ..policy import EDITORS
from ..reports import charts
from ..reports import targets as measured
from ..security import me, roles_required
from ..work.access import load_comments_for_display
from .downloads import csv_download

bp = Blueprint("reports", __name__, url_prefix="/reports")
MAX_DAYS = 366
#: a day on the chart's axis, short: "1.12." (Finnish, Finland-Swedish), "1 Dec" (English)
AXIS_DAY = {"fi": "d.M.", "sv": "d.M.", "en": "d MMM"}


def target_label(key: str) -> str:
    return {
        "digital_first_line": _("Digital share of first-line contacts (phone calls the rest)"),
        "digital_other": _("Digital share of other contacts and care"),
        "satisfied": _("Residents satisfied (or a net promoter score of 50)"),
    }.get(key, key)


def missing_label(key: str | None) -> str:
    return {
        "phone_calls": _("Not measured: import TeleQ's callback statistics for the period below."),
        "other_contacts": _("Measured by month: see the region's targets."),
        "satisfaction": _("Measured by month: see the region's targets."),
    }.get(key or "", "")


def _period() -> tuple[date, date, str | None]:
    """[start, end) from the form's inclusive dates; the current month so far by default."""
    today = day_in_finland(utcnow())
    try:
        start = parse_day(request.args.get("from", ""))
        last = parse_day(request.args.get("to", ""))
    except ValueError:
        if request.args.get("from") or request.args.get("to"):
            problem = _("Give the dates as yyyy-mm-dd.")
        else:
            problem = None
        return today.replace(day=1), today + timedelta(days=1), problem
    if last < start:
        return start, start + timedelta(days=1), _("The end must come after the start.")
    if (last - start).days >= MAX_DAYS:
        return start, start + timedelta(days=MAX_DAYS), _("At most a year at a time.")
    return start, last + timedelta(days=1), None


@bp.get("")
@roles_required(*EDITORS)
def index():
    start, end, problem = _period()
    if problem:
        flash(problem, "error")
    channels = channel_registry()
    report = reports.build(
        db.session, start, end, phone_channels=[c.name for c in channels if not c.digital]
    )
    topics = getattr(channels.get("callback"), "topic_labels", {})
    before = reports.headline(db.session, *reports.previous(start, end))
    lang = language()
    names = {
        "queues": {q.code: q.name(lang) for q in db.session.scalars(select(Queue))},
        "municipalities": {m.code: m.name(lang) for m in db.session.scalars(select(Municipality))},
        "outcomes": {o.code: o.name(lang) for o in db.session.scalars(select(OutcomeCode))},
        "templates": {t.id: t.title(lang) for t in db.session.scalars(select(ResponseTemplate))},
    }
    days = report.days
    chart = charts.daily_bars(
        days, [[report.by_day[d][0] for d in days], [report.by_day[d][1] for d in days]]
    )
    busiest = max(days, key=lambda d: report.by_day[d][0], default=None)
    return render_template(
        "reports/index.html",
        report=report,
        before=before,
        names=names,
        last_day=end - timedelta(days=1),
        one_day=timedelta(days=1),
        target=reports.DIGITAL_SHARE_TARGET,
        chart=chart,
        busiest=busiest,
        axis_day=lambda d: format_date(d, AXIS_DAY[lang], locale=FORMATS[lang]),
        target_label=target_label,
        missing_label=missing_label,
        duration_minutes=lambda value: duration(timedelta(minutes=float(value))),
        lambda_municipality=lambda code: names["municipalities"].get(code, _("Not given")),
        lambda_queue=lambda code: names["queues"].get(code, code),
        topic_label=lambda code: _(topics[code]) if code in topics else code or _("Not given"),
    )


@bp.get("/items.csv")
@roles_required(*EDITORS)
def items_csv():
    """One row per item that arrived in the period (no resident data), for a spreadsheet."""
    start, end, _problem = _period()
    begin, finish = reports.start_of_day_utc(start), reports.start_of_day_utc(end)
    arrival = aliased(ItemEvent)
    rows = db.session.execute(
        select(
            WorkItem.id,
            WorkItem.channel,
            WorkItem.municipality_code,
            arrival.to_queue_code,
            WorkItem.queue_code,
            WorkItem.emergency,
            WorkItem.urgency,
            WorkItem.created_at,
            WorkItem.first_action_at,
            WorkItem.resolved_at,
            WorkItem.due_at,
            WorkItem.outcome_code,
            select(func.count())
            .where(ItemMessage.item_id == WorkItem.id, ItemMessage.outgoing.is_(True))
            .scalar_subquery(),
        )
        .join(arrival, (arrival.item_id == WorkItem.id) & (arrival.kind == "routed"))
        .where(WorkItem.created_at >= begin, WorkItem.created_at < finish)
        .order_by(WorkItem.created_at, WorkItem.id)
    )
    header = [
        "item_id",
        "channel",
        "municipality",
        "first_queue",
        "queue",
        "emergency",
        "urgency",
        "arrived",
        "first_action",
        "resolved",
        "due",
        "first_action_by_due",
        "resolved_by_due",
        "outcome",
        "messages_to_resident",
    ]
    name = f"items-{start.isoformat()}-{(end - timedelta(days=1)).isoformat()}.csv"
    return csv_download(name, header, (_item_row(row) for row in rows))


def _item_row(row) -> list:
    arrived, first_at, resolved, due = (
        reports.as_utc(v) if v else None for v in (row[7], row[8], row[9], row[10])
    )
    return [
        row[0],
        row[1],
        row[2] or "",
        row[3],
        row[4],
        int(row[5]),
        row[6] or "",
        _iso(arrived),
        _iso(first_at),
        _iso(resolved),
        _iso(due),
        "" if due is None else int(bool(first_at and first_at <= due)),
        "" if due is None else int(bool(resolved and resolved <= due)),
        row[11] or "",
        row[12],
    ]


def _iso(moment) -> str:
    return moment.astimezone(reports.HELSINKI).isoformat(timespec="minutes") if moment else ""


@bp.post("/phone-calls")
@roles_required(*EDITORS)
def phone_calls():
    """Import TeleQ's callback statistics (CSV: date;municipality;calls)."""
    text, rows = _uploaded()
    stored, problems = reports.import_phone_calls(
        db.session, text, reports.municipality_names(rows)
    )
    if problems or not stored:
        db.session.rollback()
        _refuse_import(problems, rows)
    else:
        db.session.commit()
        flash(
            ngettext(
                "%(num)d day of phone calls imported.",
                "%(num)d days of phone calls imported.",
                stored,
            ),
            "success",
        )
    return _back("reports.targets" if request.form.get("back") == "targets" else "reports.index")


def _uploaded() -> tuple[str, list]:
    """The uploaded file's text, and the municipalities (code and names) it may name."""
    upload = request.files.get("file")
    text = upload.read().decode("utf-8-sig", errors="replace") if upload else ""
    rows = db.session.execute(
        select(Municipality.code, Municipality.name_fi, Municipality.name_sv, Municipality.name_en)
    ).all()
    return text, rows


def _refuse_import(problems: list[reports.LineProblem], rows) -> None:
    """Say that nothing was imported, and the first lines that were wrong and why."""
    column = {"fi": 1, "sv": 2, "en": 3}.get(language(), 1)
    names = sorted((row[column] for row in rows), key=lambda name: sort_key(name, language()))
    municipalities = ", ".join(names)
    said = [_problem_text(p, municipalities) for p in problems[:10]]
    if len(problems) > 10:
        more = len(problems) - 10
        said.append(ngettext("and %(num)d more line", "and %(num)d more lines", more))
    flash(
        _(
            "Nothing was imported. Check these lines: %(lines)s",
            lines="; ".join(said) or _("the file is empty"),
        ),
        "error",
    )


def _back(endpoint: str):
    """Back to the report as it was filtered; url_for's own arguments (endpoint, _anchor, …)
    are never taken from the address."""
    kept = {k: v for k, v in request.args.items() if k != "endpoint" and not k.startswith("_")}
    return redirect(url_for(endpoint, **kept))


def _problem_text(problem: reports.LineProblem, municipalities: str) -> str:
    """What is wrong with a line of an import, and what is expected instead."""
    if problem.kind == "month":
        return _(
            "line %(n)d: “%(value)s” is not a month; write it as 2026-10 or 10/2026",
            n=problem.line,
            value=problem.value,
        )
    if problem.kind == "mode":
        return _(
            "line %(n)d: “%(value)s” is not a mode of contact; write in_person, phone, remote "
            "or digital (or lähikäynti, puhelin, etävastaanotto, viesti)",
            n=problem.line,
            value=problem.value,
        )
    if problem.kind == "contacts":
        return _(
            "line %(n)d: “%(value)s” is not a number of contacts; write a whole number",
            n=problem.line,
            value=problem.value,
        )
    if problem.kind == "care_columns":
        return _(
            "line %(n)d: four fields expected, month;municipality;mode;contacts (“%(value)s”)",
            n=problem.line,
            value=problem.value,
        )
    if problem.kind == "date":
        return _(
            "line %(n)d: “%(value)s” is not a day; write it as 2026-10-01 or 1.10.2026",
            n=problem.line,
            value=problem.value,
        )
    if problem.kind == "municipality":
        return _(
            "line %(n)d: “%(value)s” is not one of the region's municipalities (%(names)s; "
            "by name or code)",
            n=problem.line,
            value=problem.value,
            names=municipalities,
        )
    if problem.kind == "calls":
        return _(
            "line %(n)d: “%(value)s” is not a number of calls; write a whole number",
            n=problem.line,
            value=problem.value,
        )
    return _(
        "line %(n)d: three fields expected, date;municipality;calls (“%(value)s”)",
        n=problem.line,
        value=problem.value,
    )


# --- the region's targets ----------------------------------------------------------------

#: a month on the targets' axis and in their tables: "10/2026", "Oct 2026"
AXIS_MONTH = {"fi": "M/yyyy", "sv": "M/yyyy", "en": "MMM yyyy"}
#: at most this many months at a time
MAX_MONTHS = 24
#: comments per page, and the score a "low" one has at most (a detractor's)
COMMENTS_PAGE = 50
LOW_SCORE = 6
#: the furthest page of comments asked for (a larger number is this one: no offset overflows)
MAX_PAGE = 10_000


def _month_arg(text: str) -> date:
    year, _dash, month = text.strip().partition("-")
    if not (len(year) == 4 and year.isdigit() and month.isdigit() and 1 <= int(month) <= 12):
        raise ValueError(text)
    return date(int(year), int(month), 1)


def _months() -> tuple[date, date, str | None]:
    """The months asked for (`from` and `to` as yyyy-mm, both included); the twelve months up
    to this one when none are given."""
    this = day_in_finland(utcnow()).replace(day=1)
    year, month = divmod(this.year * 12 + this.month - 1 - 11, 12)
    default = (date(year, month + 1, 1), this)
    asked = request.args.get("from", ""), request.args.get("to", "")
    if not any(asked):
        return *default, None
    try:
        first, last = (_month_arg(text) for text in asked)
    except ValueError:
        return *default, _("Give the months as yyyy-mm, for example 2026-10.")
    if last < first:
        return first, first, _("The end must come after the start.")
    months = measured.months_between(first, last)
    if len(months) > MAX_MONTHS:
        return first, months[MAX_MONTHS - 1], _("At most two years at a time.")
    return first, last, None


def _period_args(first: date, last: date) -> dict[str, str]:
    """The months as the address gives them."""
    return {"from": first.strftime("%Y-%m"), "to": last.strftime("%Y-%m")}


def _municipality_names() -> dict[str, str]:
    lang = language()
    return {m.code: m.name(lang) for m in db.session.scalars(select(Municipality))}


def _targets_figures() -> tuple[measured.Targets, dict[str, str]]:
    first, last, problem = _months()
    if problem:
        flash(problem, "error")
    municipalities = _municipality_names()
    phone = [c.name for c in channel_registry() if not c.digital]
    figures = measured.build(db.session, first, last, municipalities, phone)
    db.session.commit()  # the ended months' arrivals, counted once
    return figures, municipalities


def _targets_page(printable: bool):
    figures, municipalities = _targets_figures()
    lang = language()
    ordered = sorted(municipalities, key=lambda code: sort_key(municipalities[code], lang))
    phone_channels = {c.name for c in channel_registry() if not c.digital}

    def month_name(month: date) -> str:
        return format_date(month, "LLLL yyyy", locale=FORMATS[lang])

    queues = {q.code: q.name(lang) for q in db.session.scalars(select(Queue))}
    return render_template(
        "reports/targets.html",
        figures=figures,
        printable=printable,
        municipalities=ordered,
        municipality_names=municipalities,
        municipality_list=lambda codes: (
            _("all municipalities")
            if set(codes) >= set(municipalities)
            else ", ".join(municipalities[c] for c in ordered if c in codes)
        ),
        months_text=lambda first, last: (
            month_name(first) if first == last else f"{month_name(first)} – {month_name(last)}"
        ),
        printed_at=utcnow(),
        first_line_channels=sorted(
            {c for counts in figures.contacts_by_channel.values() for c in counts} - {"phone"}
        ),
        counted_channel=lambda channel: channel not in phone_channels,
        counted_queue=lambda code: code in figures.digital_queues,
        queue_label=lambda code: queues.get(code, code),
        charts={
            m.key: charts.monthly_shares(
                figures.months, [m.cell(month).value for month in figures.months], m.threshold
            )
            for m in figures.measures
        },
        month_label=lambda month: format_date(month, AXIS_MONTH[lang], locale=FORMATS[lang]),
        month_name=month_name,
        target_label=target_label,
        verdict=measured.verdict,
        min_answers=measured.MIN_ANSWERS,
        nps_target=measured.NPS_TARGET,
        modes=measured.MODES,
        mode_label=mode_label,
        low_score=LOW_SCORE,
        period=_period_args(figures.months[0], figures.months[-1]),
    )


def mode_label(mode: str) -> str:
    return {
        "in_person": _("In person"),
        "phone": _("Phone"),
        "remote": _("Remote (video)"),
        "digital": _("Digital message"),
    }.get(mode, mode)


@bp.get("/targets")
@roles_required(*EDITORS)
def targets():
    """The region's three 2025 targets for the chosen months: met or not, month by month,
    by municipality and by channel, with where each figure comes from."""
    return _targets_page(printable=False)


@bp.get("/targets/print")
@roles_required(*EDITORS)
def targets_print():
    """The same for the steering group, on paper: no forms, no navigation."""
    return _targets_page(printable=True)


@bp.get("/targets.csv")
@roles_required(*EDITORS)
def targets_csv():
    """The targets table: one row per target, month (or the period) and municipality (or the
    region), with the figures behind each share."""
    figures, municipalities = _targets_figures()
    header = [
        "target",
        "month",
        "municipality",
        "measured",
        "digital",
        "total",
        "answers",
        "nps",
        "satisfied_share",
        "result",
    ]
    rows = []
    for measure in figures.measures:
        for month in [*figures.months, None]:
            for code in [measured.REGION, *sorted(municipalities)]:
                rows.append(_target_row(measure, month, code))
    first, last = figures.months[0], figures.months[-1]
    name = f"targets-{first.strftime('%Y-%m')}-{last.strftime('%Y-%m')}.csv"
    return csv_download(name, header, rows)


def _target_row(measure: measured.Measure, month: date | None, code: str) -> list:
    cell = measure.cell(month, code)
    met = measured.verdict(measure.key, cell)
    if cell is None or not cell.measured:
        result = "not_measured"
    elif met is None:
        result = "too_few_answers" if getattr(cell, "too_few", False) else "not_measured"
    else:
        result = "met" if met else "not_met"
    value = cell.value if cell is not None and cell.measured else None
    row = [
        measure.key,
        month.strftime("%Y-%m") if month else "period",
        code or "region",
        "" if value is None else f"{value:.4f}",
    ]
    if isinstance(cell, measured.Satisfaction):
        nps = cell.nps
        row += ["", "", cell.answers, "" if nps is None else f"{nps:.1f}", row[3]]
    else:
        measured_share = cell is not None and cell.measured
        row += [cell.digital if measured_share else "", cell.total if measured_share else ""]
        row += ["", "", ""]
    return [*row, result]


@bp.post("/care-contacts")
@roles_required(*EDITORS)
def care_contacts():
    """Import other contacts and care by month (CSV: month;municipality;mode;contacts)."""
    text, rows = _uploaded()
    stored, problems = measured.import_care_contacts(
        db.session, text, reports.municipality_names(rows)
    )
    if problems or not stored:
        db.session.rollback()
        problems = [
            reports.LineProblem(p.line, "care_columns", p.value) if p.kind == "columns" else p
            for p in problems
        ]
        _refuse_import(problems, rows)
    else:
        db.session.commit()
        flash(
            ngettext(
                "%(num)d month of a municipality's contacts and care imported.",
                "%(num)d months of municipalities' contacts and care imported.",
                stored,
            ),
            "success",
        )
    return _back("reports.targets")


@bp.get("/comments")
@roles_required(*EDITORS)
def comments():
    """The residents' comments on their satisfaction answers in the chosen months, on the
    items the lead may see, newest first; optionally the low scores only. Each is resident
    text, so each item shown is logged."""
    first, last, problem = _months()
    if problem:
        flash(problem, "error")
    low = request.args.get("low") == "1"
    try:
        page = min(max(1, int(request.args.get("page", "1"))), MAX_PAGE)
    except ValueError:
        page = 1
    begin = reports.start_of_day_utc(first)
    finish = reports.start_of_day_utc(measured.month_after(last))
    shown, more = load_comments_for_display(
        db.session,
        me(),
        begin,
        finish,
        most=LOW_SCORE if low else None,
        limit=COMMENTS_PAGE,
        offset=(page - 1) * COMMENTS_PAGE,
    )
    db.session.commit()
    lang = language()
    return render_template(
        "reports/comments.html",
        shown=shown,
        more=more,
        page=page,
        low=low,
        low_score=LOW_SCORE,
        period=_period_args(first, last),
        municipality_names=_municipality_names(),
        queue_names={q.code: q.name(lang) for q in db.session.scalars(select(Queue))},
    )
