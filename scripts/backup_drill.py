"""The backup and restore drill: back up a running desk's database, restore it into a new one,
and show that the restored desk is the same desk (docs/operations.md, "Backup and restore").

    .venv/bin/python -m scripts.backup_drill [--database-url URL] [--restore-name NAME]
        [--dump-file PATH] [--jobs N] [--keep]

1. `pg_dump --format=custom` of the source, while the desk runs.
2. A new database (`<db>_restore_<timestamp>` unless named), `pg_restore --no-owner
   --exit-on-error` into it.
3. The restored data against the source's (below), and the restored schema against the
   source's: every column, index, constraint, trigger, function and extension (a partial
   index's predicate only as being there: PostgreSQL prints one it re-read differently).
4. `flask desk init` on the restored database, as an operator runs it before starting the
   desk: alembic must have nothing to run (the restored revision is the code's head, before
   and after) and nothing may change (schema and data read again).
5. The append-only access log still refuses DELETE, UPDATE and TRUNCATE; every id sequence is
   at or past its table's largest id (new rows get new ids).
6. The desk on the restored database answers `/readyz` 200, and the newest item's page renders
   for a signed-in professional (an account made for the drill in the restored copy only).

The restored database is dropped at the end unless --keep. The exit status is 0 when every
check passed, 1 otherwise.

**What "the same data" means, exactly.** The source keeps changing while the desk runs, so
the drill does not compare with the source as it is afterwards. It opens one REPEATABLE READ
transaction on the source, exports its snapshot (`pg_export_snapshot()`) and gives it to
pg_dump (`--snapshot`): the dump is that snapshot. The source's side of the comparison is read
inside the same transaction, so it is that snapshot too, however much the desk writes
meanwhile. The restored copy must then show exactly: every table's row count; `work_item`'s ids
and a checksum of (id, status, queue_code, updated_at) of every row; `access_log`'s every column
of every row; the alembic revision. The checksums are md5 over the rows in id order, taken in
chunks of 100,000 ids (a database's text value has a 1 GB limit). Without `--snapshot` pg_dump
takes a snapshot of its own in the same way; the drill only makes it the one it compares with.

The drill connects to the source read-only; it writes only to the database it creates.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import make_url

#: the production shape's database (scripts/production.sh)
DEFAULT_SOURCE = "postgresql://postgres@127.0.0.1:5432/desk_prod"
#: rows a checksum chunk covers (its text must stay far below PostgreSQL's 1 GB)
CHUNK = 100_000
#: the drill's own account in the restored copy (never in the source)
DRILL_USER = "backup-drill"

# --- connections ---------------------------------------------------------------------------


def libpq_url(url: str, database: str | None = None) -> str:
    """`url` (SQLAlchemy's or libpq's form) as libpq takes it; on `database` if given."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def database_of(url: str) -> str:
    return make_url(url).database or ""


def connect(url: str, **kwargs) -> psycopg.Connection:
    """A connection whose text forms of times are the same whatever the server's defaults."""
    connection = psycopg.connect(libpq_url(url), **kwargs)
    connection.execute("SET TIME ZONE 'UTC'")
    connection.execute("SET DateStyle = 'ISO, YMD'")
    connection.execute("SET IntervalStyle = 'iso_8601'")
    connection.execute("SET extra_float_digits = 3")
    if not kwargs.get("autocommit"):
        connection.commit()
    return connection


# --- what is compared ------------------------------------------------------------------------


@dataclass
class Fingerprint:
    """A database's state as the drill compares it (see the module's notes)."""

    revision: str | None
    counts: dict[str, int]
    work_item_ids: str
    work_item_rows: str
    access_log_rows: str
    schema: str
    schema_lines: list[str] = field(default_factory=list, repr=False)


#: the schema, one line an object. A partial index's predicate is left out: PostgreSQL prints
#: the one it re-read from a dump otherwise (`ANY ((ARRAY['new'::character varying])::text[])`
#: becomes `ANY (ARRAY[('new'::character varying)::text])`), the same predicate all the same.
SCHEMA = """
SELECT x FROM (
  SELECT format('column %s.%s %s %s %s', table_name, column_name, data_type, is_nullable,
                column_default)
  FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL
  SELECT format('index %s', regexp_replace(indexdef, ' WHERE .*$', ' WHERE (a predicate)'))
  FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL
  SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL
  SELECT format('trigger %s %s', tgenabled, pg_get_triggerdef(oid))
  FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL
  SELECT format('function %s(%s) %s', proname, pg_get_function_arguments(oid), md5(prosrc))
  FROM pg_proc WHERE pronamespace = 'public'::regnamespace
  UNION ALL
  SELECT format('extension %s %s', extname, extversion) FROM pg_extension
  UNION ALL
  SELECT format('sequence %s', sequencename) FROM pg_sequences WHERE schemaname = 'public'
) AS s(x)
"""


def _chunked_md5(connection: psycopg.Connection, row: str, table: str) -> str:
    """md5 over `row` (an SQL expression of `t`) of every row of `table` in id order."""
    query = sql.SQL(
        """
        SELECT coalesce(md5(string_agg(chunk_md5, '' ORDER BY chunk)), '')
        FROM (SELECT t.id / {chunk} AS chunk,
                     md5(string_agg({row}, E'\\n' ORDER BY t.id)) AS chunk_md5
              FROM {table} AS t GROUP BY 1) AS chunks
        """
    ).format(chunk=sql.Literal(CHUNK), row=sql.SQL(row), table=sql.Identifier(table))
    return connection.execute(query).fetchone()[0]


def fingerprint(connection: psycopg.Connection) -> Fingerprint:
    """Read on `connection` as it is (inside whatever transaction it is in)."""
    tables = [
        name
        for (name,) in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]
    counts = {
        name: connection.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))
        ).fetchone()[0]
        for name in tables
    }
    revision = None
    if "alembic_version" in tables:
        found = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = found[0] if found else None
    # Sorted here, not by the database, whose collation may differ between the two.
    schema_lines = sorted(line for (line,) in connection.execute(SCHEMA))
    return Fingerprint(
        revision=revision,
        counts=counts,
        work_item_ids=_chunked_md5(connection, "t.id::text", "work_item"),
        work_item_rows=_chunked_md5(
            connection, "concat_ws('|', t.id, t.status, t.queue_code, t.updated_at)", "work_item"
        ),
        access_log_rows=_chunked_md5(connection, "t::text", "access_log"),
        schema=_md5_lines(schema_lines),
        schema_lines=schema_lines,
    )


def _md5_lines(lines: list[str]) -> str:
    return hashlib.md5("\n".join(lines).encode(), usedforsecurity=False).hexdigest()


def compare(expected: Fingerprint, found: Fingerprint) -> list[str]:
    """What differs between two fingerprints, in words; empty when they are the same."""
    problems = []
    if expected.revision != found.revision:
        problems.append(f"alembic revision {found.revision}, expected {expected.revision}")
    for table in sorted(set(expected.counts) | set(found.counts)):
        want, got = expected.counts.get(table), found.counts.get(table)
        if want != got:
            problems.append(f"{table}: {got} rows, expected {want}")
    if expected.work_item_ids != found.work_item_ids:
        problems.append("work_item: the ids differ")
    if expected.work_item_rows != found.work_item_rows:
        problems.append("work_item: the checksum of (id, status, queue_code, updated_at) differs")
    if expected.access_log_rows != found.access_log_rows:
        problems.append("access_log: the checksum of its rows differs")
    if expected.schema != found.schema:
        missing = sorted(set(expected.schema_lines) - set(found.schema_lines))
        extra = sorted(set(found.schema_lines) - set(expected.schema_lines))
        listed = [f"missing {m}" for m in missing[:5]] + [f"extra {e}" for e in extra[:5]]
        problems.append("schema differs: " + "; ".join(listed))
    return problems


def read_fingerprint(url: str) -> Fingerprint:
    """The fingerprint of the database at `url` now (in one REPEATABLE READ transaction)."""
    with connect(url) as connection:
        connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        found = fingerprint(connection)
        connection.rollback()
        return found


# --- the steps -------------------------------------------------------------------------------


@dataclass
class Dumped:
    path: Path
    seconds: float
    size: int
    source: Fingerprint
    #: time.monotonic() when pg_dump started and ended (a test writes meanwhile)
    window: tuple[float, float]
    #: the seconds reading the source's fingerprint took (in the dump's snapshot)
    read_seconds: float = 0.0


def dump(source_url: str, path: Path) -> Dumped:
    """pg_dump the source in a snapshot the drill also reads the source's fingerprint in."""
    with connect(source_url) as connection:
        connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = connection.execute("SELECT pg_export_snapshot()").fetchone()[0]
        started = time.monotonic()
        done = subprocess.run(  # noqa: S603 (pg_dump, with the drill's own arguments)
            [
                _tool("pg_dump"),
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={path}",
                f"--dbname={libpq_url(source_url)}",
            ],
            capture_output=True,
            text=True,
        )
        ended = time.monotonic()
        if done.returncode != 0:
            raise DrillError(f"pg_dump failed: {done.stderr.strip()}")
        source = fingerprint(connection)
        connection.rollback()
    read = time.monotonic() - ended
    return Dumped(path, ended - started, path.stat().st_size, source, (started, ended), read)


def create_database(source_url: str, name: str) -> str:
    """A new, empty database beside the source (from template0, as a restore needs)."""
    with connect(libpq_url(source_url, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    return libpq_url(source_url, name)


def drop_database(url: str) -> None:
    name = database_of(url)
    with connect(libpq_url(url, "postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def restore(path: Path, target_url: str, jobs: int = 1) -> float:
    """pg_restore the dump into the (new, empty) target; its seconds."""
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 (pg_restore, with the drill's own arguments)
        [
            _tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            f"--jobs={jobs}",
            f"--dbname={libpq_url(target_url)}",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise DrillError(f"pg_restore failed: {done.stderr.strip()}")
    return time.monotonic() - started


def check_append_only(url: str) -> tuple[list[str], str]:
    """Whether the restored access log still refuses DELETE, UPDATE and TRUNCATE; (problems,
    what was found). Every attempt is rolled back, whatever happens."""
    problems, refused = [], []
    with connect(url) as connection:
        first = connection.execute("SELECT min(id) FROM access_log").fetchone()[0]
        attempts = [("TRUNCATE", "TRUNCATE access_log")]
        if first is not None:
            attempts += [
                ("DELETE", "DELETE FROM access_log WHERE id = %(id)s"),
                ("UPDATE", "UPDATE access_log SET purpose = purpose WHERE id = %(id)s"),
            ]
        for name, statement in attempts:
            try:
                connection.execute(statement, {"id": first} if "%(id)s" in statement else None)
            except psycopg.errors.RaiseException as error:
                if "append-only" in str(error):
                    refused.append(name)
                else:
                    problems.append(f"access_log: {name} failed otherwise: {error}")
            else:
                problems.append(f"access_log: {name} was not refused (the trigger is missing)")
            finally:
                connection.rollback()
        if first is None:
            # No row to fire a row trigger on: the triggers must be there and enabled.
            found = {
                name
                for (name,) in connection.execute(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'access_log'::regclass "
                    "AND NOT tgisinternal AND tgenabled <> 'D'"
                )
            }
            if "access_log_append_only" not in found:
                problems.append("access_log: the row trigger access_log_append_only is missing")
            connection.rollback()
    said = ", ".join(refused) or "nothing"
    return problems, f"access_log refuses {said}" + ("" if first else " (no rows to try)")


def check_sequences(url: str) -> list[str]:
    """Every sequence owned by a column is at or past that column's largest value."""
    problems = []
    with connect(url) as connection:
        owned = connection.execute(
            """
            SELECT s.relname, t.relname, a.attname
            FROM pg_class s
            JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
            JOIN pg_class t ON t.oid = d.refobjid
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
            WHERE s.relkind = 'S' AND s.relnamespace = 'public'::regnamespace
            """
        ).fetchall()
        for sequence, table, column in owned:
            last, called = connection.execute(
                sql.SQL("SELECT last_value, is_called FROM {}").format(sql.Identifier(sequence))
            ).fetchone()
            largest = connection.execute(
                sql.SQL("SELECT max({}) FROM {}").format(
                    sql.Identifier(column), sql.Identifier(table)
                )
            ).fetchone()[0]
            if largest is not None and (last < largest or (last == largest and not called)):
                problems.append(f"{sequence} would give {table}.{column} an id it has ({largest})")
        connection.rollback()
    return problems


class DrillError(Exception):
    """A step could not be done (a tool failed, a database refused)."""


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise DrillError(f"{name} is not installed (Debian: postgresql-client)")
    return found


# --- the desk on the restored database -------------------------------------------------------


@contextmanager
def restored_app(url: str, workdir: Path):
    """The desk's app on the restored database: no Redis, no outbox thread (a restored copy
    must never deliver the source's events to real receivers), local sign-in (the drill's
    own account), and the training space on a throwaway SQLite database."""
    from desk import create_app
    from desk.extensions import db

    config = {
        "SQLALCHEMY_DATABASE_URI": make_url(url)
        .set(drivername="postgresql+psycopg")
        .render_as_string(hide_password=False),
        "DESK_TRAINING_DATABASE_URL": f"sqlite:///{workdir / 'training.db'}",
        "SECRET_KEY": secrets.token_hex(32),
        "DESK_SECRET_KEY_GENERATED": False,
        "REDIS_URL": None,
        # As `flask desk init` runs where Redis is configured: no in-process sweep of the
        # source's pending deliveries into the copy.
        "DESK_JOBS_INLINE": False,
        "DESK_OUTBOX_THREAD": False,
        "DESK_PRODUCTION": False,
        "DESK_KEYCLOAK": {"server_url": ""},
        "DESK_RATE_LIMITS": {},
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "DESK_TRUSTED_PROXIES": 0,
    }
    app = create_app(config)
    app.instance_path = str(workdir)
    try:
        yield app
    finally:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


def init_restored(app) -> tuple[list[str], str]:
    """`flask desk init` on the restored database; (problems, what alembic said). Alembic's
    own lines are caught to see that it ran no migration."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", app.extensions["migrate"].directory)
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with connect(url) as connection:
        before = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    problems = []
    # The training space's throwaway database first, so that alembic's lines during the
    # init below are the restored database's alone.
    from desk.training import spaces

    spaces.prepare(app)
    pending = [rev.revision for rev in script.iterate_revisions(head, before)]
    if before != head:
        problems.append(
            f"the restored database is at {before}, the code's head is {head}: "
            f"migrations to run: {', '.join(reversed(pending)) or '?'}"
        )
    with caught("alembic.runtime.migration") as said_by_alembic:
        result = app.test_cli_runner().invoke(args=["desk", "init"])
    if result.exit_code != 0:
        problems.append(f"flask desk init failed: {result.output.strip()[-500:]}")
    upgrades = [line for line in said_by_alembic if line.startswith("Running upgrade")]
    if upgrades:
        problems.append(f"alembic ran migrations: {'; '.join(upgrades)}")
    with connect(url) as connection:
        after = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    if after != before:
        problems.append(f"alembic_version moved from {before} to {after}")
    said = f"at {before} (the code's head {head}), no migration to run"
    return problems, said if not problems else f"at {before}, head {head}"


@contextmanager
def caught(name: str):
    """The messages the logger `name` writes meanwhile, kept (not passed on to the desk's
    handler)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger, handler = logging.getLogger(name), Keep(logging.INFO)
    saved = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def check_app(app, item_id: int | None) -> tuple[list[str], str]:
    """/readyz, and the item's page for a professional of every queue and municipality, made
    in the restored copy for this (the password is random and forgotten)."""
    from markupsafe import escape
    from sqlalchemy import select
    from werkzeug.security import generate_password_hash

    from desk.extensions import db
    from desk.models import Municipality, Queue, User, WorkItem

    problems = []
    client = app.test_client()
    ready = client.get("/readyz")
    if ready.status_code != 200:
        problems.append(f"/readyz answered {ready.status_code}: {ready.get_data(as_text=True)}")
    said = f"/readyz {ready.status_code}"
    if item_id is None:
        return problems, said + "; no item to open"
    password = secrets.token_urlsafe(16)
    with app.app_context():
        user = User(
            username=f"{DRILL_USER}-{secrets.token_hex(3)}",
            display_name="Backup drill",
            role="professional",
            language="en",
            password_hash=generate_password_hash(password),
        )
        user.queues = list(db.session.scalars(select(Queue)))
        user.municipalities = list(db.session.scalars(select(Municipality)))
        db.session.add(user)
        db.session.commit()
        username = user.username
        title = db.session.get(WorkItem, item_id).title
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token and token[1]},
    )
    if answer.status_code != 302:
        problems.append(f"the drill's account could not sign in ({answer.status_code})")
        return problems, said
    shown = client.get(f"/items/{item_id}")
    text = shown.get_data(as_text=True)
    if shown.status_code != 200:
        problems.append(f"item {item_id}'s page answered {shown.status_code}")
    elif str(escape(title)) not in text:
        problems.append(f"item {item_id}'s page does not show its title")
    return problems, said + f"; item {item_id}'s page {shown.status_code} for a professional"


# --- the drill -------------------------------------------------------------------------------


@dataclass
class Report:
    source: str
    restored: str = ""
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dumped: Dumped | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.problems


def _size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def run(
    source_url: str = DEFAULT_SOURCE,
    restore_name: str | None = None,
    *,
    keep: bool = False,
    dump_file: Path | None = None,
    jobs: int = 1,
    say: Callable[[str], None] = lambda line: None,
) -> Report:
    """The whole drill; the report says what was done and found. Nothing raises: a failed
    step is a problem in the report."""
    source_name = database_of(source_url)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    name = restore_name or f"{source_name}_restore_{stamp}"[:63]
    report = Report(source=source_name, restored=name)

    def note(line: str) -> None:
        report.lines.append(line)
        say(line)

    def problem(text: str) -> None:
        report.problems.append(text)
        say(f"  PROBLEM: {text}")

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="desk-backup-drill-"))
    path = dump_file or workdir / f"{source_name}-{stamp}.dump"
    target = None
    try:
        note(f"Backup and restore drill: {source_name} → {name}")
        dumped = report.dumped = dump(source_url, path)
        report.timings["dump"] = dumped.seconds
        note(
            f"  dump      {dumped.seconds:6.1f} s  {_size(dumped.size)} "
            f"(pg_dump --format=custom, {path})"
        )
        target = create_database(source_url, name)
        report.timings["restore"] = seconds = restore(path, target, jobs)
        restored_by = f"pg_restore --no-owner --exit-on-error, {jobs} job" + "s" * (jobs != 1)
        note(f"  restore   {seconds:6.1f} s  ({restored_by})")

        began = time.monotonic()
        restored = read_fingerprint(target)
        report.timings["compare"] = dumped.read_seconds + time.monotonic() - began
        differences = compare(dumped.source, restored)
        for text in differences:
            problem(text)
        counts = dumped.source.counts
        note(
            f"  compare   {report.timings['compare']:6.1f} s  "
            + ("the same as" if not differences else "NOT the same as")
            + f" the source at the dump: {len(counts)} tables' rows, work_item"
            f" ({counts.get('work_item'):,} rows), access_log ({counts.get('access_log'):,}),"
            " schema"
        )

        with restored_app(target, workdir) as app:
            began = time.monotonic()
            problems, said = init_restored(app)
            report.timings["init"] = time.monotonic() - began
            for text in problems:
                problem(text)
            changes = compare(restored, read_fingerprint(target))
            for text in changes:
                problem(f"flask desk init changed the restored database: {text}")
            said += "; read again, nothing changed" if not changes else "; it CHANGED the copy"
            note(f"  init      {report.timings['init']:6.1f} s  flask desk init: {said}")

            began = time.monotonic()
            problems, said = check_append_only(target)
            sequences = check_sequences(target)
            for text in problems + sequences:
                problem(text)
            said += "; every id sequence past its table's largest id" if not sequences else ""
            note(f"  checks    {time.monotonic() - began:6.1f} s  {said}")

            began = time.monotonic()
            problems, said = check_app(app, _newest_item(target))
            for text in problems:
                problem(text)
            note(f"  app       {time.monotonic() - began:6.1f} s  {said}")
    except (DrillError, psycopg.Error, OSError) as error:
        problem(str(error).strip() or type(error).__name__)
    finally:
        if target is not None and not keep:
            try:
                drop_database(target)
            except psycopg.Error as error:
                problem(f"could not drop {name}: {error}")
        shutil.rmtree(workdir, ignore_errors=True)  # the dump too, unless --dump-file
    report.timings["total"] = time.monotonic() - started
    kept = f"; {name} kept" if keep and target else ""
    note(
        f"  result    {'PASS' if report.passed else 'FAIL'} in {report.timings['total']:.1f} s"
        + kept
    )
    return report


def _newest_item(url: str) -> int | None:
    with connect(url) as connection:
        return connection.execute("SELECT max(id) FROM work_item").fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.backup_drill",
        description="Back up a running desk's database, restore it and check the copy.",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DESK_DRILL_DATABASE_URL", DEFAULT_SOURCE),
        help=f"the source database (default: {DEFAULT_SOURCE})",
    )
    parser.add_argument("--restore-name", help="the new database (default: <db>_restore_<time>)")
    parser.add_argument("--dump-file", type=Path, help="keep the dump here (default: removed)")
    parser.add_argument("--jobs", type=int, default=1, help="pg_restore's parallel jobs")
    parser.add_argument("--keep", action="store_true", help="keep the restored database")
    args = parser.parse_args(argv)
    # The report is the drill's output: the desk's own log lines only when something is wrong.
    os.environ.setdefault("DESK_LOG_LEVEL", "WARNING")
    report = run(
        args.database_url,
        args.restore_name,
        keep=args.keep,
        dump_file=args.dump_file,
        jobs=args.jobs,
        say=print,
    )
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
