"""Bearer tokens of source systems: created once and shown once; only a hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
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


def find(session: Session, secret: str) -> ApiToken | None:
    """The active token with this secret, or None."""
    if not secret:
        return None
    return session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _hash(secret), ApiToken.revoked_at.is_(None))
    )


def source_token_ids(session: Session, token: ApiToken) -> set[int]:
    """The tokens of the source system that `token` belongs to: those with its name, revoked
    ones included, so that a replacement token (created with the same name) still reads the
    processing state of the deliveries its predecessor made."""
    return set(session.scalars(select(ApiToken.id).where(ApiToken.name == token.name)))


def touch(token: ApiToken) -> None:
    """Note that the token was used (at most once a minute, to spare the database)."""
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        token.last_used_at = now


def revoke(session: Session, token_id: int) -> ApiToken | None:
    """Revoke a token; it answers 401 from now on."""
    token = session.get(ApiToken, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token
