"""Receiving a delivery: store it once per (channel, external_id), whatever arrives when.

A new delivery is stored for the intake job; a repeat is a duplicate (same content), an update
(a chat that grew) or a conflict (anything else, which changes nothing).
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, TextClause, bindparam, exists, select, text
from sqlalchemy.orm import Session, scoped_session

from ..channels.base import Adapter
from ..models import ApiToken, DeliveryStatus, InboundDelivery, utcnow


class Receipt(enum.StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    UPDATED = "updated"
    CONFLICT = "conflict"
    #: the external_id was delivered by another source system: nothing of it is told
    FOREIGN = "foreign"
    #: the token it came with is no longer active: nothing is stored, nothing told
    REVOKED = "revoked"


def content_hash(payload: dict[str, Any]) -> str:
    """The same hash for the same JSON content, whatever its key order or spacing."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Received:
    """What became of a delivery: the receipt, the delivery it is stored as, and its item."""

    receipt: Receipt
    delivery_id: str
    item_id: int | None = None


#: the columns a delivery is stored with
STORED = (
    "id",
    "channel",
    "external_id",
    "received_at",
    "payload",
    "content_hash",
    "status",
    "attempts",
    "token_id",
)


def _store(*, checked: bool) -> TextClause:
    # Written once: the same statement for every delivery, only its values change. Composed
    # with the dialects' `insert(...).on_conflict_do_nothing()` it is neither cached nor
    # cheap to compile (SQLAlchemy gives it no cache key), which cost more than running it.
    # `checked`: stored only while its token is active, so that a token a process keeps
    # (`tokens.find`) is checked by the insert itself, not by a statement of its own.
    table = InboundDelivery.__table__
    columns = ", ".join(STORED)
    values = ", ".join(f":{name}" for name in STORED)
    tokens = ApiToken.__table__.name
    source = (
        f"SELECT {values} WHERE EXISTS (SELECT 1 FROM {tokens} "  # noqa: S608 (constants)
        f"WHERE {tokens}.id = :token_id AND {tokens}.revoked_at IS NULL)"
        if checked
        else f"VALUES ({values})"
    )
    return text(
        f"INSERT INTO {table.name} ({columns}) {source} "  # noqa: S608 (constants)
        "ON CONFLICT (channel, external_id) DO NOTHING RETURNING id"
    ).bindparams(*(bindparam(name, type_=table.c[name].type) for name in STORED))


_STORE = _store(checked=False)
_STORE_CHECKED = _store(checked=True)


def receive(
    session: Session,
    adapter: Adapter,
    payload: dict[str, Any],
    *,
    token_id: int | None = None,
    source: str | None = None,
) -> Received:
    """Store a valid delivery or classify it as a repeat; flushes, the caller commits.

    The insert does nothing on a conflicting (channel, external_id), so any number of
    simultaneous copies store exactly one delivery. With `token_id`, nothing is stored
    unless that token is still active (`REVOKED`). With `source`, the sending source system
    (its tokens' name, `tokens.source_token_ids`), a repeat of another system's external_id
    is `FOREIGN`: it changes nothing and learns nothing of the stored delivery.
    """
    digest = content_hash(payload)
    new_id = str(uuid.uuid4())
    inserted = _stored(
        session,
        _STORE if token_id is None else _STORE_CHECKED,
        {
            "id": new_id,
            "channel": adapter.name,
            "external_id": payload["external_id"],
            "received_at": utcnow(),
            "payload": payload,
            "content_hash": digest,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "token_id": token_id,
        },
    )
    if inserted is not None:
        return Received(Receipt.ACCEPTED, new_id)
    # A repeat: the stored delivery, whether the token is still active and whether the
    # stored delivery is the same source system's, in one statement.
    which = {
        "channel": adapter.name,
        "external_id": payload["external_id"],
        "token_id": token_id,
        "source": source,
    }
    repeat = session.execute(_REPEAT, which).first()
    if token_id is not None and (repeat is None or not repeat.active):
        # Revoked since: the insert found the token revoked (and nothing is stored under
        # this external_id), or the token was revoked after the delivery was stored.
        return Received(Receipt.REVOKED, "")
    if repeat is None:
        raise LookupError(f"no delivery {adapter.name}/{payload['external_id']} after a conflict")
    stored = repeat.InboundDelivery
    if source is not None and not repeat.own:
        return Received(Receipt.FOREIGN, "")
    if stored.content_hash == digest:
        # A plain repeat reads without locking: a storm of retries never holds the row that
        # the intake job is about to route.
        return Received(Receipt.DUPLICATE, stored.id, stored.item_id)
    stored = session.execute(_REPEAT_LOCKED, which).one().InboundDelivery
    if stored.content_hash == digest:
        return Received(Receipt.DUPLICATE, stored.id, stored.item_id)
    updated = adapter.update(stored.payload, payload)
    if updated is None:
        return Received(Receipt.CONFLICT, stored.id, stored.item_id)
    stored.payload = updated
    stored.content_hash = digest
    session.flush()
    return Received(Receipt.UPDATED, stored.id, stored.item_id)


def _stored(session: Session, statement: TextClause, values: dict) -> str | None:
    """Run the insert (`_STORE`); the new delivery's id, or None for a repeat.

    When the session has begun nothing yet (a delivery's request, as it nearly always has),
    the insert commits by itself on a connection of its own: one round trip to the database
    instead of three (BEGIN, the insert, COMMIT). It is one statement, atomic alone, and
    committed before the source system is answered, as before. A repeat goes on in the
    session's transaction. Inside a transaction (a test's, or a caller's), the insert is
    that transaction's."""
    own = session() if isinstance(session, scoped_session) else session  # the request's
    bind = own.get_bind()
    if own.in_transaction() or not isinstance(bind, Engine):
        return session.execute(statement, values).scalar()
    with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(statement, values).scalar()


_token = ApiToken.__table__.alias("sending")
_source = ApiToken.__table__.alias("source")
#: built once, as `_STORE`: the stored delivery of a repeat, with whether the sending token
#: (`token_id`) is active and whether the stored delivery's token is of the `source` system
_REPEAT = (
    select(
        InboundDelivery,
        exists()
        .where(_token.c.id == bindparam("token_id"), _token.c.revoked_at.is_(None))
        .label("active"),
        exists()
        .where(_source.c.id == InboundDelivery.token_id, _source.c.name == bindparam("source"))
        .label("own"),
    )
    .where(
        InboundDelivery.channel == bindparam("channel"),
        InboundDelivery.external_id == bindparam("external_id"),
    )
    .execution_options(populate_existing=True)
)
#: the same, its delivery locked: a repeat with other content, about to change it
_REPEAT_LOCKED = _REPEAT.with_for_update(of=InboundDelivery)
