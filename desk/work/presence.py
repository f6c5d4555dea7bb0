"""Who has an item open right now, so that two people do not answer the same resident.

An open item page reports every 20 s (`DESK_PRESENCE_POLL_SECONDS`); a report older than
`FRESH` no longer counts.
With Redis the reports are shared by every server process (a hash per item that expires by
itself); without it (the embedded default, one process) they live in memory. While Redis is
unavailable nobody is reported: the item page shows no warning rather than failing.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from redis.exceptions import RedisError

log = logging.getLogger(__name__)
FRESH = timedelta(seconds=45)


@dataclass(frozen=True)
class Look:
    """One person with the item open: since when, and when they last reported."""

    user_id: int
    since: datetime
    last: datetime


def _current(looks: list[Look], now: datetime) -> list[Look]:
    return [look for look in looks if now - look.last <= FRESH]


def _next_look(previous: Look | None, user_id: int, now: datetime) -> Look:
    # A look continues while its reports keep coming; after a gap it starts again.
    if previous is not None and now - previous.last <= FRESH:
        return Look(user_id, previous.since, now)
    return Look(user_id, now, now)


class Presence(Protocol):
    def look(self, item_id: int, user_id: int, now: datetime) -> list[Look]:
        """Record that `user_id` has the item open; the others who have it open too."""

    def leave(self, item_id: int, user_id: int) -> None:
        """Record that `user_id` closed the item."""


class MemoryPresence:
    """Reports kept in this process (the embedded default runs one)."""

    def __init__(self) -> None:
        self._items: dict[int, dict[int, Look]] = {}
        self._lock = threading.Lock()

    def look(self, item_id: int, user_id: int, now: datetime) -> list[Look]:
        with self._lock:
            looks = self._items.setdefault(item_id, {})
            looks[user_id] = _next_look(looks.get(user_id), user_id, now)
            for stale in [u for u, look in looks.items() if now - look.last > FRESH]:
                del looks[stale]
            return sorted((v for u, v in looks.items() if u != user_id), key=lambda v: v.since)

    def leave(self, item_id: int, user_id: int) -> None:
        with self._lock:
            self._items.get(item_id, {}).pop(user_id, None)


class RedisPresence:
    """Reports shared by every process: `<prefix><item>` maps a user id to
    "<since>|<last>" (POSIX seconds) and expires when nobody reports any more."""

    def __init__(self, redis, prefix: str = "desk:presence:") -> None:
        self.redis = redis
        self.prefix = prefix
        self.unavailable = False

    def _key(self, item_id: int) -> str:
        return f"{self.prefix}{item_id}"

    def _lost(self, error: RedisError) -> None:
        if not self.unavailable:
            self.unavailable = True
            log.warning("Redis unavailable (%s): no collision warnings until it answers", error)

    def _back(self) -> None:
        if self.unavailable:
            self.unavailable = False
            log.warning("Redis answers again: collision warnings are back")

    def look(self, item_id: int, user_id: int, now: datetime) -> list[Look]:
        """As the Protocol says; nobody else while Redis is unavailable."""
        try:
            others = self._look(item_id, user_id, now)
        except RedisError as error:
            self._lost(error)
            return []
        self._back()
        return others

    def _look(self, item_id: int, user_id: int, now: datetime) -> list[Look]:
        key = self._key(item_id)
        looks = []
        for field, value in self.redis.hgetall(key).items():
            since, _, last = value.decode().partition("|")
            looks.append(
                Look(
                    int(field),
                    datetime.fromtimestamp(float(since), now.tzinfo),
                    datetime.fromtimestamp(float(last), now.tzinfo),
                )
            )
        mine = _next_look(next((v for v in looks if v.user_id == user_id), None), user_id, now)
        stale = [v.user_id for v in looks if now - v.last > FRESH and v.user_id != user_id]
        with self.redis.pipeline() as pipe:
            pipe.hset(key, str(user_id), f"{mine.since.timestamp()}|{now.timestamp()}")
            if stale:
                pipe.hdel(key, *map(str, stale))
            pipe.expire(key, int(FRESH.total_seconds()) * 2)
            pipe.execute()
        others = [v for v in _current(looks, now) if v.user_id != user_id]
        return sorted(others, key=lambda v: v.since)

    def leave(self, item_id: int, user_id: int) -> None:
        # Lost while Redis is down: the report then ends by going stale (FRESH).
        try:
            self.redis.hdel(self._key(item_id), str(user_id))
        except RedisError as error:
            self._lost(error)
