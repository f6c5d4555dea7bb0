"""Seed content: the service matrix, the starting work instructions and response templates
(each added once; after that they are the editors')."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import DigitalService, Instruction, InstructionVersion, ResponseTemplate, utcnow
from .instructions import HELSINKI

DATA = Path(__file__).parent.parent / "data"


def _read(name: str) -> list[dict]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def load_services(session: Session) -> None:
    """Seed the service matrix once: a row already in the database (by municipality, kind,
    name and start) is the editors' and stays as they left it; one nobody has edited since it
    was seeded gets the Swedish and English names it did not have before (migration 0025)."""
    for row in _read("services.json"):
        key = {
            "municipality_code": row["municipality"],
            "kind": row["kind"],
            "name": row["name"],
            "valid_from": _date(row.get("valid_from")),
        }
        known = session.scalar(select(DigitalService).filter_by(**key))
        if known is not None:
            if known.updated_by is None:
                known.name_sv = known.name_sv or row.get("name_sv")
                known.name_en = known.name_en or row.get("name_en")
            continue
        session.add(
            DigitalService(
                **key,
                name_sv=row.get("name_sv"),
                name_en=row.get("name_en"),
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
    """Seed the response templates once. A template already in the database is the editors';
    the seed only brings what they cannot have written: the English text (migration 0025),
    and a corrected text where the template still reads exactly as a superseded seed did."""
    known = {
        t.code: t
        for t in session.scalars(select(ResponseTemplate).where(ResponseTemplate.code.is_not(None)))
    }
    for row in _read("templates.json"):
        template = known.get(row["code"])
        if template is None:
            session.add(
                ResponseTemplate(
                    code=row["code"],
                    municipality_code=row.get("municipality"),
                    channel=row.get("channel"),
                    service_area_code=row.get("service_area"),
                    **{field: row.get(field) for field in TEXTS},
                )
            )
            continue
        if template.title_en is None and template.body_en is None:
            template.title_en, template.body_en = row.get("title_en"), row.get("body_en")
        for field, old in row.get("superseded", {}).items():
            if getattr(template, field) == old:
                setattr(template, field, row[field])


TEXTS = ("title_fi", "title_sv", "title_en", "body_fi", "body_sv", "body_en")


def load(session: Session) -> None:
    """All seed content; flushes, does not commit. Safe to run again."""
    load_services(session)
    seed_instructions(session)
    seed_templates(session)
    session.flush()
