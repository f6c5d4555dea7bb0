"""Fixtures: the real app on PostgreSQL and Redis, and plain sessions on both databases.

The schema comes only from the migrations, run once per test session on each database.
Each test runs inside a transaction that is rolled back afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session

from desk import create_app, reference
from desk.extensions import db
from desk.guidance import content
from desk.training import spaces

# Apps the tests make themselves deliver the outbox in their requests: a delivery thread would
# outlive its test and use whatever database session a later test has put in place.
os.environ.setdefault("DESK_OUTBOX_THREAD", "0")
PG_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/desk_test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _recreate_pg_database(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def _migrated_app(database_url: str, tmp_path_factory, **config):
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret",
            "REDIS_URL": None,
            "DESK_JOBS_INLINE": True,
            # Each request delivers its own outbox events: no thread beside the test's.
            "DESK_OUTBOX_THREAD": False,
            # Every test signs in from 127.0.0.1: the limits are tested on their own.
            "DESK_RATE_LIMITS": {},
            # The training space's own database, next to this app's instance.
            "DESK_TRAINING_DATABASE_URL": f"sqlite:///{instance / 'training.db'}",
            **config,
        }
    )
    app.instance_path = str(instance)
    with app.app_context():
        upgrade()
        reference.load(db.session)
        db.session.commit()
        db.session.remove()
    spaces.prepare(app)
    return app


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The desk on PostgreSQL, migrated, with reference data."""
    _recreate_pg_database(PG_URL)
    app = _migrated_app(PG_URL, tmp_path_factory)
    yield app
    _dispose(app)


@pytest.fixture(scope="session")
def sqlite_app(tmp_path_factory):
    """The desk on the embedded default database (SQLite file), migrated."""
    path = tmp_path_factory.mktemp("sqlite") / "desk.db"
    app = _migrated_app(f"sqlite:///{path}", tmp_path_factory)
    yield app
    _dispose(app)


def _dispose(app) -> None:
    with app.app_context():
        for engine in db.engines.values():  # the training space's too, where it has one
            engine.dispose()


@pytest.fixture
def two_spaces(tmp_path_factory):
    """An app on a real SQLite database with its training database beside it."""
    real = tmp_path_factory.mktemp("real") / "desk.db"
    app = _migrated_app(f"sqlite:///{real}", tmp_path_factory)
    yield app
    _dispose(app)


@pytest.fixture(scope="session")
def engines(app, sqlite_app) -> dict[str, Engine]:
    with app.app_context():
        pg = db.engine
    with sqlite_app.app_context():
        lite = db.engine
    return {"postgresql": pg, "sqlite": lite}


@pytest.fixture(params=["postgresql", "sqlite"])
def session(request, engines) -> Iterator[Session]:
    """A plain SQLAlchemy session (no Flask) on each database, rolled back after the test."""
    engine = engines[request.param]
    with engine.connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint") as s:
            yield s
        transaction.rollback()


class _ConnectionBoundSession(FlaskSession):
    # Flask-SQLAlchemy's session picks the app's engine over a given bind; tests need the bind.
    def get_bind(self, *args, **kwargs):
        return self.bind if self.bind is not None else super().get_bind(*args, **kwargs)


@pytest.fixture
def app_session(app) -> Iterator[Session]:
    """The test's own session on one connection inside a transaction that is rolled back.

    Requests get their own `db.session` per app context, bound to the same connection, so they
    see the test's data and the test sees their changes (after a refresh), as separate users
    would; no app context is held across requests.
    """
    with app.app_context():
        engine = db.engine
    connection = engine.connect()
    transaction = connection.begin()
    original = db.session
    options = {"bind": connection, "join_transaction_mode": "create_savepoint"}
    db.session = db._make_scoped_session({**options, "class_": _ConnectionBoundSession})
    test_session = Session(**options)
    try:
        yield test_session
    finally:
        test_session.close()
        db.session = original
        transaction.rollback()
        connection.close()


@pytest.fixture
def client(app, app_session):
    return app.test_client()


@pytest.fixture
def browser(client):
    """The test client signed in and sending CSRF like a page (tests.web.Browser)."""
    from tests.web import Browser

    return Browser(client)


@pytest.fixture
def committed(app) -> Iterator[Engine]:
    """PostgreSQL with real commits (for concurrency); work tables emptied afterwards."""
    with app.app_context():
        engine = db.engine
    yield engine
    with engine.begin() as conn:
        # The access log refuses TRUNCATE (also by CASCADE from work_item): the test database's
        # superuser resets it with triggers off, as a DBA would.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            text(
                "TRUNCATE item_event, inbound_delivery, api_token, work_item, queue_membership, "
                "municipality_scope, user_account, instruction, response_template, "
                "outbound_endpoint, open_item_count, item_hour_count RESTART IDENTITY CASCADE"
            )
        )
    # Instruction versions name their authors (users): put the seeded content back.
    with app.app_context():
        content.load(db.session)
        db.session.commit()
        db.session.remove()


@pytest.fixture
def redis_url() -> str:
    from redis import Redis

    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield REDIS_URL
    connection.flushdb()
    connection.close()


# --- the real browser ------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
BROWSER_DB_URL = os.environ.get(
    "TEST_BROWSER_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/desk_browser"
)


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    """The desk served on a free port against its own PostgreSQL database: (url, engine)."""
    from tests.live import serve

    with serve(BROWSER_DB_URL, tmp_path_factory) as served:
        yield served


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live, request):
    """A fresh browser tab; the test fails on any console error or CSP violation."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="fi-FI")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    problems: list[str] = []
    allowed = getattr(request.node.get_closest_marker("console_allows"), "args", ())
    tab.on(
        "console",
        lambda m: (
            m.type == "error"
            and not any(a in m.text for a in allowed)
            and problems.append(f"{tab.url}: {m.text}")
        ),
    )
    tab.on("pageerror", lambda e: problems.append(f"{tab.url}: {e}"))
    tab.base_url = live[0]
    yield tab
    context.close()
    assert problems == [], "console errors or CSP violations"
