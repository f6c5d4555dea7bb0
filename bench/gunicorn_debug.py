"""gunicorn settings for the stream server of the benchmark and the tests: on SIGUSR2 the
worker writes where its greenlets are waiting to stderr (the same stacks counted once), to
show where a page that never got an answer is stuck. Otherwise production's settings
(desk/gunicorn.py: JSON logs, no access log of gunicorn's own)."""

import collections
import gc
import signal
import sys
import traceback

from desk.gunicorn import *  # noqa: F403 (production's settings, and the hook below)
from desk.gunicorn import post_worker_init as production_post_worker_init


def post_worker_init(worker) -> None:
    production_post_worker_init(worker)

    def dump(*_args) -> None:
        from greenlet import greenlet

        stacks = collections.Counter(
            "".join(traceback.format_stack(g.gr_frame, limit=-12))
            for g in gc.get_objects()
            if isinstance(g, greenlet) and g.gr_frame is not None
        )
        sys.stderr.write(f"stream worker: {sum(stacks.values())} greenlets waiting\n")
        from gevent.baseserver import BaseServer

        for server in (o for o in gc.get_objects() if isinstance(o, BaseServer)):
            watcher = getattr(server, "_watcher", None)
            sys.stderr.write(
                f"server {server}: started {server.started}, accepting "
                f"{watcher is not None and watcher.active}, delay {server.delay}, pool free "
                f"{server.pool.free_count() if server.pool is not None else '-'}\n"
            )
        for stack, count in stacks.most_common():
            sys.stderr.write(f"--- {count} at:\n{stack}")
        sys.stderr.flush()

    signal.signal(signal.SIGUSR2, dump)
