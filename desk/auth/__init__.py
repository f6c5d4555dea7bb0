"""Authentication behind one seam: the region's single sign-on (Keycloak) in production,
local password accounts on the embedded default only.

Views call `authenticate` or `sign_in_with`; the rest of the app only sees `current_user`,
a `User` row. With SSO the tokens stay in `sso_session` on the server, are refreshed before
they expire, and a session ended at Keycloak ends the desk's at the next request.

Every sign-in, local or SSO, is a session on the server (desk.auth.sessions, `session["sid"]`):
signing out, the idle timeout (`DESK_SESSION_IDLE_MINUTES`) and the longest allowed session
(`DESK_SESSION_MAX_HOURS`) end it, and the sign-in page then says which. Only the person's own
requests are activity: the requests an open page makes by itself (`is_background`) are not,
or a page left open would never time out.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_url, logout_user
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, lazyload, with_expression
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db, login_manager
from ..models import (
    Municipality,
    MunicipalityScope,
    QueueMembership,
    SsoSession,
    User,
    UserSession,
    utcnow,
)
from ..training import spaces
from . import sessions
from .sso import Identity, Keycloak, Settings, SignInFailed, parse_role_map

#: tokens are refreshed this long before they expire
REFRESH_AHEAD = timedelta(seconds=30)

#: endpoints only an open page calls, by itself: the event stream (EventSource sends no
#: header of ours, and reconnects on its own), the item page's presence report every 20 s
#: and its end when the page closes, and every page's check for new emergencies
BACKGROUND_ENDPOINTS = frozenset(
    {"live.events", "items.presence", "items.leave", "work.emergencies"}
)
#: sent (`hx-headers`) by a page's polling elements whose URL is also a page the person opens:
#: the situation view's refresh of its numbers, My work's lists and the team board. A client
#: leaving it out only keeps its own session alive longer than it would be; sending it can
#: only make it end sooner.
BACKGROUND_HEADER = "X-Desk-Background"

#: the session's row not read yet in this request
_UNREAD = object()


class LoginUser:
    """Adapts a `User` row to flask-login without putting Flask into the model."""

    def __init__(self, user: User) -> None:
        self.user = user
        # Kept apart: after the request commits, reading the row's id would load it again
        # (with its queues and municipalities) only to write the id in the request's log line.
        self._id = str(user.id)

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self._id

    def __getattr__(self, name: str):
        return getattr(self.user, name)


def authenticate(username: str, password: str) -> User | None:
    """The active local account with this username and password, or None."""
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active or not user.password_hash:
        # Spend the same time as a real check so that usernames cannot be probed by timing.
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return user


def _gathered(table, column):
    """The user's codes in `column` of `table`, comma-separated ('' for none)."""
    return func.coalesce(
        select(func.aggregate_strings(column, ","))
        .where(table.c.user_id == User.id)
        .scalar_subquery(),
        "",
    )


_memberships = QueueMembership.__table__
_scopes = MunicipalityScope.__table__
#: the request's user, with the codes of their queues and municipalities gathered into one row
#: (`User.queue_list`, `User.municipality_list`): the collections themselves are read only if
#: something asks for them. Built once, so its cache key is not worked out again every request.
_USER = (
    select(User)
    .where(User.id == bindparam("user_id"))
    .options(
        lazyload(User.queues),
        lazyload(User.municipalities),
        with_expression(User.queue_list, _gathered(_memberships, _memberships.c.queue_code)),
        with_expression(User.municipality_list, _gathered(_scopes, _scopes.c.municipality_code)),
    )
)
#: the same with the browser's session (`sessions.Seen`), in the real desk
_USER_AND_SESSION = _USER.add_columns(*sessions.seen_columns()).outerjoin(
    UserSession, sessions.seen_join(bindparam("sid"), User.id)
)


def _signed_in(user_id: int) -> User | None:
    """The user of a request in one statement of one row, with the codes of their queues and
    municipalities (every request asks; a row for each queue and municipality cost a lead 133
    rows, and a professional's 42 took a fifth of My work's time under load).

    In the real desk the same statement reads the browser's session (`sessions.Seen`, left in
    `g` for `keep_session`): every request asks that too. In the training space the user is
    the training database's copy, and the session is the real database's: two statements."""
    sid = session.get("sid")
    if not sid or spaces.current() != spaces.REAL:
        return db.session.scalars(_USER, {"user_id": user_id}).one_or_none()
    row = db.session.execute(_USER_AND_SESSION, {"user_id": user_id, "sid": sid}).first()
    if row is None:
        return None
    user, created_at, last_seen_at = row
    g.desk_session_seen = None if created_at is None else sessions.Seen(created_at, last_seen_at)
    return user


def sso() -> Keycloak | None:
    """The configured Keycloak client, or None on the embedded default."""
    return current_app.extensions.get("desk_sso")


def provision(identity: Identity, store: Session | None = None) -> User:
    """The desk account of a Keycloak user, created or brought up to date from the token:
    name, role and municipalities follow Keycloak; queues stay the team leads' to set."""
    store = store or db.session
    user = store.scalar(select(User).where(User.sso_subject == identity.subject))
    if user is None:
        user = store.scalar(select(User).where(User.username == identity.username.lower()))
    if user is None:
        user = User(username=identity.username.lower(), password_hash=None)
        store.add(user)
    user.sso_subject = identity.subject
    user.display_name = identity.name or identity.username
    user.role = identity.role.value
    user.training_role = identity.training_role.value if identity.training_role else None
    known = store.scalars(
        select(Municipality).where(Municipality.code.in_(identity.municipalities))
    ).all()
    user.municipalities = list(known)
    store.flush()
    return user


def _moment(posix: float | None) -> datetime | None:
    return datetime.fromtimestamp(posix, UTC) if posix else None


def keep_tokens(
    identity: Identity, user: User, sid: str | None = None, store: Session | None = None
) -> SsoSession:
    """Store the tokens server-side under a random id (new, or the same after a refresh)."""
    store = store or db.session
    row = store.get(SsoSession, sid) if sid else None
    if row is None:
        row = SsoSession(id=secrets.token_urlsafe(32), user_id=user.id)
        store.add(row)
    row.access_token = identity.access_token
    row.refresh_token = identity.refresh_token
    row.id_token = identity.id_token
    row.idp_session_id = identity.claims.get("sid") or identity.claims.get("session_state")
    row.access_expires = _moment(identity.access_expires)
    row.refresh_expires = _moment(identity.refresh_expires)
    return row


def end_sso_sessions(store: Session, sid: str | None, sub: str | None) -> int:
    """End the desk's sessions that a back-channel logout names: by Keycloak's session id, or
    every session of the subject. Each browser is signed out at its next request."""
    query = delete(SsoSession)
    if sid:
        query = query.where(SsoSession.idp_session_id == sid)
    else:
        users = select(User.id).where(User.sso_subject == sub)
        query = query.where(SsoSession.user_id.in_(users))
    return store.execute(query).rowcount


def is_background() -> bool:
    """Whether the page made this request by itself (a poll, the event stream): not activity."""
    return request.endpoint in BACKGROUND_ENDPOINTS or request.headers.get(BACKGROUND_HEADER) == "1"


def _limits() -> sessions.Limits:
    config = current_app.config
    return sessions.Limits.of(config["DESK_SESSION_IDLE_MINUTES"], config["DESK_SESSION_MAX_HOURS"])


def _real_database():
    """This request's connection to the real database, where sessions live also for someone
    in the training space; in this request's transaction (the caller commits)."""
    return db.session.connection(bind_arguments={"bind": db.engine})


def begin_session(user: User) -> None:
    """A server-side session for someone who has just signed in; the cookie gets its id.
    Before `spaces.enter`; the caller commits."""
    session["sid"] = sessions.begin(_real_database(), user.id, utcnow(), _limits())


def end_session(reason: sessions.Ended) -> None:
    """Sign this browser out, and have the sign-in page say why in the person's language.

    Signing out deletes the session's row; a timed-out one keeps it (until a later sign-in
    clears old rows), so that a saved copy of the cookie is told the same reason. A timed-out
    SSO session ends at Keycloak too, or the next sign-in would pass without a password; the
    sign-out view ends Keycloak's itself, through the browser."""
    language = current_user.language if current_user.is_authenticated else None
    sid, sso_sid = session.get("sid"), session.get("sso_sid")
    if sid and reason == sessions.Ended.SIGNED_OUT:
        sessions.end(_real_database(), sid)
        db.session.commit()
    keycloak = sso()
    if keycloak is not None and sso_sid and reason != sessions.Ended.SIGNED_OUT:
        with Session(db.engine) as real:  # tokens live in the real database, in any space
            kept = real.get(SsoSession, sso_sid)
            if kept is not None:
                keycloak.logout(kept.refresh_token)
                real.delete(kept)
                real.commit()
    logout_user()
    session.clear()
    session["signed_out"] = {"reason": reason.value, "language": language}


def _session_ended() -> sessions.Ended | None:
    """Why this browser's session is over, or None; its activity recorded when due."""
    sid = session.get("sid")
    if not sid:
        return sessions.Ended.SIGNED_OUT  # signed in before sessions were kept on the server
    conn = _real_database()
    seen = g.pop("desk_session_seen", _UNREAD)  # read with the user (_signed_in), mostly
    if seen is _UNREAD:
        seen = sessions.read(conn, sid, int(current_user.get_id()))
    visit = sessions.visit(conn, sid, seen, utcnow(), _limits(), active=not is_background())
    if visit.wrote:
        db.session.commit()
    return visit.ended


def _unauthorized():
    """To the sign-in page, and back afterwards. An htmx request (an action, a page's poll)
    takes the whole page there (`HX-Redirect`) instead of swapping the sign-in page into a
    fragment; it is back at the page it was made from. When the database could not say who
    is signed in, the answer is 503: a database restart must not send everybody to sign in."""
    if g.get("desk_database_unavailable"):
        abort(503)
    if request.headers.get("HX-Request") == "true":
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
        back = page.path + (f"?{page.query}" if page.query else "")
        target = url_for("auth.login", next=back) if back else url_for("auth.login")
        return Response(status=401, headers={"HX-Redirect": target})
    return redirect(login_url(login_manager.login_view, next_url=request.url))


def set_password(user: User, password: str) -> None:
    """Store only a salted hash of the password."""
    user.password_hash = generate_password_hash(password)


_DUMMY_HASH = generate_password_hash("not a password")


def _refresh(keycloak: Keycloak, real: Session, sid: str) -> bool:
    """Refresh the SSO session's tokens (the caller found them about to expire); True if the
    session ended."""
    # Pages ask in parallel (polls, htmx): one refreshes, the others wait for it and then find
    # fresh tokens, so a single-use refresh token is never spent twice.
    kept = real.get(SsoSession, sid, with_for_update=True)
    if kept is None:
        return True
    if kept.access_expires - utcnow() > REFRESH_AHEAD:
        real.commit()
        return False
    try:
        identity = keycloak.refresh(kept.refresh_token or "")
    except SignInFailed:
        real.delete(kept)
        real.commit()
        return True
    keep_tokens(identity, provision(identity, real), sid=kept.id, store=real)
    real.commit()
    return False


def _configure_sso(app: Flask) -> None:
    settings = app.config.get("DESK_KEYCLOAK") or {}
    if not settings.get("server_url"):  # (production refuses that: config.production_problems)
        app.extensions["desk_sso"] = None
        return
    app.extensions["desk_sso"] = Keycloak(
        Settings(
            server_url=settings["server_url"],
            realm=settings["realm"],
            client_id=settings["client_id"],
            client_secret=settings.get("client_secret"),
            role_map=parse_role_map(settings.get("roles", "")),
            municipality_claim=settings.get("municipality_claim", "municipalities"),
        )
    )


def init_app(app: Flask) -> None:
    """Wire flask-login to the user table, and single sign-on when it is configured."""
    _configure_sso(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    login_manager.unauthorized_handler(_unauthorized)

    @app.before_request
    def keep_session():
        """A session signed out, idle or too old ends here, whatever cookie comes with it;
        the route policy then sends the browser to sign in."""
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        reason = _session_ended()
        if reason is not None:
            end_session(reason)
        return None

    @app.before_request
    def keep_sso_fresh():
        """With SSO: refresh the tokens before they expire; a session ended at Keycloak (or
        missing here) ends the desk's. Accounts and tokens live in the real database, also
        for someone working in the training space."""
        keycloak = sso()
        if keycloak is None or request.endpoint == "static" or not current_user.is_authenticated:
            return None
        sid = session.get("sso_sid", "")
        # Nearly always the tokens are fresh: read so on this request's own connection. A
        # refresh commits in a transaction of its own, so this request's work so far (the
        # session's activity) is committed first and its connection goes back to the pool:
        # a request never holds two, which at a pool's size of simultaneous requests (every
        # page reconnecting its stream at once) would wait for each other until they failed.
        expires = _real_database().scalar(
            select(SsoSession.access_expires).where(SsoSession.id == sid)
        )
        if expires is not None and expires - utcnow() > REFRESH_AHEAD:
            return None
        db.session.commit()
        with Session(db.engine) as real:
            ended = _refresh(keycloak, real, sid)
        if ended:
            if sid := session.get("sid"):
                sessions.end(_real_database(), sid)
                db.session.commit()
            logout_user()
            session.clear()
            flash(_("Your session has ended. Sign in again."), "info")
        return None  # the route policy sends a signed-out browser to sign in

    @login_manager.user_loader
    def load_user(user_id: str) -> LoginUser | None:
        try:
            user = _signed_in(int(user_id)) if user_id.isdigit() else None
        except SQLAlchemyError:
            # Without the database nobody is signed in for this request, so the error page
            # can still be shown; the session stays (_unauthorized answers 503, not sign-in).
            db.session.rollback()
            g.desk_database_unavailable = True
            return None
        return LoginUser(user) if user is not None and user.active else None
