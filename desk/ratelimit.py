"""Rate limits: at most `limit` hits of a key in a window of `seconds`. Plain Python.

With Redis every process shares the counts (INCR and EXPIRE on `desk:rate:<key>`); without it
(the embedded default, one process) they are kept in memory. A hit over the limit answers how
many seconds remain until the window ends, for the `Retry-After` header.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """`hits` per `seconds`; 0 hits switches the limit off."""

    hits: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """`"20/300"`: 20 hits in 300 seconds."""
        hits, _, seconds = text.partition("/")
        return cls(int(hits), int(seconds or 60))


class MemoryLimiter:
    def __init__(self, clock=time.monotonic) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def hit(self, key: str, limit: Limit) -> int | None:
        """Count one hit; None if within the limit, else the seconds to wait."""
        if limit.hits <= 0:
            return None
        now = self._clock()
        with self._lock:
            ends, count = self._windows.get(key, (0.0, 0))
            if now >= ends:
                ends, count = now + limit.seconds, 0
            count += 1
            self._windows[key] = (ends, count)
        return None if count <= limit.hits else max(1, math.ceil(ends - now))


class RedisLimiter:
    def __init__(self, redis) -> None:
        self.redis = redis

    def hit(self, key: str, limit: Limit) -> int | None:
        if limit.hits <= 0:
            return None
        name = f"desk:rate:{key}"
        with self.redis.pipeline() as pipe:
            pipe.incr(name)
            pipe.expire(name, limit.seconds, nx=True)
            pipe.ttl(name)
            count, _, ttl = pipe.execute()
        return None if count <= limit.hits else max(1, ttl)
