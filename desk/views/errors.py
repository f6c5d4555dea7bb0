"""Error pages in the app's layout and the user's language; small fragments for htmx."""

from __future__ import annotations

from flask import Flask, g, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from ..extensions import db
from ..security import is_htmx
from .api import error as api_error


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood. Nothing was changed.")),
        403: (_("No access"), _("Your role or municipalities do not give access to this page.")),
        404: (_("Not found"), _("There is no such page, or you do not have access to it.")),
        405: (_("Not allowed"), _("That cannot be done here.")),
        413: (_("Too large"), _("The request is too large.")),
        500: (
            _("Something went wrong"),
            _("The desk ran into an error. Nothing was changed; try again in a moment."),
        ),
        503: (
            _("Temporarily unavailable"),
            _("The desk cannot reach its database. Nothing was changed; try again soon."),
        ),
    }


RETRY_AFTER_SECONDS = 5


def _api_error(status: int):
    codes = {
        400: "bad_request",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        503: "unavailable",
    }
    return api_error(status, codes.get(status, "server_error")), status


def _render(status: int, detail: str | None = None):
    if request.path.startswith("/api/"):
        return _api_error(status)
    title, text = _messages().get(status, _messages()[500])
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    page = render_template(
        template, status=status, title=title, text=detail or text, request_id=g.get("request_id")
    )
    return make_response(page), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        app.logger.warning("CSRF refused: %s", error.description)
        if request.headers.get("HX-Request") == "true" and not current_user.is_authenticated:
            # The form's token went with the session (signed out in another tab): say that the
            # session ended (401 and the way to sign in), not that the form expired.
            return app.login_manager.unauthorized()
        return _render(400, _("The form had expired. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if error.code == 503:
            # Waited too long in the queue (ops.refuse_stale), or the database could not say
            # who is signed in (auth._unauthorized).
            busy = _("The desk is very busy right now. Nothing was changed; try again soon.")
            response, status = _render(503, busy if error.description == "queued" else None)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response, status
        return _render(error.code)

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):
        # Nothing was committed: the request's transaction is simply abandoned.
        app.logger.error("database unavailable: %s", error.orig)
        db.session.rollback()
        # The page is drawn as for nobody signed in: the signed-in user's attributes (their
        # language, their name in the header) would be read from the database again.
        g._login_user = app.login_manager.anonymous_user()
        response, status = _render(503)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response, status

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        app.logger.exception("unhandled error")
        db.session.rollback()
        return _render(500)
