"""The first action never comes after the resolution, on any path: every lifecycle verb in any
order (with the clocks of several servers disagreeing), the desk's own assignment, the demo
history, the database itself, and the migration that repairs rows recorded before."""

from __future__ import annotations

import statistics
from datetime import timedelta
from unittest import mock

import pytest
from flask_migrate import upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk import create_app, reports
from desk.errors import DomainError
from desk.extensions import db
from desk.inbound.deadlines import HELSINKI
from desk.models import Queue, WorkItem, utcnow
from desk.work import lifecycle
from desk.work.assignment import Policy, Status, dispatch, reassign, set_status
from tests.conftest import PG_URL, _recreate_pg_database
from tests.factories import CHANNELS, make_item, make_user

QUEUES = ["chat-regional", "omaolo-porvoo"]
VERBS = [
    "take",
    "take_next",
    "release",
    "transfer",
    "note",
    "wait",
    "resume",
    "resolve",
    "reassign",
    "unassign",
    "dispatch",
    "offline",
    "available",
]
STEPS = st.lists(
    st.tuples(
        st.sampled_from(VERBS),
        st.integers(0, 2),  # who acts (or is given the item)
        st.integers(0, 3),  # which item
        st.integers(-600, 600),  # this server's clock against the last one's, in seconds
    ),
    min_size=1,
    max_size=30,
)


def _check(session: Session) -> None:
    for item in session.scalars(select(WorkItem)):
        if item.resolved_at is not None:
            assert item.first_action_at is not None, f"{item.id}: resolved without a first action"
            assert item.first_action_at <= item.resolved_at, (
                f"{item.id}: first action {item.first_action_at} after {item.resolved_at}"
            )


def _play(session: Session, steps) -> None:
    for code in QUEUES:
        session.get(Queue, code).assignment = Policy.MANUAL.value
    people = [make_user(session, queues=QUEUES) for _ in range(3)]
    lead = make_user(session, role="team_lead", queues=QUEUES)
    items = [make_item(session, queue=QUEUES[n % 2], municipality="porvoo") for n in range(4)]
    clock = [utcnow()]

    def now():
        return clock[0]

    with (
        mock.patch("desk.work.lifecycle.utcnow", now),
        mock.patch("desk.work.assignment.utcnow", now),
    ):
        for verb, who, which, skew in steps:
            clock[0] += timedelta(seconds=skew)
            person, item = people[who], items[which]
            try:
                with session.begin_nested():
                    _do(session, verb, person, item, lead)
            except DomainError:
                pass  # a verb that does not apply now changes nothing
            _check(session)


def _do(session: Session, verb: str, person, item: WorkItem, lead) -> None:
    if verb == "take":
        lifecycle.take(session, item, person)
    elif verb == "take_next":
        lifecycle.take_next(session, person)
    elif verb == "release":
        lifecycle.release(session, item, person)
    elif verb == "transfer":
        other = QUEUES[1] if item.queue_code == QUEUES[0] else QUEUES[0]
        lifecycle.transfer(session, item, person, session.get(Queue, other), "Väärä jono")
    elif verb == "note":
        lifecycle.add_note(session, item, person, "Soitin.")
    elif verb == "wait":
        lifecycle.wait_for_resident(session, item, person)
    elif verb == "resume":
        lifecycle.resume(session, item, person)
    elif verb == "resolve":
        lifecycle.resolve(session, item, item.assignee or person, "self-care-guidance")
    elif verb == "reassign":
        reassign(session, item, lead, person)
    elif verb == "unassign":
        reassign(session, item, lead, None)
    elif verb == "dispatch":
        session.get(Queue, item.queue_code).assignment = Policy.ROUND_ROBIN.value
        set_status(session, person, Status.AVAILABLE)
        dispatch(session, CHANNELS.weight)
    elif verb == "offline":
        set_status(session, person, Status.OFFLINE)
    else:
        set_status(session, person, Status.AVAILABLE)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_no_sequence_of_verbs_records_a_first_action_after_the_resolution(engines, steps):
    for name in ("postgresql", "sqlite"):
        with engines[name].connect() as connection:
            transaction = connection.begin()
            with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
                _play(session, steps)
            transaction.rollback()


def test_every_verb_sequence_up_to_two_then_resolve_keeps_the_order(engines):
    """Each pair of verbs, then the holder resolves, with the clock going back between steps
    as another server's might: the first action is at the resolution at the latest."""
    for first in VERBS:
        for second in VERBS:
            steps = [(first, 0, 0, 300), (second, 1, 0, -240), ("resolve", 0, 0, -120)]
            with engines["postgresql"].connect() as connection:
                transaction = connection.begin()
                with Session(bind=connection, join_transaction_mode="create_savepoint") as s:
                    _play(s, steps)
                transaction.rollback()


def test_a_take_on_a_server_whose_clock_runs_ahead_is_not_after_the_resolution(session):
    nurse = make_user(session)
    item = make_item(session)
    later, earlier = utcnow() + timedelta(minutes=5), utcnow()
    with mock.patch("desk.work.lifecycle.utcnow", lambda: later):
        lifecycle.take(session, item, nurse)
    with mock.patch("desk.work.lifecycle.utcnow", lambda: earlier):
        lifecycle.resolve(session, item, nurse, "self-care-guidance")
    assert item.first_action_at == item.resolved_at == earlier


def test_resolving_an_item_nobody_acted_on_makes_the_resolution_its_first_action(session):
    # A practice item is given to its trainee without a first action of its own.
    nurse = make_user(session)
    item = make_item(session)
    item.assignee, item.status = nurse, "in_progress"
    session.flush()
    assert item.first_action_at is None
    lifecycle.resolve(session, item, nurse, "self-care-guidance")
    assert item.first_action_at == item.resolved_at is not None


def test_an_earlier_first_action_stays_as_it_was(session):
    nurse = make_user(session)
    item = make_item(session)
    lifecycle.take(session, item, nurse)
    taken = item.first_action_at
    lifecycle.resolve(session, item, nurse, "self-care-guidance")
    assert item.first_action_at == taken < item.resolved_at


def test_the_database_refuses_a_first_action_after_the_resolution(session):
    nurse = make_user(session)
    item = make_item(session)
    lifecycle.take(session, item, nurse)
    lifecycle.resolve(session, item, nurse, "self-care-guidance")
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            text("UPDATE work_item SET first_action_at = :at WHERE id = :id"),
            {"at": item.resolved_at + timedelta(days=1), "id": item.id},
        )
    with pytest.raises(IntegrityError), session.begin_nested():
        item.first_action_at = item.resolved_at + timedelta(seconds=1)
        session.flush()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_migration_repairs_rows_recorded_before(dialect, tmp_path):
    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'desk.db'}"
    else:
        url = PG_URL.rsplit("/", 1)[0] + "/" + PG_URL.rsplit("/", 1)[1] + "_migration"
        _recreate_pg_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t", "REDIS_URL": None})
    app.instance_path = str(tmp_path)
    with app.app_context():
        upgrade(revision="0025")
        columns = (
            "channel, external_id, title, queue_code, service_area_code, status, emergency, "
            "submitted_at, created_at, updated_at, resolved_at, first_action_at, language, "
            "identification, content, version"
        )
        rows = {
            # resolved on the 1st, "first action" when the demo was loaded days later
            "demo": ("2026-12-01 10:00:00+00", "2026-12-04 09:00:00+00"),
            "fine": ("2026-12-01 10:00:00+00", "2026-12-01 09:30:00+00"),
            "open": (None, "2026-12-01 09:30:00+00"),
            "reset": ("2026-12-01 10:00:00+00", None),
        }
        db.session.execute(
            text(
                "INSERT INTO service_area (code, name_fi, name_sv, name_en) "
                "VALUES ('health', 'Terveys', 'Hälsa', 'Health')"
            )
        )
        db.session.execute(
            text(
                "INSERT INTO queue (code, kind, service_area_code, name_fi, name_sv, name_en, "
                "active) VALUES ('chat-regional', 'chat', 'health', 'Chat', 'Chatt', 'Chat', true)"
            )
        )
        for name, (resolved, first) in rows.items():
            db.session.execute(
                text(
                    f"INSERT INTO work_item ({columns}) VALUES"  # noqa: S608 (constants)
                    " ('chat', :name, :name, "
                    "'chat-regional', 'health', 'resolved', false, '2026-12-01 08:00:00+00', "
                    "'2026-12-01 08:00:00+00', '2026-12-01 08:00:00+00', :resolved, :first, "
                    "'fi', 'none', '{}', 1)"
                ),
                {
                    "name": name,
                    "resolved": _stored(dialect, resolved),
                    "first": _stored(dialect, first),
                },
            )
        db.session.commit()
        upgrade()
        found = {
            item.external_id: (item.first_action_at, item.resolved_at)
            for item in db.session.scalars(select(WorkItem))
        }
        assert found["demo"][0] == found["demo"][1], "repaired to the resolution"
        assert found["fine"][0] < found["fine"][1], "an earlier first action stays"
        assert found["open"][1] is None and found["open"][0] is not None
        assert found["reset"][0] is None, "no first action is made up"
        with pytest.raises(IntegrityError):
            db.session.execute(
                text("UPDATE work_item SET first_action_at = '2026-12-09 10:00:00+00'")
            )
            db.session.flush()
        db.session.rollback()
        db.engine.dispose()


def _stored(dialect: str, moment: str | None) -> str | None:
    """A timestamp as the desk stores it (UTC; SQLite keeps it as text without the zone)."""
    if moment is None or dialect == "postgresql":
        return moment
    return moment.removesuffix("+00") + ".000000"


def test_the_demo_history_acts_before_it_resolves(tmp_path):
    """`flask desk init --demo`: no item's first action after its resolution, and the
    reports' times agree with each other (the first action comes before the resolution)."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'desk.db'}",
            "DESK_TRAINING_DATABASE_URL": f"sqlite:///{tmp_path / 'training.db'}",
            "REDIS_URL": None,
            "DESK_JOBS_INLINE": True,
            "SECRET_KEY": "t",
        }
    )
    app.instance_path = str(tmp_path)
    result = app.test_cli_runner().invoke(args=["desk", "init", "--demo", "--items", "150"])
    assert result.exit_code == 0, result.output
    engine = create_engine(f"sqlite:///{tmp_path / 'desk.db'}")
    with Session(engine) as session:
        items = session.scalars(select(WorkItem)).all()
        resolved = [i for i in items if i.resolved_at is not None]
        assert len(resolved) > 50
        now = utcnow()
        for item in resolved:
            assert item.created_at <= item.first_action_at <= item.resolved_at <= now, item.id
        for item in items:
            if item.first_action_at is not None:
                assert item.first_action_at >= item.created_at, item.id
        to_first = statistics.median(
            (i.first_action_at - i.created_at).total_seconds() for i in resolved
        )
        to_resolution = statistics.median(
            (i.resolved_at - i.created_at).total_seconds() for i in resolved
        )
        assert to_first < to_resolution
        due = [i for i in resolved if i.due_at is not None]
        in_time = sum(i.first_action_at <= i.due_at for i in due)
        assert in_time / len(due) > 0.5, "most deadlines met, as a lived-in desk's would be"
        # The demo's phone calls are imported: the 2025 digital-share target reads met or not.
        first = min(i.submitted_at for i in items).astimezone(HELSINKI).date()
        today = now.astimezone(HELSINKI).date()
        report = reports.build(session, first, today + timedelta(days=1))
        assert report.phone_calls > 0 and report.digital_share is not None
        assert 0.3 < report.digital_share < 0.7
        assert report.targets[0].met is not None
    engine.dispose()
