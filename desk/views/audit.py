"""The access log for auditors: who looked at which resident's data, searchable (by resident,
professional, item and time), and a resident's whole log exported to answer their request
(CSV and JSON, times in Finnish time with their offset). Read only: the app has no way to
change or remove a row, and the database refuses to. Auditors open no item (desk/policy.py):
an item's number leads to every look at that item instead."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..guidance.instructions import HELSINKI
from ..i18n import language
from ..inbound.deadlines import parse_day
from ..models import AccessLog, AccessPurpose, Municipality, Queue, Role, WorkItem
from ..pid import problem
from ..security import me, roles_required
from ..work.access import record_access
from .downloads import csv_download
from .guard import cursor, database_id

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE = 100
COLUMNS = (
    "at",
    "username",
    "display_name",
    "role",
    "purpose",
    "item_id",
    "resident_id",
    "queue_code",
    "municipality_code",
)


#: the exports' times are Finnish time, with the offset in each value (2026-12-04T23:11:05+02:00)
TIME_ZONE = "Europe/Helsinki"
#: the CSV's header says so in the first column's name
CSV_HEADER = (f"at ({TIME_ZONE})", *COLUMNS[1:])


def _day(name: str) -> date | None:
    try:
        return parse_day(request.args.get(name, ""))
    except ValueError:
        return None


def _search() -> tuple[dict, dict[str, str]]:
    """The search fields, and what is wrong with them."""
    problems: dict[str, str] = {}
    resident = request.args.get("resident", "").strip().upper()
    if resident and problem(resident):
        problems["resident"] = _("This is not a valid personal identity code.")
    professional = request.args.get("professional", "").strip()
    item = request.args.get("item", "").strip()
    if item and database_id(item) is None:
        problems["item"] = _("Give the item's number (digits only).")
    start, end = _day("from"), _day("to")
    for name, value in (("from", start), ("to", end)):
        if request.args.get(name) and value is None:
            problems[name] = _("Give a date (yyyy-mm-dd).")
    fields = {
        "resident": resident,
        "professional": professional,
        "item": database_id(item),
        "from": start,
        "to": end,
    }
    return fields, problems


def _query(fields: dict):
    query = select(AccessLog)
    if fields["resident"]:
        query = query.where(AccessLog.resident_id == fields["resident"])
    if fields["professional"]:
        query = query.where(AccessLog.username == fields["professional"])
    if fields.get("item"):
        query = query.where(AccessLog.item_id == fields["item"])
    if fields["from"]:
        query = query.where(AccessLog.at >= datetime.combine(fields["from"], time(), HELSINKI))
    if fields["to"]:
        end = datetime.combine(fields["to"] + timedelta(days=1), time(), HELSINKI)
        query = query.where(AccessLog.at < end)
    return query.order_by(AccessLog.id.desc())


@bp.get("")
@roles_required(Role.AUDITOR)
def index():
    """Search the log by resident, professional and time."""
    fields, problems = _search()
    searched = any(fields.values()) and not problems
    rows, more = [], False
    if searched:
        query = _query(fields)
        if (before := cursor("before")) is not None:
            query = query.where(AccessLog.id < before)
        rows = list(db.session.scalars(query.limit(PAGE + 1)))
        more = len(rows) > PAGE
        rows = rows[:PAGE]
        if fields["resident"]:
            # Looking up a resident's log is itself a look at their data.
            record_access(db.session, me(), AccessPurpose.AUDIT, resident_id=fields["resident"])
            db.session.commit()
        elif fields["item"] and (item := db.session.get(WorkItem, fields["item"])) is not None:
            # So is an item's: it names the item's resident.
            record_access(db.session, me(), AccessPurpose.AUDIT, item=item)
            db.session.commit()
    status = 422 if problems else 200
    older = {k: v for k, v in request.args.items() if k != "before" and v}
    older_url = url_for("audit.index", **older, before=rows[-1].id) if more else None
    return (
        render_template(
            "audit/index.html",
            fields=fields,
            problems=problems,
            searched=searched,
            rows=rows,
            more=more,
            older_url=older_url,
            queue_name=_names(Queue),
            municipality_name=_names(Municipality),
        ),
        status,
    )


def _names(model):
    """Code → name in the interface language, for a log that keeps the codes (a code no longer
    known is shown as it is)."""
    lang = language()
    names = {row.code: row.name(lang) for row in db.session.scalars(select(model))}
    return lambda code: names.get(code, code)


def _resident_rows() -> tuple[str, list[AccessLog]] | None:
    resident = request.args.get("resident", "").strip().upper()
    if not resident or problem(resident):
        return None
    fields = {"resident": resident, "professional": "", "item": None, "from": None, "to": None}
    rows = list(db.session.scalars(_query(fields)))
    record_access(db.session, me(), AccessPurpose.AUDIT, resident_id=resident)
    db.session.commit()
    return resident, rows


def _value(row: AccessLog, column: str):
    """A cell of an export: a time in Finnish time with its offset, as on the screen."""
    value = getattr(row, column)
    if isinstance(value, datetime):
        return value.astimezone(HELSINKI).isoformat(timespec="seconds")
    return value


@bp.get("/export.csv")
@roles_required(Role.AUDITOR)
def export_csv():
    """A resident's whole access log as CSV (UTF-8 with BOM, so spreadsheets read it right)."""
    found = _resident_rows()
    if found is None:
        return _("Give a valid personal identity code."), 400
    resident, rows = found
    return csv_download(
        f"access-log-{resident}.csv",
        list(CSV_HEADER),
        ([_value(row, c) for c in COLUMNS] for row in rows),
    )


@bp.get("/export.json")
@roles_required(Role.AUDITOR)
def export_json():
    """A resident's whole access log as JSON."""
    found = _resident_rows()
    if found is None:
        return _("Give a valid personal identity code."), 400
    resident, rows = found
    document = {
        "resident": resident,
        "exported_at": datetime.now(HELSINKI).isoformat(timespec="seconds"),
        "time_zone": TIME_ZONE,
        "entries": [{c: _value(row, c) for c in COLUMNS} for row in rows],
    }
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="access-log-{resident}.json"'},
    )
