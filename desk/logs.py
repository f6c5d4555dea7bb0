"""The desk's logs: one JSON object a line, and no resident's data in any of them.

Every line has `time` (UTC, ISO 8601), `level`, `logger`, `message` and, inside a request or a
job started by one, `request_id`; inside a signed-in request also `user_id`. A request ends
with one line of the logger `desk.access`: `route` (the rule, never the address with its
query string, which may hold a search for a personal identity code), `endpoint`, `method`,
`status`, `duration_ms`.

Residents' data must not reach a log store, where it would outlive the desk's retention and
escape its access log. So:

- SQLAlchemy's engines hide statement parameters (config: `hide_parameters`): an error names
  the statement, never the values;
- an exception is logged as its type, its SQLSTATE when the database raised it, and its stack
  (file, line, function), never its message, which may quote a value (a pydantic error, a
  `KeyError` of a name, a database's DETAIL line);
- messages are the desk's own, with ids rather than content; as a net under that, anything
  shaped like a personal identity code, a phone number or an e-mail address is masked;
- the development server's request lines (the address with its query string) are dropped:
  the access line says the same without the query.

The request id is the `X-Request-ID` header (nginx sets it; a client's own is taken only when
it is a plain token) or a new one; it is sent back in the response's `X-Request-ID`, and goes
with every job the request enqueues (desk.tasks), so a worker's lines carry it too.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import traceback
import uuid

#: the request (or the job a request started) that a line belongs to
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
#: the signed-in account of that request
user_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("user_id", default=None)

#: what a request id from outside may look like (nginx's $request_id is 32 hex digits)
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")

#: masked wherever they appear in a message: a Finnish personal identity code (any century
#: sign, also the 2023 ones), a phone number (international or national, with or without
#: spaces), an e-mail address
PERSONAL = re.compile(
    r"\b\d{6}[-+ABCDEFUVWXY]\d{3}[0-9A-Y]\b"
    r"|(?<![\w.:+-])(?:\+\d{1,3}|0)[\d ()-]{5,14}\d(?![\w.:-])"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    re.IGNORECASE,
)
MASK = "[hidden]"
#: a terminal's colours (the development server's banner): no use in a log store
COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def scrub(text: str) -> str:
    """`text` with anything shaped like a personal identity code, phone number or e-mail
    address masked."""
    return PERSONAL.sub(MASK, text)


def new_request_id(given: str | None = None) -> str:
    """`given` when it is a plain token, else a new id."""
    if given and REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object a line (see the module's notes)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(COLOURS.sub("", record.getMessage())),
        }
        if (rid := request_id.get()) is not None:
            line["request_id"] = rid
        if (uid := user_id.get()) is not None:
            line["user_id"] = uid
        fields = getattr(record, "desk", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = error_fields(record.exc_info[1])
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def error_fields(error: BaseException | None) -> dict:
    """An exception as its type, SQLSTATE and stack: never its message."""
    if error is None:
        return {}
    fields: dict = {"type": f"{type(error).__module__}.{type(error).__qualname__}"}
    original = getattr(error, "orig", None)  # SQLAlchemy's wrapper of the driver's error
    if original is not None:
        fields["cause"] = f"{type(original).__module__}.{type(original).__qualname__}"
        if sqlstate := getattr(original, "sqlstate", None) or getattr(original, "pgcode", None):
            fields["sqlstate"] = sqlstate
    frames = traceback.extract_tb(error.__traceback__)
    fields["stack"] = [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames]
    return fields


class _DropRequestLines(logging.Filter):
    """The development server's request lines carry the query string: dropped (the access
    line says the same without it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith('"%s"'))


class _StandardError(logging.StreamHandler):
    """A handler that writes to whatever `sys.stderr` is at the time (a test runner or a
    daemon may replace it after the handler was made)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure(level: str | int = "INFO") -> None:
    """Send every logger's lines through one JSON handler on standard error (idempotent:
    a second call changes only the level)."""
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(handler, _StandardError) for handler in root.handlers):
        handler = _StandardError()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, _DropRequestLines) for f in werkzeug.filters):
        werkzeug.addFilter(_DropRequestLines())


#: the logger of the one line each request ends with
access = logging.getLogger("desk.access")


def init_app(app) -> None:
    """Log in JSON, give each request its id, and end it with its access line and its
    latency in the metrics. Registered before every other request hook, so that whatever
    they log carries the id."""
    import time

    from flask import g, request

    from . import metrics

    configure(app.config["DESK_LOG_LEVEL"])

    @app.before_request
    def start_request() -> None:
        g.desk_started = time.perf_counter()
        g.request_id = new_request_id(request.headers.get("X-Request-ID"))
        request_id.set(g.request_id)

    @app.after_request
    def end_request(response):
        started = g.pop("desk_started", None)
        if started is None:  # a response made before the request began (none today)
            return response
        seconds = time.perf_counter() - started
        response.headers["X-Request-ID"] = g.request_id
        user = g.get("_login_user")  # only when something asked: never loaded for this
        if user is not None and user.is_authenticated:
            user_id.set(int(user.get_id()))
        endpoint = request.endpoint
        if endpoint != "live.events":  # a stream's response starts it; it lasts for hours
            metrics.observe_request(endpoint, request.method, response.status_code, seconds)
        rule = request.url_rule.rule if request.url_rule is not None else None
        access.info(
            "%s %s %d",
            request.method,
            rule or "(no route)",
            response.status_code,
            extra={
                "desk": {
                    "route": rule,
                    "endpoint": endpoint,
                    "method": request.method,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 2),
                }
            },
        )
        return response

    @app.teardown_request
    def forget_request(_error=None) -> None:
        request_id.set(None)
        user_id.set(None)
