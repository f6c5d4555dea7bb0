"""Factories for test data: users with queues and scopes, items as routing would make them."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from desk.channels import DEFAULT_CHANNELS, Registry
from desk.config import LANGUAGES
from desk.models import Municipality, Queue, User, WorkItem, utcnow
from desk.reference import municipality_codes

_seq = itertools.count(1)
PASSWORD = "correct horse battery"
_HASH = generate_password_hash(PASSWORD)


def make_user(
    session: Session,
    *,
    role: str = "professional",
    queues: list[str] | None = ("chat-regional", "omaolo-porvoo"),
    municipalities: list[str] | None = None,
    name: str | None = None,
    language: str = "fi",
) -> User:
    """A user; `municipalities=None` means all seven."""
    n = next(_seq)
    user = User(
        username=f"user{n}",
        display_name=name or f"Professional {n}",
        role=role,
        language=language,
        password_hash=_HASH,
    )
    user.queues = list(session.scalars(select(Queue).where(Queue.code.in_(queues or []))))
    query = select(Municipality)
    if municipalities is not None:
        query = query.where(Municipality.code.in_(municipalities))
    user.municipalities = list(session.scalars(query))
    session.add(user)
    session.flush()
    return user


def make_item(
    session: Session,
    *,
    queue: str = "chat-regional",
    title: str | None = None,
    submitted_at: datetime | None = None,
    due_in: timedelta | None = None,
    emergency: bool = False,
    municipality: str | None = None,
    channel: str = "chat",
    personal_id: str | None = None,
    content: dict | None = None,
) -> WorkItem:
    """An open, unassigned item in `queue`."""
    n = next(_seq)
    now = utcnow()
    q = session.get(Queue, queue)
    item = WorkItem(
        channel=channel,
        external_id=f"test-{n}",
        title=title or f"Item {n}",
        queue=q,
        service_area_code=q.service_area_code,
        submitted_at=submitted_at or now - timedelta(minutes=n),
        due_at=now + due_in if due_in is not None else None,
        emergency=emergency,
        municipality_code=municipality,
        identification="strong" if personal_id else "none",
        personal_id=personal_id,
        content=content
        or {"conversation": [{"sender": "resident", "sent_at": now.isoformat(), "text": "Hei"}]},
    )
    session.add(item)
    session.flush()
    return item


def p0_delivery(external_id: str) -> dict:
    """An anonymous Omaolo P0 (chest pain) for Sipoo, submitted now, as the API receives it."""
    return {
        "external_id": external_id,
        "submitted_at": utcnow().isoformat(),
        "municipality": "sipoo",
        "resident": {"identification": "none"},
        "assessment": {
            "kind": "symptom",
            "code": "chest-pain",
            "title": "Rintakipu",
            "urgency": "P0",
            "recommendation": "Soita 112.",
        },
    }


#: the default channels, as the app's registry has them (for tests of the domain without an app)
CHANNELS = Registry(DEFAULT_CHANNELS, municipalities=municipality_codes(), languages=LANGUAGES)
