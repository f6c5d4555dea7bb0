"""What a load balancer and Prometheus ask of every process, answered before the app.

`/healthz`, `/readyz` and `/metrics` are the operators' own: no session, no sign-in page, no
CSRF, no access log and no line in the access log of residents' data (they show none). They
are answered by a WSGI layer in front of Flask, inside the trusted-proxy fix, so `/metrics`
sees the client's real address:

- `/healthz`: the process answers. Nothing else is asked (a database outage must not make a
  load balancer restart every process at once).
- `/readyz`: the process can serve: the database answers and is migrated to the code's head,
  Redis answers when it is configured, and the training space's database is another
  database and answers. 200 with each check's result, or 503 naming the one that failed.
- `/metrics`: Prometheus's text format (`desk.metrics`), to loopback addresses or to a
  bearer of `DESK_METRICS_TOKEN`; anyone else gets 404, as for a page that does not exist.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import time
from functools import cached_property

from flask import Flask
from sqlalchemy import text

PATHS = ("/healthz", "/readyz", "/metrics")


class Operations:
    """The WSGI layer: answers PATHS, hands everything else to the app."""

    def __init__(self, wsgi_app, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path not in PATHS:
            return self.wsgi_app(environ, start_response)
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _answer(start_response, 405, {"status": "method not allowed"})
        if path == "/healthz":
            return _answer(start_response, 200, {"status": "ok"})
        if path == "/readyz":
            checks = self.readiness()
            ready = all(result == "ok" for result in checks.values())
            body = {"status": "ready" if ready else "not ready", "checks": checks}
            return _answer(start_response, 200 if ready else 503, body)
        if not self.may_scrape(environ):
            return _answer(start_response, 404, {"status": "not found"})
        from . import metrics

        body, content_type = metrics.exposition(self.app)
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        start_response("200 OK", [*headers, ("Cache-Control", "no-store")])
        return [body]

    # -- readiness

    @cached_property
    def head(self) -> str | None:
        """The migrations' head revision, read once from the migrations folder."""
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        directory = self.app.extensions["migrate"].directory
        config = Config()
        config.set_main_option("script_location", directory)
        return ScriptDirectory.from_config(config).get_current_head()

    def readiness(self) -> dict[str, str]:
        """Each check and its result: "ok", or what is wrong (never an exception's text,
        which may carry a connection string)."""
        from .extensions import db
        from .training.spaces import TRAINING

        checks: dict[str, str] = {}
        with self.app.app_context():
            engines = db.engines
            checks["database"] = _revision(engines[None], self.head)
            if self.app.config.get("REDIS_URL"):
                checks["redis"] = _redis(self.app.config["REDIS_URL"])
            if TRAINING in engines:  # (create_app refuses it on the real database)
                checks["training_database"] = _revision(engines[TRAINING], self.head)
        return checks

    # -- metrics

    def may_scrape(self, environ) -> bool:
        token = self.app.config.get("DESK_METRICS_TOKEN")
        given = environ.get("HTTP_AUTHORIZATION", "")
        if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
        try:
            return ipaddress.ip_address(environ.get("REMOTE_ADDR", "")).is_loopback
        except ValueError:
            return False


def _revision(engine, head: str | None) -> str:
    started = time.monotonic()
    try:
        connection = engine.connect()
    except Exception as error:  # noqa: BLE001 (any failure means: not ready)
        return f"unreachable ({type(error).__name__})"
    try:
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 (no such table: never migrated)
        return "not migrated: run `flask desk init`"
    finally:
        connection.close()
    if found != head:
        return f"at revision {found}, the code needs {head}: run `flask desk init`"
    if time.monotonic() - started > 2:
        return "slow (over 2 s)"
    return "ok"


def _redis(url: str) -> str:
    from redis.exceptions import RedisError

    from .tasks import redis_client

    try:
        redis_client(url).ping()
    except RedisError as error:
        return f"unreachable ({type(error).__name__})"
    return "ok"


def _answer(start_response, status: int, body: dict):
    payload = json.dumps(body).encode()
    reason = {200: "OK", 404: "NOT FOUND", 405: "METHOD NOT ALLOWED", 503: "SERVICE UNAVAILABLE"}
    start_response(
        f"{status} {reason[status]}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [payload]


def queued_seconds(stamp: str | None, now: float) -> float | None:
    """How long ago the proxy stamped the request (`X-Request-Start: t=<seconds since the
    epoch>`, nginx's `$msec`); None without a readable stamp."""
    if not stamp:
        return None
    try:
        started = float(stamp.strip().removeprefix("t="))
    except ValueError:
        return None
    return now - started


def refuse_stale(app: Flask) -> None:
    """Shed load: behind trusted proxies, a request that waited in the queue longer than
    DESK_QUEUE_DEADLINE_SECONDS gets 503 (and Retry-After) before any work is done for it.
    Under overload the queue in front of the workers fills with requests whose clients have
    gone (nginx gives up after its proxy_read_timeout); worked on, they would keep the desk
    overloaded for minutes after the load has passed. Registered after the request id, so the
    refusal has its access line; before anything reads the database."""
    from flask import abort, request

    from . import metrics

    @app.before_request
    def refuse_if_stale() -> None:
        deadline = app.config["DESK_QUEUE_DEADLINE_SECONDS"]
        if not app.config.get("DESK_TRUSTED_PROXIES") or deadline <= 0:
            return  # nobody's stamp is believed
        waited = queued_seconds(request.headers.get("X-Request-Start"), time.time())
        if waited is not None and waited > deadline:
            metrics.SHED.inc()
            abort(503, description="queued")


def init_app(app: Flask) -> None:
    """Put the layer in front of the app (the trusted-proxy fix, when there is one, goes in
    front of this, so `/metrics` judges the client's address, not the proxy's)."""
    app.wsgi_app = Operations(app.wsgi_app, app)
