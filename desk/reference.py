"""Reference data (municipalities, system areas, queues, routing rules, outcomes), loaded
idempotently from `data/reference.json`: running it again updates rows, never duplicates them.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from .guidance import content
from .models import (
    Municipality,
    OutcomeCode,
    Queue,
    RoutingRule,
    ServiceArea,
    SystemArea,
    SystemAreaMembership,
)

REFERENCE_FILE = Path(__file__).parent / "data" / "reference.json"


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _upsert(session: Session, model, key: dict, values: dict) -> None:
    row = session.scalar(select(model).filter_by(**key))
    if row is None:
        session.add(model(**key, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)


def municipality_codes(path: Path = REFERENCE_FILE) -> list[str]:
    """The municipalities of the reference data: the ones the inbound API accepts."""
    return [row["code"] for row in json.loads(path.read_text(encoding="utf-8"))["municipalities"]]


def _calls(rule: dict) -> dict:
    """A queue's rule for calling again (desk.work.calls), or the model's defaults."""
    names = {
        "retry_minutes": "call_retry_minutes",
        "max_attempts": "call_max_attempts",
        "hours_from": "call_hours_from",
        "hours_to": "call_hours_to",
    }
    return {column: rule[key] for key, column in names.items() if key in rule}


def _names(row: dict) -> dict:
    return {k: row[k] for k in ("name_fi", "name_sv", "name_en")}


def load(session: Session, path: Path = REFERENCE_FILE) -> None:
    """Insert or update every reference row of the file; flushes, does not commit."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for row in data["municipalities"]:
        _upsert(session, Municipality, {"code": row["code"]}, _names(row))
    for row in data["system_areas"]:
        _upsert(session, SystemArea, {"code": row["code"]}, _names(row))
    for row in data["service_areas"]:
        _upsert(session, ServiceArea, {"code": row["code"]}, _names(row))
    session.flush()
    for row in data["system_area_memberships"]:
        _upsert(
            session,
            SystemAreaMembership,
            {"municipality_code": row["municipality"], "valid_from": _date(row["valid_from"])},
            {"system_area_code": row["system_area"], "valid_to": _date(row.get("valid_to"))},
        )
    for row in data["queues"]:
        _upsert(
            session,
            Queue,
            {"code": row["code"]},
            {
                "kind": row["kind"],
                "system_area_code": row["system_area"],
                "service_area_code": row["service_area"],
                "active": row.get("active", True),
                **_calls(row.get("calls") or {}),
                **_names(row),
            },
        )
    for row in data["routing_rules"]:
        _upsert(
            session,
            RoutingRule,
            {"position": row["position"], "valid_from": _date(row["valid_from"])},
            {
                "channel": row["channel"],
                "identified": row.get("identified"),
                "form_type": row.get("form_type"),
                "queue_kind": row["queue_kind"],
                "regional": row.get("regional", False),
                "valid_to": _date(row.get("valid_to")),
            },
        )
    for row in data["outcomes"]:
        _upsert(
            session,
            OutcomeCode,
            {"code": row["code"]},
            {"position": row["position"], "active": row.get("active", True), **_names(row)},
        )
    session.flush()
    if path == REFERENCE_FILE:
        # The service matrix, and the starting instructions and templates.
        content.load(session)
