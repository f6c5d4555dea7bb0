"""The reference tables as this process last read them, kept while they have not changed.

Queues, municipalities, system areas (and which municipalities belong to them, when), service
areas, outcome codes, instructions, the service matrix and the response templates are read on
every item page and change a few times a year.
Reading them whole cost the item page eight statements and the building of a few hundred
objects on every request.
Now each process keeps what it read, with the reference tables' generation at that moment
(`ReferenceGeneration`, moved by triggers with every statement that changes them: migration
0036), and a request asks only for the generation: one statement of one row. Another value
means a change, from whatever process or hand made it, and the tables are read again.

What is kept are the ORM's objects, detached from any session: read them, never change them.
Nothing not loaded may be reached from them (an instruction version's author is not: reaching
it raises). They are read with the request's own connection, so inside the transaction that
changes a table, that transaction's own change is what is read (and kept under the new value
its trigger gave; a rollback leaves that value unused for ever). Plain Python; no Flask."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, raiseload, selectinload

from .models import (
    DigitalService,
    Instruction,
    InstructionVersion,
    Municipality,
    OutcomeCode,
    Queue,
    ReferenceGeneration,
    ResponseTemplate,
    ServiceArea,
    SystemArea,
    SystemAreaMembership,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Reference:
    """The reference tables at one generation."""

    generation: int | None
    #: every queue, by code
    queues: tuple[Queue, ...]
    #: every outcome code, in its position
    outcomes: tuple[OutcomeCode, ...]
    #: every municipality, by code
    municipalities: tuple[Municipality, ...]
    #: every instruction's versions, oldest first, instructions by id
    instructions: tuple[tuple[InstructionVersion, ...], ...]
    #: the service matrix: every digital service, by municipality and id
    services: tuple[DigitalService, ...]
    #: every response template (the inactive too), by id
    templates: tuple[ResponseTemplate, ...]
    system_areas: tuple[SystemArea, ...]
    #: the municipalities' memberships of system areas, the latest beginning first
    memberships: tuple[SystemAreaMembership, ...]
    service_areas: tuple[ServiceArea, ...]

    @cached_property
    def _by_code(self) -> dict[tuple[type, str], object]:
        kinds = (self.queues, self.municipalities, self.system_areas, self.service_areas)
        return {(type(row), row.code): row for rows in kinds for row in rows}

    def get(self, model: type, code: str):
        """The kept queue, municipality, system area or service area (`model`) of `code`;
        None when there is none."""
        return self._by_code.get((model, code))

    #: at most this many answers are remembered (`worked_out`); then they start again
    MOST_REMEMBERED = 4096

    @cached_property
    def _worked_out(self) -> dict[tuple, object]:
        return {}

    def worked_out(self, key: tuple, work: Callable[[], T]) -> T:
        """What `work()` gives, worked out once for `key` from these tables: they never change
        (a change is another generation, another `Reference`). The item page's instructions,
        services and templates for the same municipality, channel and day are the same for
        every item (the caller's key says everything the answer depends on besides the
        tables). Never change what it gives."""
        answers = self._worked_out
        try:
            return answers[key]
        except KeyError:
            if len(answers) >= self.MOST_REMEMBERED:
                answers.clear()
            answer = answers[key] = work()
            return answer


_kept: weakref.WeakKeyDictionary[Engine, Reference] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


#: built once: every page asks it, and building it afresh (its cache key worked out again)
#: cost half its CPU. Asked through the ORM, so that the session's pending changes are
#: flushed first and their triggers have moved the generation.
_GENERATION = select(ReferenceGeneration.n).where(ReferenceGeneration.id == 1)


def generation(session: Session) -> int | None:
    return session.scalar(_GENERATION)


def reference(session: Session) -> Reference:
    """The reference tables as they stand for `session`'s transaction."""
    engine = session.get_bind()
    now = generation(session)
    if now is None:  # no generation to trust (its row is gone): read, keep nothing
        return _read(session, now)
    kept = _kept.get(engine)
    if kept is not None and kept.generation == now:
        return kept
    kept = _read(session, now)
    with _lock:
        _kept[engine] = kept
    return kept


def _read(session: Session, now: int | None) -> Reference:
    # A session of its own on the request's connection: the same transaction, its own
    # identity map, so the request's objects are neither shared nor detached.
    with Session(bind=session.connection()) as own:
        reference = Reference(
            generation=now,
            queues=tuple(own.scalars(select(Queue).order_by(Queue.code))),
            outcomes=tuple(own.scalars(select(OutcomeCode).order_by(OutcomeCode.position))),
            municipalities=tuple(own.scalars(select(Municipality).order_by(Municipality.code))),
            instructions=tuple(
                tuple(instruction.versions)
                for instruction in own.scalars(
                    select(Instruction)
                    .order_by(Instruction.id)
                    .options(
                        selectinload(Instruction.versions).options(
                            raiseload(InstructionVersion.author),
                            raiseload(InstructionVersion.instruction),
                        )
                    )
                )
            ),
            services=tuple(
                own.scalars(
                    select(DigitalService).order_by(
                        DigitalService.municipality_code, DigitalService.id
                    )
                )
            ),
            templates=tuple(own.scalars(select(ResponseTemplate).order_by(ResponseTemplate.id))),
            system_areas=tuple(own.scalars(select(SystemArea).order_by(SystemArea.code))),
            memberships=tuple(
                own.scalars(
                    select(SystemAreaMembership).order_by(
                        SystemAreaMembership.valid_from.desc(), SystemAreaMembership.id
                    )
                )
            ),
            service_areas=tuple(own.scalars(select(ServiceArea).order_by(ServiceArea.code))),
        )
        own.expunge_all()
    return reference
