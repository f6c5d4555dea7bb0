"""Error pages in the app's layout and the user's language; small fragments for htmx."""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..extensions import db
from ..security import is_htmx


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
    }


def _render(status: int, detail: str | None = None):
    title, text = _messages().get(status, _messages()[500])
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    return render_template(template, status=status, title=title, text=detail or text), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        app.logger.warning("CSRF refused: %s", error.description)
        return _render(400, _("The form had expired. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return _render(error.code)

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        app.logger.exception("unhandled error")
        db.session.rollback()
        return _render(500)
