"""Rate limits: at most `limit` hits of a key in a window of `seconds`. Plain Python.

With Redis every process shares the counts (INCR and EXPIRE on `desk:rate:<key>`); without it
(the embedded default, one process) they are kept in memory. While Redis is unavailable each
process counts in its own memory instead (`FallbackLimiter`): limits hold per process rather
than failing every request. A hit over the limit answers how many seconds remain until the
window ends, for the `Retry-After` header.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from redis.exceptions import RedisError

log = logging.getLogger(__name__)
#: the most keys a MemoryLimiter keeps (a few MB): a flood of distinct keys cannot grow it
MAX_KEYS = 20_000


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
    """Counts in this process's memory, for at most `max_keys` keys.

    When full, the key hit least recently is dropped (its window has usually ended): a flood
    of distinct keys (user names, addresses) pushes out only keys nobody is hitting, while
    the keys being hammered stay counted."""

    def __init__(self, clock=time.monotonic, max_keys: int = MAX_KEYS) -> None:
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._clock = clock
        self.max_keys = max_keys

    def __len__(self) -> int:
        return len(self._windows)

    def hit(self, key: str, limit: Limit) -> int | None:
        """Count one hit; None if within the limit, else the seconds to wait."""
        if limit.hits <= 0:
            return None
        now = self._clock()
        with self._lock:
            ends, count = self._windows.pop(key, (0.0, 0))
            if now >= ends:
                ends, count = now + limit.seconds, 0
            count += 1
            while len(self._windows) >= self.max_keys:
                self._windows.popitem(last=False)  # the key hit least recently
            self._windows[key] = (ends, count)  # the most recently hit go last
        return None if count <= limit.hits else max(1, math.ceil(ends - now))

    def peek(self, key: str, limit: Limit) -> int | None:
        """Without counting: the seconds to wait if `key` has used up its hits, else None."""
        if limit.hits <= 0:
            return None
        now = self._clock()
        with self._lock:
            ends, count = self._windows.get(key, (0.0, 0))
        return None if now >= ends or count < limit.hits else max(1, math.ceil(ends - now))

    def reset(self, key: str) -> None:
        """Forget the hits of `key` (a sign-in that succeeded)."""
        with self._lock:
            self._windows.pop(key, None)


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

    def peek(self, key: str, limit: Limit) -> int | None:
        if limit.hits <= 0:
            return None
        name = f"desk:rate:{key}"
        with self.redis.pipeline() as pipe:
            pipe.get(name)
            pipe.ttl(name)
            count, ttl = pipe.execute()
        return None if count is None or int(count) < limit.hits else max(1, ttl)

    def reset(self, key: str) -> None:
        self.redis.delete(f"desk:rate:{key}")


class FallbackLimiter:
    """The shared Redis limiter, and this process's memory while Redis is unavailable.

    A limiter that fails closed would refuse every sign-in and every delivery during a Redis
    outage, before anything is stored; one that fails open would drop the limits. In between,
    each process counts on its own until Redis answers again. Falling back and coming back
    are logged once each, not once per request."""

    def __init__(self, shared: RedisLimiter, local: MemoryLimiter | None = None) -> None:
        self.shared = shared
        self.local = local if local is not None else MemoryLimiter()
        self.falling_back = False

    def _call(self, name: str, *args):
        try:
            result = getattr(self.shared, name)(*args)
        except RedisError as error:
            if not self.falling_back:
                self.falling_back = True
                log.warning(
                    "Redis unavailable (%s): rate limits are counted in this process's "
                    "memory until it answers",
                    error,
                )
            return getattr(self.local, name)(*args)
        if self.falling_back:
            self.falling_back = False
            log.warning("Redis answers again: rate limits are shared again")
        return result

    def hit(self, key: str, limit: Limit) -> int | None:
        return self._call("hit", key, limit)

    def peek(self, key: str, limit: Limit) -> int | None:
        return self._call("peek", key, limit)

    def reset(self, key: str) -> None:
        self.local.reset(key)  # whatever was counted here during an outage goes too
        self._call("reset", key)
