"""The reference source system ("partner"): a small, separate app that plays the residents'
side of the desk's two contracts (../shared/contract/inbound.md and outbound.md).

It is for demos, development and tests, and is NEVER part of a production deployment: its
"strong identification" is a choice among fixed synthetic people, its state is a local SQLite
file, and its pages are a stand-in for the real chat platform, Omaolo, the e-form service and
the "Pyydä apua" form. It talks to the desk only over HTTP, as those systems do:

- it delivers chats (re-delivering the whole conversation after each resident message),
  Omaolo symptom assessments, e-forms and help requests to `/api/v1/inbound/{channel}`, and
  shows their processing state;
- it receives the desk's events (`message.created`, `conversation.closed`, `item.updated`) at
  `POST /desk-events`, signed as Standard Webhooks, once per webhook-id;
- it sends the resident's answers and the delivered/read receipts back to the desk.

Run it beside the desk: `flask --app partner run --port 5001`. Its settings are the JSON file
at PARTNER_CONFIG (default `<instance>/partner.json`):

    {"desk_url": "http://127.0.0.1:5000", "token": "<inbound bearer token, all channels>",
     "secret": "whsec_<the desk's signing secret for this endpoint>"}

which registering the partner in the desk writes (`flask desk partner`, by default to the
same `instance/partner.json`). Its own state is in PARTNER_DATABASE (default
`<instance>/partner.db`). Both paths may also be set as environment variables.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from typing import Any

from flask import Flask, abort, render_template, request, session, url_for

from .client import load_settings
from .identities import IDENTITIES, MUNICIPALITIES
from .store import Store
from .words import LANGUAGE_NAMES, LANGUAGES, day, municipality_name, when, word

CSP = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The partner app; `config` overrides its settings (tests give their own paths)."""
    app = Flask(__name__)
    app.config.from_mapping(
        PARTNER_CONFIG=os.path.join(app.instance_path, "partner.json"),
        PARTNER_DATABASE=os.path.join(app.instance_path, "partner.db"),
        # Receipts to the desk in a thread after the answer; tests set False (at once).
        PARTNER_BACKGROUND=True,
        # How often the chat window asks for news, and how long a call to the desk may take.
        PARTNER_POLL_MS=1000,
        PARTNER_TIMEOUT=5.0,
        # The desk on another port of the same host has its own cookie "session": cookies
        # do not tell ports apart.
        SESSION_COOKIE_NAME="partner_session",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        # Attachments are only measured (their metadata is sent), never kept.
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
    )
    # The two paths may also come from the environment (`PARTNER_CONFIG=… flask --app partner
    # run`); `config` wins over both.
    app.config.from_mapping(
        {
            name: os.environ[name]
            for name in ("PARTNER_CONFIG", "PARTNER_DATABASE")
            if name in os.environ
        }
    )
    app.config.from_mapping(config or {})
    store = Store(app.config["PARTNER_DATABASE"])
    store.init()
    app.extensions["partner.store"] = store
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = store.secret_key()

    from . import events, views

    app.register_blueprint(events.bp)
    app.register_blueprint(views.bp)

    @app.before_request
    def check_csrf():
        # The resident's forms carry the session's token; the desk's events are signed instead.
        if request.method == "POST" and request.endpoint != "events.receive":
            sent = request.form.get("csrf_token", "")
            expected = session.get("csrf", "")
            if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
                abort(400, description="csrf")

    @app.after_request
    def headers(response):
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    @app.context_processor
    def helpers():
        lang = views.language()
        settings, why = load_settings(app.config["PARTNER_CONFIG"])
        return {
            "lang": lang,
            "t": lambda key, **values: word(lang, key, **values),
            "municipality_name": lambda code: municipality_name(lang, code),
            "when": when,
            "day": day,
            "csrf_token": _csrf_token,
            "person": views.signed_in(),
            "identities": IDENTITIES,
            "municipalities": MUNICIPALITIES,
            "languages": LANGUAGES,
            "language_names": LANGUAGE_NAMES,
            "settings": settings,
            "settings_problem": why,
            "settings_path": app.config["PARTNER_CONFIG"],
            "events_url": url_for("events.receive", _external=True),
        }

    app.jinja_env.filters["fromjson"] = json.loads
    for status in (400, 403, 404, 405, 413):
        app.register_error_handler(status, _error_page)
    return app


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _error_page(error):
    """An error in the resident's language (the webhook answers JSON of its own)."""
    code = getattr(error, "code", 500) or 500
    key = {400: "csrf_failed", 403: "forbidden", 404: "not_found"}.get(code, "error_heading")
    if code == 400 and getattr(error, "description", "") != "csrf":
        key = "error_heading"
    return render_template("error.html", key=key, code=code), code
