"""Signed-in sessions kept on the server, for local accounts and SSO alike. Plain Python.

A sign-in makes a `user_session` row with a random id; the browser's signed cookie carries only
that id. Each request finds the row: a session signed out (the row deleted), idle longer than
the idle limit or older than the longest allowed session is over, whatever copy of the cookie
comes back. Activity is written at most once a minute, so the database is not written on every
request; the idle time may therefore end up to a minute early. Ended rows are kept a day, so a
person coming back is told why their session ended, and then deleted at a later sign-in.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Connection, delete, insert, select, update

from ..models import UserSession

#: activity is written at most this often
TOUCH_EVERY = timedelta(minutes=1)
#: how long an ended session's row still tells why it ended
KEEP_ENDED = timedelta(days=1)

_table = UserSession.__table__


class Ended(enum.StrEnum):
    """Why a session is over."""

    SIGNED_OUT = "signed_out"  # signed out, or a session this desk does not know (any more)
    IDLE = "idle"  # no activity for longer than the idle limit
    LONGEST = "longest"  # older than the longest allowed session


@dataclass(frozen=True)
class Limits:
    idle: timedelta
    longest: timedelta

    @classmethod
    def of(cls, idle_minutes: int, longest_hours: int) -> Limits:
        return cls(timedelta(minutes=idle_minutes), timedelta(hours=longest_hours))


class Visit(NamedTuple):
    ended: Ended | None
    #: whether the activity was written (the caller commits)
    wrote: bool


def ended(
    created_at: datetime, last_seen_at: datetime, now: datetime, limits: Limits
) -> Ended | None:
    """Why a session begun at `created_at` and last active at `last_seen_at` is over at
    `now`, or None while it holds."""
    if now - created_at > limits.longest:
        return Ended.LONGEST
    if now - last_seen_at > limits.idle:
        return Ended.IDLE
    return None


def begin(conn: Connection, user_id: int, now: datetime, limits: Limits) -> str:
    """A new session of the user; its random id (for the cookie). Rows ended long ago go."""
    oldest = now - max(limits.idle, limits.longest) - KEEP_ENDED
    conn.execute(delete(_table).where(_table.c.last_seen_at < oldest))
    sid = secrets.token_urlsafe(32)
    conn.execute(insert(_table).values(id=sid, user_id=user_id, created_at=now, last_seen_at=now))
    return sid


class Seen(NamedTuple):
    """A session's row as a request finds it."""

    created_at: datetime
    last_seen_at: datetime


def seen_columns():
    """The columns of `Seen`, for a caller that reads the row within a statement of its own
    (the request's user is read with their session: one round trip, not two)."""
    return _table.c.created_at, _table.c.last_seen_at


def seen_join(sid: str, user_id):
    """The condition that joins the session `sid` of `user_id` (a column or a value)."""
    return (_table.c.id == sid) & (_table.c.user_id == user_id)


def read(conn: Connection, sid: str, user_id: int) -> Seen | None:
    """The session `sid` of `user_id` as it stands, or None when there is none."""
    row = conn.execute(select(*seen_columns()).where(seen_join(sid, user_id))).first()
    return None if row is None else Seen(*row)


def visit(
    conn: Connection, sid: str, seen: Seen | None, now: datetime, limits: Limits, *, active: bool
) -> Visit:
    """A request of the session `sid`, found as `seen` (None: not found): whether it is over,
    and, if not and the request is the person's own (`active`), its activity recorded when the
    last record is a minute old."""
    if seen is None:
        return Visit(Ended.SIGNED_OUT, wrote=False)
    reason = ended(seen.created_at, seen.last_seen_at, now, limits)
    if reason is not None or not active or now - seen.last_seen_at < TOUCH_EVERY:
        return Visit(reason, wrote=False)
    # Conditional, so that the parallel requests of one page write once.
    conn.execute(
        update(_table)
        .where(_table.c.id == sid, _table.c.last_seen_at <= now - TOUCH_EVERY)
        .values(last_seen_at=now)
    )
    return Visit(None, wrote=True)


def end(conn: Connection, sid: str) -> None:
    """Sign the session out: no copy of its cookie opens anything again."""
    conn.execute(delete(_table).where(_table.c.id == sid))
