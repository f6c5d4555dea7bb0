"""Security by default: headers with a strict Content Security Policy, role checks, htmx."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, request
from flask_login import current_user, login_required

from . import policy
from .models import Role, User
from .policy import ACCESS, PUBLIC, SOURCE_SYSTEM, SWITCHERS
from .ratelimit import FallbackLimiter, Limit, MemoryLimiter, RedisLimiter
from .training import spaces


def content_security_policy(sign_in_origin: str | None = None) -> str:
    """The strict policy; signing out through Keycloak submits a form that ends up there, so
    its origin is then allowed as a form target, and nothing else is."""
    form_targets = "'self'" + (f" {sign_in_origin}" if sign_in_origin else "")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action {form_targets}",
            "frame-ancestors 'none'",
        ]
    )


CSP = content_security_policy()


def same_site_path(target: str | None, fallback: str) -> str:
    r"""`target` if it is a path on this site, else `fallback`: every redirect that follows a
    value from the request (a form's `back`, sign-in's `next`) goes through here, so none leads
    to another site. Browsers read a backslash as a slash and drop tabs and line breaks inside
    an address (`/\evil.example` and `/<tab>/evil.example` both mean `//evil.example`), so a
    value with either, or any other control or invisible character, is refused whole."""
    if not isinstance(target, str) or not target:
        return fallback
    if any(c == "\\" or c.isspace() or unicodedata.category(c)[0] == "C" for c in target):
        return fallback
    if not target.startswith("/") or target.startswith("//"):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def me() -> User:
    """The signed-in user's row."""
    return current_user.user


def roles_required(*roles: Role) -> Callable:
    """Allow a view only to signed-in users with one of `roles` (checked on the server)."""
    allowed = {r.value for r in roles}

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


WORKERS = tuple(policy.WORKERS)


def is_htmx() -> bool:
    """Whether htmx sent this request (and wants a fragment)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")


def configured_limit(name: str) -> Limit:
    """The limit `name` as configured (DESK_RATE_LIMITS); unset is off."""
    return Limit.parse(current_app.config["DESK_RATE_LIMITS"].get(name, "0/60"))


def too_many(key: str, limit: str) -> int | None:
    """Count one hit of `key` against the configured limit `limit`; the seconds to wait when
    over it, else None."""
    return current_app.extensions["desk_limiter"].hit(key, configured_limit(limit))


def init_app(app: Flask) -> None:
    """Enforce the route policy on every request, and add the security headers to every
    response."""
    if app.config.get("REDIS_URL"):
        from .tasks import redis_client

        # Shared by every process; while Redis is down, each counts in memory (never a 500).
        app.extensions["desk_limiter"] = FallbackLimiter(
            RedisLimiter(redis_client(app.config["REDIS_URL"]))
        )
    else:
        app.extensions["desk_limiter"] = MemoryLimiter()

    @app.before_request
    def enforce_policy():
        if request.endpoint is None:
            return None  # no such route: the 404 follows
        rule = ACCESS.get(request.endpoint)
        if rule is None:
            abort(403)  # a route nobody has written a rule for is closed
        if rule in (PUBLIC, SOURCE_SYSTEM):
            return None
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if rule == SWITCHERS:
            if not spaces.may_switch(current_user.id):
                abort(403)
            return None
        if current_user.role not in rule:
            abort(403)
        if current_user.role in spaces.TRAINING_ROLES and spaces.current() != spaces.TRAINING:
            abort(403)  # a trainee's or trainer's session is never in the real desk
        return None

    keycloak = app.extensions.get("desk_sso")
    origin = None
    if keycloak is not None:
        parts = urlsplit(keycloak.settings.server_url)
        origin = f"{parts.scheme}://{parts.netloc}"
    policy_text = content_security_policy(origin)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = policy_text
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        response.vary.add("HX-Request")
        if request.endpoint != "static":
            # Pages, fragments, downloads and API answers carry personal data: never keep
            # them in a shared or browser cache. Only the static files are cacheable.
            response.headers["Cache-Control"] = "no-store"
        return response
