"""Bearer tokens of source systems: created once and shown once; only a hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ..models import ApiToken, utcnow

PREFIX = "desk_"
TOUCH_EVERY = timedelta(minutes=1)


def _hash(secret: str) -> str:
    # Tokens are long random strings: a plain SHA-256 suffices (no dictionary to guard against).
    return hashlib.sha256(secret.encode()).hexdigest()


def create(session: Session, name: str, channels: list[str]) -> tuple[ApiToken, str]:
    """A new token for `channels`; returns the row and the secret, which is not kept."""
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=_hash(secret), channels=",".join(channels))
    session.add(token)
    session.flush()
    return token, secret


@dataclass(frozen=True, slots=True)
class Bearer:
    """What a request needs of the active token it came with (read as a plain row: every
    delivery asks, and an ORM object costs more than the rest of its lookup)."""

    id: int
    name: str
    #: the channels it may deliver to
    channels: frozenset[str]
    last_used_at: datetime | None
    #: the hash of its secret
    digest: str


_FIND = select(ApiToken.id, ApiToken.name, ApiToken.channels, ApiToken.last_used_at).where(
    ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None)
)

#: the tokens this process has found active, by the hashes of their secrets (a few source
#: systems; a secret is 32 random bytes, so a hash names one token in any database)
_kept: dict[str, Bearer] = {}
_KEPT_AT_MOST = 256


def find(session: Session, secret: str, *, kept: bool = False) -> Bearer | None:
    """The active token with this secret, or None.

    With `kept`, a token this process found active before is not read again: it may have
    been revoked since, so it is for a use whose statement checks that the token is still
    active (a delivery's insert, `receive.receive`), and for nothing else."""
    if not secret:
        return None
    digest = _hash(secret)
    if kept and (token := _kept.get(digest)) is not None:
        return token
    row = session.execute(_FIND, {"digest": digest}).first()
    if row is None:
        forget(digest)
        return None
    channels = frozenset(c for c in row.channels.split(",") if c)
    token = Bearer(row.id, row.name, channels, row.last_used_at, digest)
    _keep(token)
    return token


def forget(digest: str) -> None:
    """No longer keep the token whose secret has this hash (it was found revoked)."""
    _kept.pop(digest, None)


def _keep(token: Bearer) -> None:
    if len(_kept) >= _KEPT_AT_MOST and token.digest not in _kept:
        _kept.clear()  # more source systems than this are not expected: start again
    _kept[token.digest] = token


def source_token_ids(session: Session, token: Bearer) -> set[int]:
    """The tokens of the source system that `token` belongs to: those with its name, revoked
    ones included, so that a replacement token (created with the same name) still reads the
    processing state of the deliveries its predecessor made."""
    return set(session.scalars(select(ApiToken.id).where(ApiToken.name == token.name)))


def touch(session: Session, token: Bearer) -> None:
    """Note that the token was used (at most once a minute, to spare the database); the
    caller commits."""
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        if token.digest in _kept:
            _keep(replace(token, last_used_at=now))


def revoke(session: Session, token_id: int) -> ApiToken | None:
    """Revoke a token; it answers 401 from now on."""
    token = session.get(ApiToken, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        forget(token.token_hash)  # other processes learn it at their next use
    return token
