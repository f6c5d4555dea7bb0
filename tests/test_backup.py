"""The backup and restore drill (scripts/backup_drill.py) on a desk database of its own, which
a thread keeps writing to while the drill runs, as a running desk would; and the drill's
comparison and checks catching a copy that differs by one row or has lost its trigger."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import func, make_url, select
from sqlalchemy.orm import Session

from desk.extensions import db
from desk.models import AccessPurpose, User, WorkItem, utcnow
from desk.pid import synthetic
from desk.work.access import record_access
from scripts import backup_drill
from tests.conftest import PG_URL, _dispose, _migrated_app, _recreate_pg_database
from tests.factories import make_item, make_user


def _database(role: str) -> str:
    """`desk_<role>` with the suffix of the tests' own database (desk_test_x → desk_<role>_x),
    so that parallel runs with their own TEST_DATABASE_URL do not meet."""
    base = make_url(PG_URL).database or "desk_test"
    suffix = base.removeprefix("desk_test") if base.startswith("desk_test") else f"_{base}"
    return f"desk_{role}{suffix}"


def _url(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _exists(name: str) -> bool:
    admin = backup_drill.libpq_url(PG_URL, "postgres")
    with psycopg.connect(admin) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return found.fetchone() is not None


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A migrated desk database with reference data, a professional, items (some of
    identified residents) and access log rows; (url, engine, the professional's id)."""
    import random
    from datetime import date

    url = _url(_database("backup_source"))
    _recreate_pg_database(url)
    app = _migrated_app(url, tmp_path_factory)
    with app.app_context():
        engine = db.engine
    rng = random.Random(7)
    with Session(engine) as session:
        nurse = make_user(session, queues=["chat-regional", "omaolo-porvoo"])
        for n in range(40):
            item = make_item(
                session,
                queue="omaolo-porvoo" if n % 2 else "chat-regional",
                channel="omaolo" if n % 2 else "chat",
                municipality="porvoo",
                personal_id=synthetic(rng, date(1960 + n, 1, 1)) if n % 3 == 0 else None,
            )
            if n % 4 == 0:
                record_access(session, nurse, AccessPurpose.VIEW, item=item)
        session.commit()
        nurse_id = nurse.id
    yield url, engine, nurse_id
    _dispose(app)
    for name in (_database("backup_source"), _database("backup_restore")):
        backup_drill.drop_database(_url(name))


class Writer(threading.Thread):
    """The running desk: new items, looks at them, and changes to older items, committed
    one after another until stopped."""

    def __init__(self, engine, user_id: int) -> None:
        super().__init__(daemon=True)
        self.engine, self.user_id = engine, user_id
        self.commits: list[float] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with Session(self.engine) as session:
                user = session.get(User, self.user_id)
                while not self.stop.is_set():
                    item = make_item(session, queue="chat-regional")
                    record_access(session, user, AccessPurpose.VIEW, item=item)
                    older = session.scalars(
                        select(WorkItem).order_by(func.random()).limit(1)
                    ).first()
                    older.updated_at = utcnow()
                    session.commit()
                    self.commits.append(time.monotonic())
                    time.sleep(0.005)
        except BaseException as error:  # noqa: BLE001 (handed to the test)
            self.error = error


def test_the_drill_restores_a_running_desk_as_it_was_at_the_dump(source):
    url, engine, nurse_id = source
    name = _database("backup_restore")
    writer = Writer(engine, nurse_id)
    writer.start()
    lines: list[str] = []
    try:
        while len(writer.commits) < 5 and writer.is_alive():
            time.sleep(0.01)
        report = backup_drill.run(url, name, say=lines.append)
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None, writer.error
    said = "\n".join(lines)
    assert report.passed, said
    # The desk wrote while pg_dump ran, and went on after the snapshot: what the copy was
    # compared with is the snapshot, not the source as it is now.
    started, ended = report.dumped.window
    assert any(started <= moment <= ended for moment in writer.commits), "no write meanwhile"
    at_dump = report.dumped.source.counts
    assert at_dump["work_item"] >= 45 and at_dump["access_log"] >= 15
    with engine.connect() as connection:
        now = connection.scalar(select(func.count()).select_from(WorkItem))
    assert now > at_dump["work_item"]
    assert "the same as the source at the dump" in said
    assert "no migration to run; read again, nothing changed" in said
    assert "access_log refuses TRUNCATE, DELETE, UPDATE" in said
    assert "/readyz 200" in said and "page 200 for a professional" in said
    assert "PASS" in said
    assert not _exists(name), "the restored database is dropped"
    assert set(report.timings) >= {"dump", "restore", "init", "total"}


def test_the_comparison_finds_a_row_missing_or_changed_and_a_trigger_lost(source, tmp_path):
    url, _engine, _nurse = source
    dumped = backup_drill.dump(url, tmp_path / "source.dump")
    copy = backup_drill.create_database(url, _database("backup_restore"))
    try:
        backup_drill.restore(dumped.path, copy)
        expected = dumped.source
        assert backup_drill.compare(expected, backup_drill.read_fingerprint(copy)) == []
        with psycopg.connect(copy, autocommit=True) as connection:
            # As a database administrator could, with the triggers off.
            connection.execute("SET session_replication_role = replica")
            connection.execute("DELETE FROM access_log WHERE id = (SELECT max(id) FROM access_log)")
        found = backup_drill.compare(expected, backup_drill.read_fingerprint(copy))
        rows = expected.counts["access_log"]
        assert found == [
            f"access_log: {rows - 1} rows, expected {rows}",
            "access_log: the checksum of its rows differs",
        ]
        with psycopg.connect(copy, autocommit=True) as connection:
            connection.execute(
                "UPDATE work_item SET status = 'resolved' "
                "WHERE id = (SELECT min(id) FROM work_item WHERE status <> 'resolved')"
            )
            connection.execute("DROP TRIGGER access_log_append_only ON access_log")
        found = backup_drill.compare(expected, backup_drill.read_fingerprint(copy))
        assert "work_item: the checksum of (id, status, queue_code, updated_at) differs" in found
        assert "work_item: the ids differ" not in found
        assert any(
            line.startswith("schema differs: missing trigger") and "access_log_append_only" in line
            for line in found
        )
        problems, _said = backup_drill.check_append_only(copy)
        assert problems == [
            "access_log: DELETE was not refused (the trigger is missing)",
            "access_log: UPDATE was not refused (the trigger is missing)",
        ]
        # Nothing was removed by trying: every attempt is rolled back.
        assert backup_drill.read_fingerprint(copy).counts["access_log"] == rows - 1
    finally:
        backup_drill.drop_database(copy)


def test_the_drill_fails_with_a_reason_when_a_step_cannot_be_done(capsys):
    missing = _url(_database("backup_nowhere"))
    assert backup_drill.main(["--database-url", missing]) == 1
    said = capsys.readouterr().out
    assert "PROBLEM:" in said and "FAIL" in said
