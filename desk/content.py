"""Seed content: the service matrix, the starting work instructions and response templates
(each added once; after that they are the editors')."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from .instructions import HELSINKI
from .models import DigitalService, Instruction, InstructionVersion, ResponseTemplate, utcnow

DATA = Path(__file__).parent / "data"


def _read(name: str) -> list[dict]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def load_services(session: Session) -> None:
    """Seed the service matrix once: a row already in the database (by municipality, kind,
    name and start) is the editors' and stays as they left it."""
    for row in _read("services.json"):
        key = {
            "municipality_code": row["municipality"],
            "kind": row["kind"],
            "name": row["name"],
            "valid_from": _date(row.get("valid_from")),
        }
        if session.scalar(select(DigitalService.id).filter_by(**key)) is not None:
            continue
        session.add(
            DigitalService(
                **key,
                url=row.get("url"),
                note_fi=row.get("note_fi") or "",
                note_sv=row.get("note_sv") or "",
                valid_to=_date(row.get("valid_to")),
            )
        )


def seed_instructions(session: Session) -> None:
    known = set(session.scalars(select(Instruction.code).where(Instruction.code.is_not(None))))
    for row in _read("instructions.json"):
        if row["code"] in known:
            continue
        valid_from = _date(row["valid_from"])
        # Known since it came into force (or now, for one that starts later), so items that
        # arrived while it applied do not see it as changed.
        written = min(utcnow(), datetime.combine(valid_from, time(), HELSINKI))
        instruction = Instruction(code=row["code"], created_at=written)
        instruction.versions.append(
            InstructionVersion(
                number=1,
                kind=row["kind"],
                municipality_code=row.get("municipality"),
                system_area_code=row.get("system_area"),
                channel=row.get("channel"),
                service_area_code=row.get("service_area"),
                topic=row.get("topic"),
                title_fi=row["title_fi"],
                title_sv=row["title_sv"],
                body_fi=row["body_fi"],
                body_sv=row["body_sv"],
                valid_from=valid_from,
                valid_to=_date(row.get("valid_to")),
                created_at=written,
            )
        )
        session.add(instruction)


def seed_templates(session: Session) -> None:
    known = set(
        session.scalars(select(ResponseTemplate.code).where(ResponseTemplate.code.is_not(None)))
    )
    for row in _read("templates.json"):
        if row["code"] in known:
            continue
        session.add(
            ResponseTemplate(
                code=row["code"],
                municipality_code=row.get("municipality"),
                channel=row.get("channel"),
                service_area_code=row.get("service_area"),
                title_fi=row["title_fi"],
                title_sv=row["title_sv"],
                body_fi=row["body_fi"],
                body_sv=row["body_sv"],
            )
        )


def load(session: Session) -> None:
    """All seed content; flushes, does not commit. Safe to run again."""
    load_services(session)
    seed_instructions(session)
    seed_templates(session)
    session.flush()
