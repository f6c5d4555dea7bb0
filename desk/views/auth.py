"""Signing in and out, and choosing the interface language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from .. import auth
from ..extensions import db
from ..security import too_many

bp = Blueprint("auth", __name__)


def home() -> str:
    """Where a signed-in user starts: auditors at the access log, everyone else at My work."""
    if current_user.is_authenticated and current_user.role == "auditor":
        return url_for("audit.index")
    return url_for("work.index")


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never redirect a signed-in user to another site.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not urlsplit(target).netloc
    ):
        return target
    return home()


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with a local account."""
    if current_user.is_authenticated:
        return redirect(home())
    error = None
    status = 200
    wait = None
    if request.method == "POST":
        username = request.form.get("username", "").strip().lower()
        wait = too_many(f"login:address:{request.remote_addr}", "login_address") or too_many(
            f"login:user:{username}", "login_user"
        )
    if wait:
        error = _(
            "Too many sign-in attempts. Try again in %(minutes)d min.",
            minutes=max(1, round(wait / 60)),
        )
        status = 429
    elif request.method == "POST":
        user = auth.authenticate(request.form.get("username", ""), request.form.get("password", ""))
        if user is None:
            error = _("Wrong username or password.")
            status = 401
        else:
            chosen = session.get("language")
            session.clear()
            login_user(auth.LoginUser(user))
            if chosen in current_app.config["LANGUAGES"] and chosen != user.language:
                user.language = chosen
                db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
    username = request.form.get("username", "")
    page = render_template("auth/login.html", error=error, username=username)
    headers = {"Retry-After": str(wait)} if wait else {}
    return page, status, headers


@bp.post("/logout")
@login_required
def logout():
    """Sign out."""
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language():
    """Switch the interface language; it sticks to the account and to this browser."""
    code = request.form.get("language", "")
    if code not in current_app.config["LANGUAGES"]:
        return redirect(_safe_next(request.form.get("next")))
    session["language"] = code
    if current_user.is_authenticated:
        current_user.user.language = code
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")))
