"""gunicorn's settings for the desk: `gunicorn -c python:desk.gunicorn …` (README,
"Production"; the workers, threads and address are given on the command line).

- No access log of gunicorn's own: the app writes one line a request (desk.logs), with the
  route instead of the address and its query string, which may hold a personal identity code.
  (`Logger`: with a logging configuration, gunicorn would build each request's line anyway.)
- gunicorn's own lines (start, stop, a worker's timeout) in the desk's JSON.
- With PROMETHEUS_MULTIPROC_DIR set, a worker that exits is told to prometheus_client, so
  the gauges of live processes (open event streams) stop counting it.
- A worker freezes what it holds once the app is loaded (`post_worker_init`), so that the
  cycle collector does not walk it again and again.
"""

from __future__ import annotations

import gc
import os

from gunicorn import glogging

accesslog = None
logger_class = "desk.gunicorn.Logger"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "desk.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
    },
    # gunicorn merges this into its defaults one level deep, and its default root logger
    # names its own "console" handler, which this configuration does not have. The root gets
    # no handler here: the app adds its JSON handler (desk.logs.configure).
    "root": {"level": "INFO", "handlers": []},
}
# gunicorn 27's control socket defaults to one path in the home directory, which the second
# gunicorn (the event stream's) would take from the first; the desk does not use it.
control_socket_disable = True
# A proxy in front (nginx) decides who the client is; the desk reads its headers only as
# far as DESK_TRUSTED_PROXIES says (werkzeug's ProxyFix), so gunicorn passes them on as sent.
forwarded_allow_ips = "127.0.0.1,::1"


class Logger(glogging.Logger):
    """gunicorn's logger, without the access log. (gunicorn takes a logging configuration
    for a wish to log each request: it put together each request's line, some 3 % of what
    a worker did for a delivery, for a logger that dropped it.)"""

    def access(self, resp, req, environ, request_time) -> None:
        return None


def child_exit(server, worker) -> None:
    """A worker ended: its live gauges no longer count (prometheus_client's multiprocess
    mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    """The app is loaded: what the worker holds now (the modules, the app, its settings)
    lives as long as it does, so the collector of reference cycles need not walk it again.
    Without this, each full collection walked some 200,000 objects: 80 ms in which the
    worker answered nobody (gc.freeze)."""
    gc.freeze()
