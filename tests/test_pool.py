"""Pooled PostgreSQL connections are checked before use (desk.extensions._still_connected):
one whose server end has gone is replaced before it serves anything, and an idle one that has
heard nothing from the server is used without asking it (no round trip per request)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from desk import extensions

from .conftest import PG_URL


@pytest.fixture
def engine():
    engine = create_engine(PG_URL, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(monkeypatch) -> list:
    """Each time a connection is asked whether the server is there."""
    asked = []
    ping = extensions._ping

    def counted(connection) -> None:
        asked.append(connection)
        ping(connection)

    monkeypatch.setattr(extensions, "_ping", counted)
    return asked


def _pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _pooled(engine):
    return engine.pool._pool.queue[0].dbapi_connection


def _end_on_the_server(engine, pid: int) -> None:
    """End the session as a restart of PostgreSQL ends every session, and wait until its
    goodbye has reached the pooled connection's socket."""
    other = create_engine(PG_URL)
    try:
        with other.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        other.dispose()
    deadline = time.monotonic() + 5
    while extensions._quiet(_pooled(engine)):
        assert time.monotonic() < deadline, "the server's end of the connection did not close"
        time.sleep(0.02)


def test_a_connection_whose_server_end_has_gone_is_replaced_before_it_serves(engine, pings):
    first = _pid(engine)
    _end_on_the_server(engine, first)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != first
    assert len(pings) == 1


def test_an_idle_connection_that_heard_nothing_serves_without_a_question(engine, pings):
    server = _pid(engine)
    for _ in range(5):
        assert _pid(engine) == server
    assert pings == []
    # One inside a transaction the pool did not end is asked (it would not be quiet).
    raw = _pooled(engine)
    raw.execute("SELECT 1")  # begins a transaction on the pooled connection, behind its back
    assert not extensions._quiet(raw)
    assert _pid(engine) == server and len(pings) == 1
