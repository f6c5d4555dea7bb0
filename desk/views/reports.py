"""Reports for team leads: a period's arrivals, resolutions, backlog, times, deadlines and
the digital share against the region's 2025 target, compared with the period before; one row
per item as CSV; and the import of TeleQ's phone statistics."""

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
from ..security import roles_required
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
        "other_contacts": _(
            "Not measured here: the desk sees only its own channels, not other contacts and care."
        ),
        "satisfaction": _("Not measured here: no satisfaction survey answers reach the desk."),
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
    upload = request.files.get("file")
    text = upload.read().decode("utf-8-sig", errors="replace") if upload else ""
    rows = db.session.execute(
        select(Municipality.code, Municipality.name_fi, Municipality.name_sv, Municipality.name_en)
    ).all()
    stored, problems = reports.import_phone_calls(
        db.session, text, reports.municipality_names(rows)
    )
    if problems or not stored:
        db.session.rollback()
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
    # Back to the report as it was filtered; url_for's own arguments (endpoint, _anchor, …)
    # are never taken from the address.
    kept = {k: v for k, v in request.args.items() if k != "endpoint" and not k.startswith("_")}
    return redirect(url_for("reports.index", **kept))


def _problem_text(problem: reports.LineProblem, municipalities: str) -> str:
    """What is wrong with a line of an import, and what is expected instead."""
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
