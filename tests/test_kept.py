"""The reference tables kept per process (desk.kept): read again after any change to them,
however it was made, and only then; never what a rolled-back change made."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from desk import kept
from desk.models import InstructionVersion, OutcomeCode, Queue


def _names(reference: kept.Reference) -> dict[str, str]:
    return {q.code: q.name_fi for q in reference.queues}


def test_the_tables_are_kept_until_a_statement_changes_them(session):
    first = kept.reference(session)
    assert first.queues and first.outcomes and first.municipalities and first.instructions
    assert first.services and first.templates
    assert kept.reference(session) is first, "nothing changed: what was read is kept"

    code = first.queues[0].code
    # A statement of plain SQL, as a hand at the database prompt would write it.
    session.execute(text("UPDATE queue SET name_fi = 'Uusi nimi' WHERE code = :c"), {"c": code})
    again = kept.reference(session)
    assert again.generation != first.generation
    assert _names(again)[code] == "Uusi nimi"
    assert kept.reference(session) is again


def test_what_a_rolled_back_change_made_is_never_taken_for_a_later_one(session):
    code = kept.reference(session).queues[0].code
    before = _names(kept.reference(session))[code]

    savepoint = session.begin_nested()
    session.execute(update(Queue).where(Queue.code == code).values(name_fi="Peruttu"))
    assert _names(kept.reference(session))[code] == "Peruttu", "the transaction's own change"
    savepoint.rollback()

    # Another change, later, before anything is read again: its generation is a new one, not
    # the rolled-back change's, under which that change is still kept.
    session.execute(update(OutcomeCode).values(name_sv=OutcomeCode.name_sv + " "))
    after = kept.reference(session)
    assert _names(after)[code] == before
    assert all(o.name_sv.endswith(" ") for o in after.outcomes)


def test_a_change_committed_by_another_process_is_read_at_the_next_request(committed):
    with Session(committed) as reader:
        first = kept.reference(reader)
        reader.commit()
    instruction_id = first.instructions[0][0].instruction_id
    with Session(committed) as editor:  # another process's session, as far as kept can tell
        latest = editor.scalar(
            select(InstructionVersion)
            .where(InstructionVersion.instruction_id == instruction_id)
            .order_by(InstructionVersion.number.desc())
        )
        editor.add(
            InstructionVersion(
                instruction_id=instruction_id,
                number=latest.number + 1,
                kind=latest.kind,
                title_fi="Uusi versio",
                title_sv="Ny version",
                body_fi="Teksti",
                body_sv="Text",
                valid_from=date(2026, 1, 1),
            )
        )
        editor.commit()
    with Session(committed) as reader:
        now = kept.reference(reader)
        versions = next(v for v in now.instructions if v[0].instruction_id == instruction_id)
        assert versions[-1].title_fi == "Uusi versio"
        assert now.generation != first.generation


def test_without_its_generation_row_nothing_is_kept(session):
    session.execute(text("DELETE FROM reference_generation"))
    code = kept.reference(session).queues[0].code
    assert kept.reference(session) is not kept.reference(session)
    session.execute(update(Queue).where(Queue.code == code).values(name_fi="Ilman riviä"))
    assert _names(kept.reference(session))[code] == "Ilman riviä"


def test_what_is_worked_out_from_the_tables_is_worked_out_again_after_a_change(session):
    """The item page's instructions, services and templates per municipality and day are
    worked out once from the kept tables, and afresh from the tables after a change."""
    from desk.guidance import item_services
    from desk.models import DigitalService, utcnow
    from tests.factories import make_item

    porvoo = make_item(session, queue="omaolo-porvoo", municipality="porvoo")
    sipoo = make_item(session, queue="omaolo-sipoo", municipality="sipoo")
    now = utcnow()
    first = kept.reference(session)
    mine = item_services(session, porvoo, now, first)
    assert item_services(session, porvoo, now, first) is mine, "worked out once"
    assert item_services(session, sipoo, now, first) is not mine, "for its municipality"
    names = {s.name for services in mine.values() for s in services}

    session.add(DigitalService(municipality_code="porvoo", kind="self_booking", name="Uusi"))
    session.flush()
    again = kept.reference(session)
    assert again is not first
    assert {s.name for ss in item_services(session, porvoo, now, again).values() for s in ss} == {
        *names,
        "Uusi",
    }
