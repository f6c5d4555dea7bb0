"""The kept counts' upkeep (desk.work.counts): folding each key's rows into one, and the
periodic reconciliation with a full count that logs any drift.

Run by the scheduler (FOLD_SECONDS and RECONCILE_SECONDS) with Redis, and by the embedded
default's own thread (desk.tasks.outbound.Courier) without it; the training space's database
is kept the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import utcnow
from ..training.spaces import TRAINING
from ..work import counts


def _each_space(
    work: Callable[[Session], int], afterwards: Callable[[Engine], None] | None = None
) -> int:
    total = 0
    spaces = [(db.session, db.engine)]
    if TRAINING in db.engines:
        spaces.append((Session(db.engines[TRAINING]), db.engines[TRAINING]))
    for session, engine in spaces:
        try:
            total += work(session)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            if session is not db.session:
                session.close()
        if afterwards is not None:
            afterwards(engine)
    return total


def fold_counts() -> int:
    """Fold the kept counts' rows, and clear what the fold deleted; returns how many rows
    were folded."""
    return _each_space(lambda session: counts.fold(session, utcnow()), counts.clear_folded)


def reconcile_counts() -> int:
    """Compare the kept counts with a full count and correct any drift (each is logged as
    an error); returns how many keys had drifted."""
    return _each_space(lambda session: len(counts.reconcile(session, utcnow())))
