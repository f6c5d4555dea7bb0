"""Signing in and out, and choosing the interface language."""

from __future__ import annotations

import secrets
from contextlib import nullcontext

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user
from sqlalchemy.orm import Session

from .. import auth
from ..auth import sessions
from ..auth.sso import SignInFailed
from ..extensions import csrf, db
from ..i18n import FORMATS
from ..models import SsoSession
from ..security import configured_limit, same_site_path, too_many
from ..training import spaces

bp = Blueprint("auth", __name__)


def home() -> str:
    """Where a signed-in user starts: auditors at the access log, everyone else at My work."""
    if current_user.is_authenticated and current_user.role == "auditor":
        return url_for("audit.index")
    return url_for("work.index")


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never redirect a signed-in user to another site.
    return same_site_path(target, home())


def _attempt_allowed(username: str) -> int | None:
    """Whether a sign-in attempt may be checked: None, or the seconds to wait.

    Only failures should use up the limits, or an office signing in behind one address (or
    one person signing in often) would be locked out. The person's count is taken before the
    password is checked, so that parallel guesses cannot slip past it, and forgotten when the
    sign-in succeeds (`_attempt_ended`); the address's count is only looked at here and grows
    by failures alone, as a success cannot clear another person's attempts from it."""
    limiter = current_app.extensions["desk_limiter"]
    address = f"login:address:{request.remote_addr}"
    return limiter.peek(address, configured_limit("login_address")) or limiter.hit(
        f"login:user:{username}", configured_limit("login_user")
    )


def _attempt_ended(username: str, succeeded: bool) -> None:
    limiter = current_app.extensions["desk_limiter"]
    if succeeded:
        limiter.reset(f"login:user:{username}")
    else:
        limiter.hit(f"login:address:{request.remote_addr}", configured_limit("login_address"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with a local account."""
    if current_user.is_authenticated:
        return redirect(home())
    error = None
    status = 200
    wait = None
    username = request.form.get("username", "").strip().lower()
    if auth.sso() is not None and request.method == "POST":
        # In production everyone signs in through the region's Keycloak.
        error, status = _("Sign in with the region's account."), 403
    elif request.method == "POST":
        wait = _attempt_allowed(username)
    if wait:
        error = _(
            "Too many sign-in attempts. Try again in %(minutes)d min.",
            minutes=max(1, round(wait / 60)),
        )
        status = 429
    elif request.method == "POST" and status == 200:
        user = auth.authenticate(username, request.form.get("password", ""))
        _attempt_ended(username, succeeded=user is not None)
        if user is None:
            error = _("Wrong username or password.")
            status = 401
        else:
            chosen = session.get("language")
            session.clear()
            login_user(auth.LoginUser(user))
            auth.begin_session(user)
            if chosen in current_app.config["LANGUAGES"] and chosen != user.language:
                user.language = chosen
            db.session.commit()
            _choose_space(user)
            return redirect(_safe_next(request.args.get("next")))
    headers = {"Retry-After": str(wait)} if wait else {}
    return _login_page(error, request.form.get("username", "")), status, headers


def _signed_out_notice(reason: str) -> str:
    config = current_app.config
    if reason == sessions.Ended.IDLE:
        minutes = config["DESK_SESSION_IDLE_MINUTES"]
        return ngettext(
            "You were signed out after %(num)d minute without activity.",
            "You were signed out after %(num)d minutes without activity.",
            minutes,
        )
    if reason == sessions.Ended.LONGEST:
        hours = config["DESK_SESSION_MAX_HOURS"]
        return ngettext(
            "You were signed out: a session lasts at most %(num)d hour.",
            "You were signed out: a session lasts at most %(num)d hours.",
            hours,
        )
    return _("You have signed out.")


def _login_page(error: str | None, username: str) -> str:
    """The sign-in page; once after a session ended, saying why, in that person's language."""
    ended = session.pop("signed_out", None)
    if not isinstance(ended, dict):
        ended = None
    language = ended and ended.get("language")
    locale = FORMATS.get(language) if language in current_app.config["LANGUAGES"] else None
    with force_locale(locale) if locale else nullcontext():
        return render_template(
            "auth/login.html",
            error=error,
            username=username,
            sso=auth.sso() is not None,
            notice=_signed_out_notice(ended.get("reason", "")) if ended else None,
        )


FAILURES = {
    "state": _l("The sign-in was interrupted or came from elsewhere. Sign in again."),
    "code_refused": _l("The sign-in could not be completed. Sign in again."),
    "no_role": _l("Your account has no role in the desk. Ask your team lead for access."),
    "expired": _l("The sign-in had expired. Sign in again."),
}


def _failed(code: str):
    current_app.logger.warning("single sign-on refused: %s", code)
    message = FAILURES.get(code, _l("The sign-in could not be verified. Sign in again."))
    page = render_template("auth/login.html", error=str(message), username="", sso=True)
    return page, 403 if code == "no_role" else 401


@bp.get("/login/sso")
def sso_start():
    """Off to the region's Keycloak, with a fresh state, nonce and PKCE verifier."""
    sso = auth.sso()
    if sso is None:
        abort(404)
    begun = sso.begin(url_for("auth.callback", _external=True))
    session["sso_flow"] = {
        "state": begun.state,
        "nonce": begun.nonce,
        "verifier": begun.verifier,
        "next": request.args.get("next"),
    }
    return redirect(begun.url)


@bp.get("/login/callback")
def callback():
    """Back from Keycloak: check the state, exchange the code, verify the tokens, sign in."""
    sso = auth.sso()
    if sso is None:
        abort(404)
    flow = session.pop("sso_flow", None)
    state = request.args.get("state", "")
    if not flow or not secrets.compare_digest(state, flow["state"]):
        return _failed("state")
    if request.args.get("error") or not request.args.get("code"):
        return _failed("code_refused")
    try:
        identity = sso.finish(
            request.args["code"],
            url_for("auth.callback", _external=True),
            flow["nonce"],
            flow["verifier"],
        )
    except SignInFailed as failure:
        return _failed(failure.code)
    user = auth.provision(identity)
    kept = auth.keep_tokens(identity, user)
    chosen = session.get("language")
    session.clear()  # a new session on every sign-in
    if chosen:
        session["language"] = chosen
    session["sso_sid"] = kept.id
    login_user(auth.LoginUser(user))
    auth.begin_session(user)
    db.session.commit()
    _choose_space(user)
    return redirect(_safe_next(flow.get("next")))


def _choose_space(user) -> None:
    """Trainers and trainees work in the training space, with their account mirrored there;
    everyone else, those with a training role beside a real one too, starts in the real desk.
    Called last: from here on this request's queries go to the chosen space's database."""
    if user.role in spaces.TRAINING_ROLES:
        spaces.mirror(user)
        spaces.enter(spaces.TRAINING)
    elif user.training_role in spaces.TRAINING_ROLES:
        session["switchable"] = True  # shows the way between the spaces


@bp.post("/login/backchannel-logout")
@csrf.exempt
def backchannel_logout():
    """Keycloak ends a session (an administrator, the user elsewhere, its own timeout) and
    tells the desk over the back channel: the desk's sessions of it end at once. Configure
    this URL as the client's "Backchannel logout URL" in Keycloak. Server to server: no
    cookie and no CSRF token; the signed logout token is the proof."""
    sso = auth.sso()
    if sso is None:
        abort(404)
    wait = too_many(f"backchannel:{request.remote_addr}", "api_refused")
    if wait:
        return _no_store({"error": "too_many_requests"}, 429, {"Retry-After": str(wait)})
    token = request.form.get("logout_token", "")
    try:
        sid, sub = sso.logout_subject(token)
    except SignInFailed as failure:
        current_app.logger.warning("back-channel logout refused: %s", failure.code)
        return _no_store({"error": "invalid_request", "reason": failure.code}, 400)
    with Session(db.engine) as real:  # SSO sessions live in the real database
        ended = auth.end_sso_sessions(real, sid, sub)
        real.commit()
    current_app.logger.info("back-channel logout ended %d desk session(s)", ended)
    return _no_store({}, 200)


def _no_store(body: dict, status: int, headers: dict | None = None):
    return body, status, {"Cache-Control": "no-store", **(headers or {})}


@bp.post("/logout")
@login_required
def logout():
    """Sign out; with SSO, the Keycloak session ends too (back channel, then the browser)."""
    sso = auth.sso()
    sid = session.get("sso_sid", "")
    auth.end_session(sessions.Ended.SIGNED_OUT)  # no copy of the cookie opens anything now
    if sso is None:
        return redirect(url_for("auth.login"))
    with Session(db.engine) as real:  # tokens live in the real database, in any space
        kept = real.get(SsoSession, sid)
        if kept is None:
            return redirect(url_for("auth.login"))
        sso.logout(kept.refresh_token)
        end = sso.end_session_url(kept.id_token, url_for("auth.login", _external=True))
        real.delete(kept)
        real.commit()
    return redirect(end)


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
