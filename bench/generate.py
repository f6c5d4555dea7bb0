"""Create the benchmark database `desk_bench`: the real schema and reference data, 60
professionals, 100,000 open and 1,000,000 resolved items with their events.

    python -m bench.generate [--open N] [--resolved N] [--professionals N] [--seed N]

The schema comes from the migrations and the reference data from `desk.reference`, as in
production. Item contents, titles, residents, routing and deadline rules come from about
1,200 synthetic deliveries (`desk.demo`) routed by the real `desk.inbound.intake`; the rows
themselves are made in PostgreSQL with INSERT … SELECT FROM generate_series, which is what
keeps the whole run to a few minutes. Each template's deadline rule is read off the app itself
(`_deadline_rule`) and applied in SQL to every row's own arrival time, public holidays aside.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from datetime import UTC, datetime

import psycopg
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import Connection, make_url, select, text
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from desk import create_app, reference
from desk.channels import DEFAULT_CHANNELS, Registry
from desk.config import LANGUAGES
from desk.demo import deliveries
from desk.extensions import db
from desk.inbound.deadlines import HELSINKI, OFFICE_CLOSES, next_working_day
from desk.inbound.intake import build_item
from desk.models import Municipality, OutcomeCode, Queue, Role, User, WorkItem
from desk.reference import municipality_codes
from desk.work import counts as kept_counts

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/desk_bench"
)
PASSWORD = "bench-password"
PROFESSIONALS = 60
OPEN_ITEMS = 100_000
RESOLVED_ITEMS = 1_000_000

# Shares of the four channels (as in the demo data); P0 Omaolo assessments, the emergencies,
# are their own group so that about 0.5 % of the items are emergencies.
GROUP_SHARES = {
    "chat": 450,
    "omaolo": 145,
    "emergency": 5,
    "eform": 250,
    "help-request": 150,
}
# Of the open items, these shares are held by someone; the rest wait to be taken.
IN_PROGRESS_SHARE = 0.008
WAITING_SHARE = 0.004
RESOLVE_SUMMARIES = [
    "Ohjeistettu omahoitoon.",
    "Soitettu asukkaalle, asia hoidettu.",
    "Aika varattu vastaanotolle.",
    "Ohjattu oman alueen palveluihin.",
    "Invånaren ringdes upp, ärendet är klart.",
]
WAITING_TEXTS = ["Pyydetty lisätietoja viestillä.", "Odotetaan liitettä.", None]

CHANNELS = Registry(DEFAULT_CHANNELS, municipalities=municipality_codes(), languages=LANGUAGES)


def bench_config(database_url: str = DATABASE_URL) -> dict:
    """The app configuration the benchmark runs with."""
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "bench",
        "REDIS_URL": None,
        "DESK_JOBS_INLINE": True,
        "WTF_CSRF_ENABLED": True,
    }


def make_app(database_url: str = DATABASE_URL) -> Flask:
    """The real app, configured for the benchmark database."""
    # The secret key comes from the config; never write one into instance/.
    os.environ.setdefault("DESK_SECRET_KEY", "bench")
    return create_app(bench_config(database_url))


def existing_app(database_url: str = DATABASE_URL) -> Flask:
    """The app on the generated database, migrated to this version first: a schema change
    since it was generated (a column, an index) is applied; the items stay."""
    app = make_app(database_url)
    with app.app_context():
        upgrade()
        settle(db.session)
        db.session.remove()
    return app


def settle(session: Session) -> int:
    """Fold the kept counts (`counts.fold`), as production's scheduler does every 30 s. The
    benchmarks run no scheduler, and a previous run's changes would otherwise be read again
    row by row: after a day of runs, 20,000 unfolded rows made the live lists twice as slow.

    And vacuum the items, as production's PostgreSQL does by itself (autovacuum): this
    machine's has it off. Without it the items every benchmark changes lose their place in
    the visibility map, and a list's count that reads the index alone reads the table too:
    the 1000th page of a list took 35–46 ms after the other benchmarks, 26 ms after a
    VACUUM (1.5 s)."""
    folded = kept_counts.fold(session, datetime.now(UTC))
    session.commit()
    engine = session.get_bind()
    kept_counts.clear_folded(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"VACUUM {WorkItem.__tablename__}"))
    return folded


def generated_app(database_url: str = DATABASE_URL) -> Flask:
    """`existing_app` for a benchmark; it stops with what to run first when `desk_bench` holds
    no items."""
    if not has_items(database_url):
        raise SystemExit(
            "desk_bench holds no items: run `python -m bench.generate --resolved 2000000` first"
        )
    return existing_app(database_url)


def professionals(session: Session) -> list[User]:
    """The generated professionals, by username."""
    query = select(User).where(User.role == Role.PROFESSIONAL.value).order_by(User.username)
    return list(session.scalars(query))


def _libpq_url(database_url: str, database: str | None = None) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    if database:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def recreate_database(database_url: str = DATABASE_URL) -> None:
    """DROP and CREATE the benchmark database."""
    name = make_url(database_url).database
    with psycopg.connect(_libpq_url(database_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def has_items(database_url: str = DATABASE_URL) -> bool:
    """Whether the benchmark database exists and holds work items."""
    name = make_url(database_url).database
    with psycopg.connect(_libpq_url(database_url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if not exists:
        return False
    with psycopg.connect(_libpq_url(database_url), autocommit=True) as conn:
        table = conn.execute("SELECT to_regclass('public.work_item')").fetchone()[0]
        if table is None:
            return False
        return conn.execute("SELECT EXISTS (SELECT 1 FROM work_item)").fetchone()[0]


# --- people ------------------------------------------------------------------------------------


def create_professionals(session: Session, count: int, rng: random.Random) -> list[User]:
    """`count` professionals in 3–6 queues each (every queue has members), all municipalities."""
    queues = list(session.scalars(select(Queue).order_by(Queue.code)))
    if count < len(queues):
        raise ValueError(f"at least {len(queues)} professionals are needed, one per queue")
    municipalities = list(session.scalars(select(Municipality)))
    password_hash = generate_password_hash(PASSWORD)
    users = []
    for i in range(count):
        first = queues[i % len(queues)]
        others = rng.sample([q for q in queues if q is not first], rng.randint(2, 5))
        user = User(
            username=f"bench{i + 1:03d}",
            display_name=f"Ammattilainen {i + 1:03d}",
            password_hash=password_hash,
            role=Role.PROFESSIONAL.value,
            language="sv" if i % 5 == 4 else "fi",
        )
        user.queues = sorted([first, *others], key=lambda q: q.code)
        user.municipalities = municipalities
        session.add(user)
        users.append(user)
    session.flush()
    return users


# --- templates: what an item looks like, from synthetic deliveries routed by the real intake -----


# Two arrivals on an ordinary working-day morning (Monday 16 November 2026, no holiday near).
PROBES = (
    datetime(2026, 11, 16, 10, 0, tzinfo=HELSINKI),
    datetime(2026, 11, 16, 10, 30, tzinfo=HELSINKI),
)
# The demo generator's "now" for the templates: fixed, so that a seed always gives the same
# templates (each row gets its own arrival time anyway).
TEMPLATE_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _deadline_rule(session: Session, channel: str, payload: dict) -> tuple[str, int]:
    """The app's deadline rule for a delivery, as data that SQL can apply to any arrival time.

    The delivery is built as if it had arrived at the two probe times: no deadline; the same
    span after both (real elapsed time, in seconds); or 16:00 of the n-th working day after the
    arrival day (n = 0: the same working day).
    """
    dues = [
        build_item(
            session, CHANNELS.get(channel), {**payload, "submitted_at": probe.isoformat()}
        ).due_at
        for probe in PROBES
    ]
    if dues[0] is None:
        return "none", 0
    spans = [due - probe for due, probe in zip(dues, PROBES, strict=True)]
    if spans[0] == spans[1]:
        return "elapsed", int(spans[0].total_seconds())
    local = dues[0].astimezone(HELSINKI)
    if dues[0] == dues[1] and local.time() == OFFICE_CLOSES:
        day, n = PROBES[0].date(), 0
        while day < local.date():
            day = next_working_day(day)
            n += 1
        return "working_days", n
    raise RuntimeError(f"a {channel} deadline that is neither elapsed time nor working days")


def _template_payloads(rng: random.Random, now: datetime) -> list[tuple[str, dict, bool]]:
    """(channel, payload, only if an emergency): the demo's deliveries, and small batches for
    more P0 emergencies (the demo generator puts one among the first assessments of a batch).
    The demo's phone callbacks are left out: the generated desk is the one before callbacks,
    in the channel shares above (bench/calls.py adds callbacks for its own measurements)."""
    payloads = [
        (channel, payload, False)
        for channel, payload in deliveries(rng, now, 1200)
        if channel in GROUP_SHARES
    ]
    for _ in range(24):
        payloads.extend(
            (channel, payload, True)
            for channel, payload in deliveries(rng, now, 40)
            if channel in GROUP_SHARES
        )
    return payloads


def load_templates(conn: Connection, session: Session, rng: random.Random) -> dict[str, int]:
    """Fill the temporary table `bench_template`; return the number of templates per group."""
    conn.execute(
        text(
            """
            CREATE TEMP TABLE bench_template (
                grp text, n integer, channel text, title text, queue_code text,
                service_area_code text, emergency boolean, urgency text, rule text,
                rule_n integer, municipality_code text, language text, identification text,
                personal_id text, resident_name text, resident_phone text,
                resident_email text, content jsonb, PRIMARY KEY (grp, n)
            ) ON COMMIT DROP
            """
        )
    )
    counts: dict[str, int] = dict.fromkeys(GROUP_SHARES, 0)
    rows = []
    for channel, payload, emergency_only in _template_payloads(rng, TEMPLATE_NOW):
        item = build_item(session, CHANNELS.get(channel), payload)
        if emergency_only and not item.emergency:
            continue
        group = "emergency" if item.emergency else channel
        counts[group] += 1
        rule, rule_n = _deadline_rule(session, channel, payload)
        rows.append(
            {
                "grp": group,
                "n": counts[group],
                "channel": channel,
                "title": item.title,
                "queue_code": item.queue.code,
                "service_area_code": item.service_area_code,
                "emergency": item.emergency,
                "urgency": item.urgency,
                "rule": rule,
                "rule_n": rule_n,
                "municipality_code": item.municipality_code,
                "language": item.language,
                "identification": item.identification,
                "personal_id": item.personal_id,
                "resident_name": item.resident_name,
                "resident_phone": item.resident_phone,
                "resident_email": item.resident_email,
                "content": json.dumps(item.content, ensure_ascii=False),
            }
        )
    conn.execute(
        text(
            """
            INSERT INTO bench_template VALUES (
                :grp, :n, :channel, :title, :queue_code, :service_area_code, :emergency,
                :urgency, :rule, :rule_n, :municipality_code, :language, :identification,
                :personal_id, :resident_name, :resident_phone, :resident_email,
                CAST(:content AS jsonb)
            )
            """
        ),
        rows,
    )
    missing = [group for group, n in counts.items() if n == 0]
    if missing:
        raise RuntimeError(f"no templates for {missing}")
    return counts


# --- items and events, generated in SQL ---------------------------------------------------------

# The n-th working day (Monday to Friday; holidays ignored) after a day; inlined by PostgreSQL.
NTH_WORKING_DAY = """
CREATE FUNCTION pg_temp.nth_working_day(day date, n integer) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT day - greatest(extract(isodow FROM day)::integer - 5, 0)
        + n + 2 * ((least(extract(isodow FROM day)::integer, 5) - 1 + n) / 5)
$$
"""

# One row per item with everything that is random about it; `bench_template` gives the rest.
SOURCE_ROWS = """
INSERT INTO bench_src
WITH pick AS MATERIALIZED (
    SELECT g,
           (CAST(:slots AS text[]))[1 + floor(random() * :slot_count)::integer] AS grp,
           random() AS r_template, random() AS r_status, random() AS r_member,
           random() AS r_jitter, random() AS r_intake, random() AS r_wait,
           random() AS r_work, random() AS r_outcome, random() AS r_text
    FROM generate_series(1, :count) AS g
), timed AS (
    SELECT p.*, t.n, t.queue_code,
           :start + (:end - :start) * ((g - 1 + r_jitter) / :count) AS submitted_at
    FROM pick p
    JOIN bench_group_size s ON s.grp = p.grp
    JOIN bench_template t ON t.grp = p.grp AND t.n = 1 + floor(p.r_template * s.size)::integer
), shaped AS (
    SELECT timed.*, submitted_at + make_interval(secs => 2 + r_intake * 40) AS created_at,
           CASE WHEN NOT :resolved AND r_status >= :held_share THEN 'new'
                WHEN NOT :resolved AND r_status >= :in_progress_share THEN 'waiting'
                WHEN NOT :resolved THEN 'in_progress'
                ELSE 'resolved' END AS status
    FROM timed
)
SELECT :first_id + g - 1, grp, n, queue_code, status,
       CASE WHEN status <> 'new'
            THEN m.members[1 + floor(r_member * cardinality(m.members))::integer] END,
       submitted_at, created_at, taken_at, waiting_at, resolved_at,
       CASE WHEN status = 'resolved'
            THEN (CAST(:outcomes AS text[]))[1 + floor(r_outcome * :outcome_count)::integer] END,
       CASE WHEN status = 'resolved' AND r_text < 0.3
            THEN (CAST(:summaries AS text[]))[1 + floor(r_text / 0.3 * :summary_count)::integer]
            WHEN status = 'waiting'
            THEN (CAST(:waiting_texts AS text[]))[1 + floor(r_text * :waiting_count)::integer]
       END,
       CASE status WHEN 'new' THEN 1 WHEN 'in_progress' THEN 2 ELSE 3 END
FROM shaped
JOIN bench_members m USING (queue_code)
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN status = 'resolved'
        -- waited about three hours on average (at most 20), handled in about 15 minutes
        THEN created_at + least(-ln(1 - r_wait) * 3, 20) * interval '1 hour'
        WHEN status <> 'new' THEN created_at + (:now - created_at) * r_wait
    END AS taken_at
) taken
CROSS JOIN LATERAL (
    SELECT CASE WHEN status = 'waiting' THEN taken_at + (:now - taken_at) * r_work END
               AS waiting_at,
           CASE WHEN status = 'resolved'
                THEN taken_at + (2 + least(-ln(1 - r_work) * 15, 240)) * interval '1 minute'
           END AS resolved_at
) later
"""

ITEMS = """
INSERT INTO work_item (
    id, channel, external_id, title, queue_code, service_area_code, status, assignee_id,
    emergency, urgency, submitted_at, due_at, created_at, updated_at, resolved_at,
    first_action_at, outcome_code, municipality_code, language, identification, personal_id,
    resident_name,
    resident_phone, resident_email, content, version
)
SELECT s.id, t.channel, 'bench-' || s.id, t.title, t.queue_code, t.service_area_code,
       s.status, s.assignee_id, t.emergency, t.urgency, s.submitted_at,
       CASE t.rule
           WHEN 'elapsed' THEN s.submitted_at + make_interval(secs => t.rule_n)
           WHEN 'working_days' THEN
               (CASE WHEN t.rule_n > 0 THEN pg_temp.nth_working_day(local.day, t.rule_n)
                     WHEN extract(isodow FROM local.day) <= 5
                          AND local.clock < CAST(:closes AS time)
                     THEN local.day
                     ELSE pg_temp.nth_working_day(local.day, 1) END
                + CAST(:closes AS time)) AT TIME ZONE 'Europe/Helsinki'
       END,
       s.created_at, coalesce(s.resolved_at, s.waiting_at, s.taken_at, s.created_at),
       s.resolved_at, s.taken_at, s.outcome_code, t.municipality_code, t.language,
       t.identification,
       t.personal_id, t.resident_name, t.resident_phone, t.resident_email, t.content, s.version
FROM bench_src s
JOIN bench_template t ON t.grp = s.grp AND t.n = s.n
CROSS JOIN LATERAL (
    SELECT (s.submitted_at AT TIME ZONE 'Europe/Helsinki')::date AS day,
           (s.submitted_at AT TIME ZONE 'Europe/Helsinki')::time AS clock
) local
"""

# Event ids are 4 × item id + position, so each item's timeline is in id order.
EVENTS = """
INSERT INTO item_event (id, item_id, at, actor_id, kind, to_queue_code, outcome_code, text)
SELECT s.id * 4 + e.seq, s.id, e.at, e.actor_id, e.kind, e.to_queue_code, e.outcome_code,
       e.text
FROM bench_src s
CROSS JOIN LATERAL (VALUES
    (0, s.created_at, NULL::integer, 'created', NULL::text, NULL::text, NULL::text),
    (1, s.created_at, NULL, 'routed', s.queue_code, NULL, NULL),
    (2, s.taken_at, s.assignee_id, 'taken', NULL, NULL, NULL),
    (3, coalesce(s.resolved_at, s.waiting_at), s.assignee_id,
     CASE WHEN s.resolved_at IS NULL THEN 'waiting' ELSE 'resolved' END, NULL,
     s.outcome_code, s.event_text)
) AS e (seq, at, actor_id, kind, to_queue_code, outcome_code, text)
WHERE e.at IS NOT NULL
"""


def _slots() -> list[str]:
    return [group for group, share in GROUP_SHARES.items() for _ in range(share)]


def generate_items(
    conn: Connection, outcomes: list[str], open_items: int, resolved_items: int
) -> None:
    """Open items of the last week and resolved ones of the two years before, with events."""
    conn.execute(text(NTH_WORKING_DAY))
    conn.execute(
        text(
            "CREATE TEMP TABLE bench_group_size ON COMMIT DROP AS "
            "SELECT grp, count(*) AS size FROM bench_template GROUP BY grp"
        )
    )
    conn.execute(
        text(
            "CREATE TEMP TABLE bench_members ON COMMIT DROP AS SELECT queue_code, "
            "array_agg(user_id ORDER BY user_id) AS members FROM queue_membership GROUP BY 1"
        )
    )
    conn.execute(
        text(
            """
            CREATE TEMP TABLE bench_src (
                id integer, grp text, n integer, queue_code text, status text,
                assignee_id integer, submitted_at timestamptz, created_at timestamptz,
                taken_at timestamptz, waiting_at timestamptz, resolved_at timestamptz,
                outcome_code text, event_text text, version integer
            ) ON COMMIT DROP
            """
        )
    )
    now = conn.execute(text("SELECT now()")).scalar_one()
    slots = _slots()
    common = {
        "slots": slots,
        "slot_count": len(slots),
        "outcomes": outcomes,
        "outcome_count": len(outcomes),
        "summaries": RESOLVE_SUMMARIES,
        "summary_count": len(RESOLVE_SUMMARIES),
        "waiting_texts": WAITING_TEXTS,
        "waiting_count": len(WAITING_TEXTS),
        "in_progress_share": IN_PROGRESS_SHARE,
        "held_share": IN_PROGRESS_SHARE + WAITING_SHARE,
        "now": now,
    }
    day = 86400
    # Resolved items first: the oldest get the smallest ids, as in a desk in use for years.
    batches = [
        (True, 1, resolved_items, now.timestamp() - 730 * day, now.timestamp() - day),
        (False, resolved_items + 1, open_items, now.timestamp() - 7 * day, now.timestamp()),
    ]
    for resolved, first_id, count, start, end in batches:
        if not count:
            continue
        conn.execute(
            text(SOURCE_ROWS),
            {
                **common,
                "resolved": resolved,
                "first_id": first_id,
                "count": count,
                "start": datetime.fromtimestamp(start, UTC),
                "end": datetime.fromtimestamp(end, UTC),
            },
        )
    conn.execute(text(ITEMS), {"closes": OFFICE_CLOSES})
    conn.execute(text(EVENTS))
    for table in ("work_item", "item_event"):
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        )
    conn.execute(text("DROP FUNCTION pg_temp.nth_working_day"))


def generate(
    database_url: str = DATABASE_URL,
    *,
    open_items: int = OPEN_ITEMS,
    resolved_items: int = RESOLVED_ITEMS,
    professionals: int = PROFESSIONALS,
    seed: int = 2026,
    echo=print,
) -> dict:
    """Recreate and fill the benchmark database; return its volume and the time it took."""
    started = time.perf_counter()
    rng = random.Random(seed)
    recreate_database(database_url)
    app = make_app(database_url)
    with app.app_context():
        upgrade()
        reference.load(db.session)
        db.session.commit()
        echo(f"  schema and reference data: {time.perf_counter() - started:.1f} s")
        users = create_professionals(db.session, professionals, rng)
        db.session.commit()
        outcomes = list(
            db.session.scalars(select(OutcomeCode.code).where(OutcomeCode.active.is_(True)))
        )
        # One transaction: SET LOCAL and the temporary tables end with it, and the pooled
        # connection is left as it was.
        with db.engine.connect() as conn:
            conn.execute(text("SELECT setseed(:seed)"), {"seed": (seed % 1000) / 1000})
            # Rows are consistent by construction: skip the per-row foreign key triggers.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(text("SET LOCAL work_mem = '64MB'"))
            step = time.perf_counter()
            counts = load_templates(conn, db.session, rng)
            db.session.rollback()
            echo(f"  templates {counts}: {time.perf_counter() - step:.1f} s")
            step = time.perf_counter()
            generate_items(conn, outcomes, open_items, resolved_items)
            # The kept counts' triggers were off with the rest: count once what was made.
            with Session(bind=conn) as session:
                kept_counts.recount(session, datetime.now(UTC))
                session.flush()
            conn.commit()
            echo(f"  items and events: {time.perf_counter() - step:.1f} s")
        step = time.perf_counter()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # VACUUM too: hint bits and the visibility map as in a settled database, and no
            # autovacuum of a million fresh rows in the middle of the measurements.
            conn.execute(text("VACUUM (ANALYZE)"))
        echo(f"  vacuum and analyze: {time.perf_counter() - step:.1f} s")
        volume = volume_of(db.session)
        db.session.remove()
        db.engine.dispose()
    volume["professionals"] = len(users)
    volume["generation_seconds"] = round(time.perf_counter() - started, 1)
    return volume


def volume_of(session: Session) -> dict:
    """Row counts and sizes of the benchmark database."""
    rows = session.execute(
        text(
            """
            SELECT
                (SELECT count(*) FROM work_item WHERE status <> 'resolved') AS open_items,
                (SELECT count(*) FROM work_item WHERE status = 'resolved') AS resolved_items,
                (SELECT count(*) FROM work_item WHERE emergency) AS emergencies,
                (SELECT count(*) FROM work_item WHERE status IN ('in_progress', 'waiting'))
                    AS held_items,
                (SELECT count(*) FROM item_event) AS events,
                (SELECT count(*) FROM user_account WHERE role = 'professional')
                    AS professionals,
                (SELECT count(*) FROM queue) AS queues,
                pg_size_pretty(pg_database_size(current_database())) AS database_size
            """
        )
    ).one()
    return dict(rows._mapping)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=OPEN_ITEMS, help="open items")
    parser.add_argument("--resolved", type=int, default=RESOLVED_ITEMS, help="resolved items")
    parser.add_argument("--professionals", type=int, default=PROFESSIONALS)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    print(f"Generating {make_url(DATABASE_URL).database}…")
    volume = generate(
        open_items=args.open,
        resolved_items=args.resolved,
        professionals=args.professionals,
        seed=args.seed,
    )
    print(
        f"{volume['open_items']:,} open items ({volume['held_items']:,} held), "
        f"{volume['resolved_items']:,} resolved, {volume['events']:,} events, "
        f"{volume['emergencies']:,} emergencies, {volume['professionals']} professionals; "
        f"database {volume['database_size']}; generated in {volume['generation_seconds']} s"
    )


if __name__ == "__main__":
    main()
