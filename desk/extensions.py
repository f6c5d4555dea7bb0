"""Flask extensions, created unbound and bound to the app in `create_app`."""

import select
import weakref

import psycopg
from flask import current_app
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, event, exc, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from .channels import Registry
from .models import Base
from .training.binding import SpaceSession

db = SQLAlchemy(model_class=Base, session_options={"class_": SpaceSession})
migrate = Migrate()
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()


@event.listens_for(Engine, "connect")
def _short_queries_on_postgresql(dbapi_connection, connection_record) -> None:
    """The desk's queries are short: compiling them (JIT) costs more than it saves, and on
    PostgreSQL it kicks in by cost estimate alone, adding tens of milliseconds to a page."""
    if type(dbapi_connection).__module__.startswith("psycopg"):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()


#: a SELECT, so that the transaction still counts as one that only read (below)
_GENERIC_PLANS = text("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)")


def plan_once(session: Session) -> None:
    """For the rest of this transaction, PostgreSQL plans each prepared statement once for
    whatever values it comes with (a generic plan), not again for each execution.

    For the situation view's statements it chose to plan afresh each time (a custom plan):
    with their many conditions that took longer than running them (1.0 ms of planning for
    0.4 ms of running, for what lies beyond a page). Their plans follow from their indexes,
    whatever the values. Not for every statement: a word search planned once for any words
    reads every open item (7.9 ms became 444 ms), so only where it was measured."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_GENERIC_PLANS)


#: psycopg connections whose transaction has run a statement other than a SELECT
_WROTE: weakref.WeakSet = weakref.WeakSet()


def _note_writes(conn, cursor, statement, parameters, context, executemany) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        _WROTE.add(cursor.connection)


def keep_prepared_statements(engine: Engine) -> None:
    """End a PostgreSQL transaction that only read with COMMIT, not ROLLBACK.

    psycopg prepares a statement on the server after its fifth execution on a connection,
    and forgets every prepared statement at every ROLLBACK (a rolled-back transaction may
    have changed what they refer to). A request that only reads ends in the pool's
    rollback, so nothing stayed prepared from one request to the next, and PostgreSQL
    planned every statement again on every execution: for the emergency watch 0.6 ms of
    planning for 0.2 ms of running. For a transaction that ran nothing but SELECTs, COMMIT
    and ROLLBACK end it alike (nothing to undo, the same locks released)."""
    if engine.dialect.name != "postgresql":
        return
    event.listen(engine, "before_cursor_execute", _note_writes)
    rollback, commit = engine.dialect.do_rollback, engine.dialect.do_commit

    def do_rollback(connection) -> None:
        # (SQLAlchemy may hand over its proxy of the connection: its `info` is its own)
        psycopg_connection = getattr(connection, "dbapi_connection", connection)
        if (
            psycopg_connection not in _WROTE
            and psycopg_connection.info.transaction_status == TransactionStatus.INTRANS
        ):
            psycopg_connection.commit()
        else:
            _WROTE.discard(psycopg_connection)
            rollback(connection)

    def do_commit(connection) -> None:
        commit(connection)
        _WROTE.discard(getattr(connection, "dbapi_connection", connection))

    engine.dialect.do_rollback = do_rollback
    engine.dialect.do_commit = do_commit


@event.listens_for(Pool, "checkout")
def _still_connected(dbapi_connection, connection_record, connection_proxy) -> None:
    """Before a pooled PostgreSQL connection serves a request: whether the server is still at
    its other end (the pessimistic check that `pool_pre_ping` makes, at less cost).

    `pool_pre_ping` asks the server (`SELECT 1`) at every checkout: a round trip per request,
    waited for behind whatever else the machine is doing. A server that restarts, crashes or
    ends the session says so on the socket first: an error message, then the end of the
    connection. So the socket of an idle connection is looked at (poll, no waiting), and
    only one that has something to say, or is not idle, is asked. A connection that fails
    the question invalidates the pool, as pre-ping does; the pool connects afresh, and a
    server still down fails that connect, which the desk answers with 503 (desk.errors)."""
    if not type(dbapi_connection).__module__.startswith("psycopg"):
        return  # SQLite: a file, nothing to lose touch with
    if _quiet(dbapi_connection):
        return
    try:
        _ping(dbapi_connection)
    except psycopg.OperationalError as lost:
        raise exc.InvalidatePoolError() from lost


def _ping(connection) -> None:
    if connection.info.transaction_status != TransactionStatus.IDLE:
        connection.rollback()  # what the pool's reset on return would have done
    autocommit = connection.autocommit
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connection.autocommit = autocommit


def _quiet(connection) -> bool:
    """Whether a psycopg connection is open, idle, and has heard nothing from the server."""
    if connection.closed or connection.broken:
        return False
    if connection.info.transaction_status != TransactionStatus.IDLE:
        return False
    watch = select.poll()
    watch.register(connection.fileno(), select.POLLIN | select.POLLPRI)
    return not watch.poll(0)


def channel_registry() -> Registry:
    """The channels in use by the current app (built from DESK_CHANNELS in create_app)."""
    return current_app.extensions["desk.channels"]
