"""Finding an item: by its number, by the resident's personal identity code, or by words of
its title or the resident's name. No Flask here.

- An item number (`123` or `#123`) and a personal identity code find open and resolved items
  alike: a resident who calls about last week's form is found by their code.
- Words find open items only, in the contract's order. Searching the whole history by name
  would let anyone browse residents' past matters; the code is the way to those.
- Only what the user may see is ever found (`access.visible_to`), and results that tie an
  identified resident to an item are written to the access log by the caller (`logged`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import OPEN_STATUSES, User, WorkItem
from ..pid import problem as pid_problem
from .access import visible_to
from .lifecycle import work_order

LIMIT = 50
MIN_WORDS = 3
_NUMBER = re.compile(r"#?(\d{1,9})")


@dataclass(frozen=True)
class Query:
    #: "number", "pid", "words", or "short" (too few characters to search by)
    kind: str
    value: str


def parse(text: str) -> Query | None:
    """What the user typed, understood; None for nothing."""
    text = " ".join(text.split())
    if not text:
        return None
    if match := _NUMBER.fullmatch(text):
        return Query("number", match.group(1))
    if pid_problem(text.upper()) is None:
        return Query("pid", text.upper())
    if len(text) < MIN_WORDS:
        return Query("short", text)
    return Query("words", text[:100])


def _like(words: str) -> str:
    """A LIKE pattern that finds the words as they are (% and _ are text, not wildcards)."""
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find(session: Session, user: User, query: Query, limit: int = LIMIT) -> list[WorkItem]:
    """The items the query finds among those `user` may see: at most `limit`."""
    base = select(WorkItem).where(visible_to(user))
    if query.kind == "number":
        found = base.where(WorkItem.id == int(query.value))
    elif query.kind == "pid":
        found = base.where(WorkItem.personal_id == query.value).order_by(
            WorkItem.submitted_at.desc(), WorkItem.id.desc()
        )
    elif query.kind == "words":
        pattern = _like(query.value)
        found = base.where(
            WorkItem.status.in_(OPEN_STATUSES),
            or_(
                WorkItem.title.ilike(pattern, escape="\\"),
                WorkItem.resident_name.ilike(pattern, escape="\\"),
            ),
        ).order_by(*work_order())
    else:
        return []
    return list(session.scalars(found.limit(limit)))


def residents_other_items(session: Session, user: User, item: WorkItem) -> list[WorkItem]:
    """The identified resident's other items that `user` may see, newest first (each a look
    at the resident's data, for the access log); none for an anonymous resident."""
    if not item.personal_id:
        return []
    found = find(session, user, Query("pid", item.personal_id), limit=LIMIT + 1)
    return [other for other in found if other.id != item.id][:LIMIT]


def logged(query: Query, items: list[WorkItem]) -> list[WorkItem]:
    """The found items whose identified resident the result names or points at: all found by
    the personal identity code, and those found by the resident's name. Each is a look at the
    resident's data, for the access log."""
    if query.kind == "pid":
        return [item for item in items if item.personal_id]
    if query.kind == "words":
        words = query.value.casefold()
        return [
            item
            for item in items
            if item.personal_id and words in (item.resident_name or "").casefold()
        ]
    return []
