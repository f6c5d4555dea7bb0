"""Configuration from the environment, with the embedded default when nothing is set."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

LANGUAGES = ("fi", "sv", "en")


def _secret_key(instance_path: str) -> str:
    # Never in the repository: from the environment, or generated once into instance/.
    if key := os.environ.get("DESK_SECRET_KEY"):
        return key
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def from_environment(instance_path: str) -> dict:
    """The settings, read from environment variables (see README)."""
    from .reference import REFERENCE_FILE

    database_url = os.environ.get("DATABASE_URL", f"sqlite:///{Path(instance_path) / 'desk.db'}")
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    redis_url = os.environ.get("REDIS_URL") or None
    training_url = os.environ.get(
        "DESK_TRAINING_DATABASE_URL", f"sqlite:///{Path(instance_path) / 'training.db'}"
    )
    if training_url.startswith("postgresql://"):
        training_url = "postgresql+psycopg://" + training_url.removeprefix("postgresql://")
    return {
        "SECRET_KEY": _secret_key(instance_path),
        # Generated into instance/ when DESK_SECRET_KEY is not set: fine for one machine's
        # embedded default, refused in production (every process must sign alike, and a key
        # on a server's disk beside the code is not a managed secret).
        "DESK_SECRET_KEY_GENERATED": not os.environ.get("DESK_SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # The training space's own database (desk/spaces.py): never the real one.
        "DESK_TRAINING_DATABASE_URL": training_url,
        # Statement parameters are residents' data: never in an error's text, nor a log line.
        # Pooled connections are checked before use by desk.extensions._still_connected (a
        # database restart costs a reconnect, never a page), not by `pool_pre_ping`.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        # One JSON object a log line (desk.logs); DESK_LOG_LEVEL: DEBUG, INFO, WARNING, ERROR.
        "DESK_LOG_LEVEL": os.environ.get("DESK_LOG_LEVEL", "INFO"),
        # Retention (README, "Retention"): a resolved item's resident data is erased this many
        # days after its resolution; the training space's, this many days after its session.
        "DESK_RETENTION_DAYS": int(os.environ.get("DESK_RETENTION_DAYS", "90")),
        "DESK_TRAINING_RETENTION_DAYS": int(os.environ.get("DESK_TRAINING_RETENTION_DAYS", "30")),
        # A bearer token that may read /metrics from another host (loopback may without).
        "DESK_METRICS_TOKEN": os.environ.get("DESK_METRICS_TOKEN") or None,
        "REDIS_URL": redis_url,
        # Without Redis, jobs run in-process as soon as they are enqueued.
        "DESK_JOBS_INLINE": redis_url is None,
        # Without Redis, the outbox is delivered by a thread of the app's own (so a slow
        # receiver never holds up a click); off, each request delivers its own events.
        "DESK_OUTBOX_THREAD": os.environ.get("DESK_OUTBOX_THREAD", "1") != "0",
        "BABEL_DEFAULT_LOCALE": "fi",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Helsinki",
        "LANGUAGES": LANGUAGES,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("DESK_SECURE_COOKIES") == "1",
        "REMEMBER_COOKIE_SECURE": os.environ.get("DESK_SECURE_COOKIES") == "1",
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 256 * 1024,
        # Hits per seconds; "0/60" switches one off (e.g. DESK_RATE_API_TOKEN=0/60 for a load test).
        "DESK_RATE_LIMITS": {
            name: os.environ.get(f"DESK_RATE_{name.upper()}", default)
            for name, default in (
                ("login_address", "30/300"),  # sign-in attempts from one address
                ("login_user", "10/900"),  # sign-in attempts for one user name
                ("api_token", "6000/60"),  # deliveries and look-ups of one source system
                ("api_refused", "60/60"),  # requests without a valid token, per address
            )
        },
        # Single sign-on with the region's Keycloak (see README, "Sign-in"); unset: local
        # accounts, which only the embedded default may use.
        "DESK_KEYCLOAK": {
            "server_url": os.environ.get("DESK_KEYCLOAK_URL", ""),
            "realm": os.environ.get("DESK_KEYCLOAK_REALM", ""),
            "client_id": os.environ.get("DESK_KEYCLOAK_CLIENT_ID", ""),
            "client_secret": os.environ.get("DESK_KEYCLOAK_CLIENT_SECRET") or None,
            "roles": os.environ.get(
                "DESK_KEYCLOAK_ROLES",
                "desk-professional=professional,desk-team-lead=team_lead,"
                "desk-trainer=trainer,desk-admin=admin,desk-auditor=auditor",
            ),
            "municipality_claim": os.environ.get(
                "DESK_KEYCLOAK_MUNICIPALITY_CLAIM", "municipalities"
            ),
        },
        # A signed-in session ends after this long without activity, and after this long in
        # any case (local accounts and SSO alike; see desk/sessions.py).
        "DESK_SESSION_IDLE_MINUTES": int(os.environ.get("DESK_SESSION_IDLE_MINUTES", "30")),
        "DESK_SESSION_MAX_HOURS": int(os.environ.get("DESK_SESSION_MAX_HOURS", "10")),
        # How many proxies in front of the desk set X-Forwarded-For, -Proto and -Host: their
        # word is taken for the client's address and the public URL. 0: nobody's.
        "DESK_TRUSTED_PROXIES": int(os.environ.get("DESK_TRUSTED_PROXIES", "0")),
        # Behind trusted proxies that stamp X-Request-Start (README's nginx block): a request
        # that waited longer than this before a worker took it is answered 503 at once,
        # changing nothing, instead of being worked on for a client that has given up.
        "DESK_QUEUE_DEADLINE_SECONDS": float(os.environ.get("DESK_QUEUE_DEADLINE_SECONDS", "30")),
        # A production configuration refuses to start without what production needs
        # (`production_problems`).
        "DESK_PRODUCTION": os.environ.get("DESK_PRODUCTION") == "1",
        # How often an open item page reports that someone still has it open.
        "DESK_PRESENCE_POLL_SECONDS": 20,
        # Without Redis (no live stream) how often My work, the team board and every worker's
        # page ask for changes and new emergencies.
        "DESK_POLL_SECONDS": int(os.environ.get("DESK_POLL_SECONDS", "15")),
        # My work's lists pushed by the live stream: each view rendered at most this often
        "DESK_PUSH_SECONDS": float(os.environ.get("DESK_PUSH_SECONDS", "0.5")),
        # … and at least this often while it has pages (its rows' times move on)
        "DESK_PUSH_REFRESH_SECONDS": float(os.environ.get("DESK_PUSH_REFRESH_SECONDS", "60")),
        # The reference data: municipalities, system areas, queues and routing rules.
        "DESK_REFERENCE_FILE": Path(os.environ.get("DESK_REFERENCE_FILE", REFERENCE_FILE)),
        # The channels in use: packages under desk/channels/ or dotted paths of modules.
        "DESK_CHANNELS": os.environ.get(
            "DESK_CHANNELS", "chat,omaolo,eform,help_request,callback"
        ).split(","),
    }


#: the shortest secret key production accepts: 32 bytes' worth of hex (`secrets.token_hex(32)`
#: is 64 characters; a passphrase of 32 characters is the floor)
MIN_SECRET_KEY = 32


def production_problems(config) -> list[str]:
    """What a production configuration (DESK_PRODUCTION=1) lacks, each saying what to set; an
    empty list when it may start. The embedded default's conveniences (a generated key,
    SQLite, in-process jobs, cookies over plain HTTP, local passwords) are each a refusal."""
    if not config.get("DESK_PRODUCTION"):
        return []
    problems = []
    key = config.get("SECRET_KEY") or ""
    if config.get("DESK_SECRET_KEY_GENERATED"):
        problems.append(
            "the secret key was generated into instance/: set DESK_SECRET_KEY to a managed "
            "secret shared by every process (e.g. `python -c 'import secrets; "
            "print(secrets.token_hex(32))'`)"
        )
    elif len(key) < MIN_SECRET_KEY:
        problems.append(
            f"DESK_SECRET_KEY is {len(key)} characters: set one of at least {MIN_SECRET_KEY} "
            "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    database = config.get("SQLALCHEMY_DATABASE_URI") or ""
    if database.startswith("sqlite"):
        problems.append("the database is SQLite: set DATABASE_URL=postgresql://…")
    training = config.get("DESK_TRAINING_DATABASE_URL") or ""
    if training.startswith("sqlite"):
        problems.append(
            "the training space's database is SQLite: set DESK_TRAINING_DATABASE_URL="
            "postgresql://… (a database of its own)"
        )
    elif training and training == database:
        problems.append(
            "DESK_TRAINING_DATABASE_URL is the real database: give the training space a "
            "database of its own"
        )
    if not config.get("REDIS_URL"):
        problems.append("REDIS_URL is not set: set REDIS_URL=redis://… (jobs, live pages)")
    if not config.get("SESSION_COOKIE_SECURE"):
        problems.append("cookies would travel over plain HTTP: set DESK_SECURE_COOKIES=1")
    if not (config.get("DESK_KEYCLOAK") or {}).get("server_url"):
        problems.append(
            "Keycloak is not set (local accounts are for the embedded default only): set "
            "DESK_KEYCLOAK_URL, DESK_KEYCLOAK_REALM and DESK_KEYCLOAK_CLIENT_ID"
        )
    return problems
