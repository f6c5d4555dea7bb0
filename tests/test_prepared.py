"""A PostgreSQL transaction that only read ends with COMMIT, so that psycopg keeps the
statements it has prepared (desk.extensions.keep_prepared_statements); one that wrote
anything is still rolled back, and nothing it wrote survives."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from desk import extensions

from .conftest import PG_URL

PROBE = "SELECT count(*) FROM prepared_probe WHERE n > :n"


def _engine(keep: bool):
    engine = create_engine(PG_URL, pool_size=1, max_overflow=0)
    if keep:
        extensions.keep_prepared_statements(engine)
    return engine


@pytest.fixture
def engine():
    engine = _engine(keep=True)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS prepared_probe"))
        connection.execute(text("CREATE TABLE prepared_probe (n integer)"))
    yield engine
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE prepared_probe"))
    engine.dispose()


def _prepared_after_requests(engine, requests: int = 8) -> list[str]:
    """The statements prepared on the one pooled connection after `requests` transactions
    that each ran PROBE and ended as a request's does (the pool's rollback)."""
    for _ in range(requests):
        with engine.connect() as connection:
            connection.execute(text(PROBE), {"n": 1}).scalar_one()
    with engine.connect() as connection:
        return list(
            connection.execute(text("SELECT statement FROM pg_prepared_statements")).scalars()
        )


def test_a_statement_read_again_and_again_stays_prepared_from_one_request_to_the_next(engine):
    assert any("FROM prepared_probe WHERE n >" in s for s in _prepared_after_requests(engine))


def test_without_it_every_rollback_forgets_what_psycopg_prepared(engine):
    """Why the desk ends reading transactions with COMMIT: psycopg forgets every prepared
    statement at a ROLLBACK, so PostgreSQL planned each statement again on every request."""
    plain = _engine(keep=False)
    try:
        assert _prepared_after_requests(plain) == []
    finally:
        plain.dispose()


@pytest.mark.parametrize(
    "write",
    [
        "INSERT INTO prepared_probe VALUES (1)",
        "  /* a comment first */ INSERT INTO prepared_probe VALUES (1)",
        "WITH added AS (INSERT INTO prepared_probe VALUES (1) RETURNING n) SELECT n FROM added",
        "insert into prepared_probe values (1)",
    ],
)
def test_a_transaction_that_wrote_is_rolled_back_and_nothing_it_wrote_survives(engine, write):
    with engine.connect() as connection:
        connection.execute(text(PROBE), {"n": 0})
        connection.execute(text(write))
        connection.execute(text(PROBE), {"n": 0})  # reads after the write
        connection.rollback()
    with engine.connect() as connection:
        connection.execute(text("INSERT INTO prepared_probe VALUES (2)"))  # ends unfinished
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM prepared_probe")).scalar_one() == 0


def test_a_committed_write_is_kept_and_the_next_transaction_reads_it(engine):
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO prepared_probe VALUES (5)"))
    with engine.connect() as connection:
        assert connection.execute(text(PROBE), {"n": 1}).scalar_one() == 1


def test_planning_once_lasts_the_transaction_and_keeps_it_one_that_only_read(engine):
    """`plan_once` (the situation view's statements): generic plans for the rest of the
    transaction, not after it; and it is a SELECT, so the transaction still ends with COMMIT
    and what psycopg prepared in it stays prepared."""
    setting = text("SELECT current_setting('plan_cache_mode')")
    with Session(engine) as session:
        extensions.plan_once(session)
        assert session.execute(setting).scalar_one() == "force_generic_plan"
        for _ in range(6):
            session.execute(text(PROBE), {"n": 1}).scalar_one()
    with engine.connect() as connection:
        assert connection.execute(setting).scalar_one() == "auto"
        prepared = connection.execute(text("SELECT statement FROM pg_prepared_statements"))
        assert any("FROM prepared_probe WHERE n >" in s for s in prepared.scalars())
