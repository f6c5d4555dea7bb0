"""Measure My work, take next and the situation view with phone callbacks among the open items
(issue 18): the desk of today, then the same with 20,000 callbacks, 10,000 of them waiting for
a retry, in one run.

    python -m bench.calls [--requests N] [--users N] [--threads N] [--rounds N]
                          [--situation-requests N] [--seed N]

Runs on the benchmark database `desk_bench` (generated first by bench/generate.py if it holds no
items). Each of the two phases measures, as bench/run.py does (its functions): My work
(`GET /work`) and the item page, 6 professionals taking turns; take next, 20 professionals one
at a time (3 presses each) and all 20 at once (25 rounds); and, as bench/situation.py does, the
situation view's live fragment (`GET /situation` with `HX-Request`, the phone panel included)
as the team lead `benchlead` (every queue) and as the page user with the median backlog. Then
EXPLAIN (ANALYZE, BUFFERS) of every statement on work_item that My work and take next ran for
two page users, and of the phone panel's counts, exactly as the app ran them. Each scan of
work_item in those plans is given the number of retry-waiting rows it could reach, counted in
the database: the rows that satisfy its index's predicate and its Index Cond (a Seq Scan: all).

1. Today: `desk_bench` as generated (no callbacks).
2. With callbacks: 20,000 of the open new items become callbacks as the intake makes them. A
   TeleQ payload in the demo's shape (a number, the phone menu's topic in the demo's shares,
   the place in the phone queue; for some, a window later the same working day; a municipality
   for 60 %) is checked against the contract and built by `desk.inbound.intake.build_item`:
   routed by the routing rules (topic social with a municipality: that system area's social
   services; the rest: callback-regional), due by the channel's rule (16:00 of the same working
   day, or the window's end). 10,000 of them then wait for a retry as an unanswered attempt
   leaves them (`desk.work.calls`): status waiting, no holder, retry_at in the next hours, 1–2
   attempts, 'no-answer'. Still 100,000 open. VACUUM (ANALYZE) of work_item, then step 1's
   measurements again. After each take-next measurement every retry-waiting row must be as the
   conversion left it (take next handed none out; bench/run.py puts the taken items back as
   new, so one handed out would show).

Half of the page users (those with the smallest, median and largest backlog) and half of the
take-next users are made members of callback-regional before step 1, so that the only
difference between the two phases is the data. At the start every open item's row is copied to
the table `bench_calls_saved` and the memberships added are noted in `bench_calls_memberships`.
At the end — after an error too, and at the start of the next run if this one was killed — the
items are put back column by column where they differ, the memberships are removed, the tables
dropped and work_item vacuumed and analyzed. No item events are made for the callbacks (nothing
measured reads them); the take-next runs delete their own, as in bench/run.py. The team lead is
added if missing and stays, as bench/situation.py leaves it. Results are printed and written as
JSON to bench/results/calls.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session

from desk import demo
from desk.extensions import db
from desk.inbound.intake import build_item
from desk.models import ItemStatus, User, WorkItem, utcnow
from desk.work.lifecycle import take_next

from . import generate
from .run import (
    QueryLog,
    _get,
    available_count,
    machine,
    measure_pages,
    measure_take_next,
    sign_in,
)
from .situation import (
    LEAD,
    LIVE_MARKER,
    WARM_UP,
    Operation,
    captured,
    ensure_lead,
    measure,
    plan_summary,
    situation_statement_name,
)

RESULTS = Path(__file__).resolve().parent / "results" / "calls.json"
CALLBACKS = 20_000
RETRYING = 10_000
CALLBACK_QUEUE = "callback-regional"
# When a retry-waiting callback comes back to its queue: within the next hours.
RETRY_FROM, RETRY_TO = timedelta(minutes=15), timedelta(hours=6)
WORK_MARKER = 'id="work-lists"'
PHONE_MARKER = 'id="phone-heading"'
# The rows that must never be scanned by My work or take next (desk.work.calls).
RETRY_WAITING = "status = 'waiting' AND assignee_id IS NULL AND retry_at IS NOT NULL"

# Tables of this run in desk_bench, until it has put everything back.
SAVED = "bench_calls_saved"  # every open item's row as it was
MEMBERSHIPS = "bench_calls_memberships"  # the memberships this run added
CONVERTED = "bench_calls_converted"  # the callbacks' state as the conversion left it


# --- what the app runs ---------------------------------------------------------------------------

# My work's and take next's statements on work_item, named before the situation view's names
# and bench/run.py's are tried (run.py calls every count on the list "available: count").
CALLS_STATEMENTS = [
    (r"FOR UPDATE (OF work_item )?SKIP LOCKED", "take next: candidate"),
    (r"AS callbacks_waiting", "situation: phone counts"),
    (r"^SELECT count\(\*\) AS count_1 FROM \(SELECT work_item\.id", "my work: overdue beyond"),
    (
        r"^SELECT count\(\*\) AS count_1 FROM work_item .*emergency IS true$",
        "my work: emergencies, count",
    ),
    (r"^SELECT count\(\*\) AS count_1 FROM work_item .*assignee_id IS NULL$", "my work: count"),
    (r"FROM work_item .*emergency IS true ORDER BY .*LIMIT", "my work: emergencies, first 20"),
    (r"FROM work_item .*emergency IS false ORDER BY .*LIMIT", "my work: first 50"),
    (r"max\(work_item\.id\)", "my work: newest emergency"),
    (r"FROM work_item .*WHERE work_item\.assignee_id = ", "my work: held items"),
]


def calls_statement_name(statement: str) -> str:
    flat = " ".join(statement.split())
    for pattern, name in CALLS_STATEMENTS:
        if re.search(pattern, flat):
            return name
    return situation_statement_name(statement)


class CallsQueryLog(QueryLog):
    """bench/run.py's QueryLog with the names above; while `every` is a list, every statement
    is kept in it too, in order (name, statement, parameters)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.every: list[tuple[str, str, object]] | None = None

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        elapsed = time.perf_counter() - self._local.started
        if self.current is not None:
            name = calls_statement_name(statement)
            self.current.append((name, elapsed))
            self.last[name] = (statement, parameters)
            if self.every is not None:
                self.every.append((name, statement, parameters))


# --- the retry-waiting rows a plan could reach ---------------------------------------------------

SCAN = re.compile(
    r"(Seq Scan|Index Only Scan|Index Scan|Bitmap Index Scan|Bitmap Heap Scan)"
    r"(?: Backward)?(?: using (\w+))? on (\w+)"
)
ACTUAL = re.compile(r"actual time=[\d.]+\.\.[\d.]+ rows=(\d+) loops=(\d+)")
NODE_DETAILS = ("Index Cond", "Recheck Cond", "Filter", "Rows Removed by Filter", "Heap Fetches")


def scan_nodes(plan: str) -> list[dict]:
    """The scans of a text plan, with their conditions, rows (all loops) and buffers."""
    nodes: list[dict] = []
    current = None
    for line in plan.splitlines():
        found = SCAN.search(line)
        if found:
            kind, using, on = found.groups()
            actual = ACTUAL.search(line)
            current = {
                "node": kind,
                "index": using or (on if kind == "Bitmap Index Scan" else None),
                "table": None if kind == "Bitmap Index Scan" else on,
                "rows": int(actual.group(1)) * int(actual.group(2)) if actual else None,
            }
            nodes.append(current)
        elif "->" in line or not line.startswith(" "):
            current = None  # another node, or Planning / Execution Time
        elif current is not None:
            key, _, value = line.strip().partition(": ")
            if key in (*NODE_DETAILS, "Buffers"):
                current[key.lower().replace(" ", "_")] = value
    return nodes


def work_item_indexes(conn: Connection) -> dict[str, str | None]:
    """The indexes of work_item and their predicates (None: not partial)."""
    rows = conn.execute(
        text(
            "SELECT indexrelid::regclass::text, pg_get_expr(indpred, indrelid) FROM pg_index "
            "WHERE indrelid = 'work_item'::regclass"
        )
    )
    return dict(rows.all())


def retry_reach(conn: Connection, plan: str, indexes: dict[str, str | None]) -> dict:
    """Each scan of work_item in `plan` with the retry-waiting rows it could reach: those in its
    index (the predicate) within its Index Cond, or all of them for a Seq Scan. An ordered scan
    under a Limit reads a prefix of that, so it is an upper bound; 0 means none can be read."""
    scans = []
    for node in scan_nodes(plan):
        if node["node"] == "Seq Scan" and node["table"] == "work_item":
            where = "true"
        elif node["index"] in indexes:
            where = f"({indexes[node['index']] or 'true'}) AND ({node.get('index_cond', 'true')})"
        else:
            continue  # another table, or the heap of a bitmap scan (its index is counted)
        try:
            with conn.begin_nested():
                node["retry_rows_reachable"] = conn.execute(
                    text(f"SELECT count(*) FROM work_item WHERE {RETRY_WAITING} AND {where}")
                ).scalar_one()
        except Exception as error:  # a condition that is no SQL on its own (a parameter)
            node["retry_rows_reachable"] = None
            node["reach_error"] = str(error).splitlines()[0]
        scans.append(node)
    known = [s["retry_rows_reachable"] for s in scans]
    return {
        "work_item_scans": scans,
        "retry_rows_reachable": None if None in known else sum(known),
    }


# --- EXPLAIN -------------------------------------------------------------------------------------


def explain_my_work(app: Flask, username: str, indexes: dict[str, str | None]) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement on work_item that My work and take next ran
    for `username`, as the app ran them (bench/run.py's `explain` keeps the last statement of a
    name, and My work runs three counts), each with the retry-waiting rows it could reach. Take
    next's call and the plans (EXPLAIN ANALYZE of the candidate locks a row) are rolled back."""
    client = app.test_client()
    sign_in(client, username)
    with app.app_context():
        engine = db.engine
        user = db.session.scalar(select(User).where(User.username == username))
        user_id, queues = user.id, sorted(user.queue_codes)
        available = available_count(db.session, user)
        db.session.remove()
    log = CallsQueryLog(engine)
    log.every = []
    with log:
        log.current = []
        _get(client, "/work", WORK_MARKER)
        with engine.connect() as conn, Session(bind=conn) as session:
            take_next(session, session.get(User, user_id))
            session.rollback()
        log.current = None
    statements = {
        name: (statement, parameters)
        for name, statement, parameters in log.every
        if name.startswith(("my work:", "take next: candidate"))
    }
    plans = {}
    with engine.connect() as conn:
        for name, found in statements.items():
            plans[name] = plan_summary(conn, *found)
            plans[name].update(retry_reach(conn, plans[name]["plan"], indexes))
        conn.rollback()
    return {"user": username, "queues": queues, "available": available, "plans": plans}


def explain_phone_counts(log: CallsQueryLog, operation: Operation, conn: Connection) -> dict:
    """The phone panel's counts (desk.work.situation.phone_counts) as one request ran them."""
    plan = plan_summary(conn, *captured(log, operation, "situation: phone counts"))
    plan["uses_ix_work_item_phone"] = "ix_work_item_phone" in plan["indexes"]
    return {"user": operation.username, **plan}


# --- the callbacks -------------------------------------------------------------------------------


def retry_state(rng: random.Random, submitted_at: datetime, now: datetime) -> dict:
    """An unanswered callback waiting in its queue: 1–2 attempts since it arrived, the next
    try within the next hours."""
    attempts = rng.randint(1, 2)
    first = submitted_at + (now - submitted_at) * rng.uniform(0.2, 0.9)
    last = first + (now - first) * rng.random() if attempts == 2 else first
    seconds = rng.uniform(RETRY_FROM.total_seconds(), RETRY_TO.total_seconds())
    return {
        "call_attempts": attempts,
        "first_call": first,
        "last_call": last,
        "retry_at": now + timedelta(seconds=seconds),
    }


def callback_rows(session: Session, rng: random.Random) -> list[dict]:
    """20,000 open new items (no emergencies) as callbacks, 10,000 of them retry-waiting: the
    values of their rows, built by the intake from contract-valid payloads."""
    candidates = session.execute(
        select(WorkItem.id, WorkItem.submitted_at, WorkItem.language)
        .where(
            WorkItem.status == ItemStatus.NEW.value,
            WorkItem.assignee_id.is_(None),
            WorkItem.emergency.is_(False),
        )
        .order_by(WorkItem.id)
    ).all()
    chosen = rng.sample(candidates, CALLBACKS)
    retrying = {row.id for row in rng.sample(chosen, RETRYING)}
    adapter = generate.CHANNELS.get("callback")
    now = utcnow()
    rows = []
    for row in chosen:
        payload = demo.callback_request(rng, row.submitted_at, row.language)
        payload["external_id"] = f"bench-{row.id}"
        if problems := generate.CHANNELS.problems(adapter, payload, now=now):
            raise RuntimeError(f"a callback payload breaks the contract: {problems}")
        item = build_item(session, adapter, payload)
        rows.append(
            {
                "id": row.id,
                "title": item.title,
                "queue_code": item.queue.code,
                "service_area_code": item.service_area_code,
                "due_at": item.due_at,
                "municipality_code": item.municipality_code,
                "language": item.language,
                "identification": item.identification,
                "resident_phone": item.resident_phone,
                "content": json.dumps(item.content, ensure_ascii=False),
                "call_attempts": 0,
                "first_call": None,
                "last_call": None,
                "retry_at": None,
                **(retry_state(rng, row.submitted_at, now) if row.id in retrying else {}),
            }
        )
    session.rollback()
    return rows


CONVERT = """
UPDATE work_item w SET
    channel = 'callback', title = c.title, queue_code = c.queue_code,
    service_area_code = c.service_area_code, due_at = c.due_at,
    municipality_code = c.municipality_code, language = c.language,
    identification = c.identification, personal_id = NULL, resident_name = NULL,
    resident_phone = c.resident_phone, resident_email = NULL, content = c.content,
    emergency = false, urgency = NULL, answer_by = NULL, unanswered_since = NULL,
    assignee_id = NULL,
    status = CASE WHEN c.retry_at IS NULL THEN 'new' ELSE 'waiting' END,
    retry_at = c.retry_at, call_attempts = c.call_attempts, extra_attempts = 0,
    call_result = CASE WHEN c.retry_at IS NULL THEN NULL ELSE 'no-answer' END,
    first_action_at = coalesce(w.first_action_at, c.first_call),
    updated_at = coalesce(c.last_call, w.updated_at),
    version = w.version + 2 * c.call_attempts
FROM bench_callback c
WHERE w.id = c.id
"""


def convert(app: Flask, rng: random.Random) -> dict:
    """Make the callbacks (one transaction), note their state, then VACUUM (ANALYZE)."""
    started = time.perf_counter()
    with app.app_context():
        rows = callback_rows(db.session, rng)
        built = time.perf_counter() - started
        engine = db.engine
        db.session.remove()
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TEMP TABLE bench_callback (id integer PRIMARY KEY, title text, "
                "queue_code text, service_area_code text, due_at timestamptz, "
                "municipality_code text, language text, identification text, "
                "resident_phone text, content jsonb, call_attempts integer, "
                "first_call timestamptz, last_call timestamptz, retry_at timestamptz) "
                "ON COMMIT DROP"
            )
        )
        conn.execute(
            text(
                "INSERT INTO bench_callback VALUES (:id, :title, :queue_code, "
                ":service_area_code, :due_at, :municipality_code, :language, :identification, "
                ":resident_phone, CAST(:content AS jsonb), :call_attempts, :first_call, "
                ":last_call, :retry_at)"
            ),
            rows,
        )
        changed = conn.execute(text(CONVERT)).rowcount
        conn.execute(
            text(
                f"CREATE TABLE {CONVERTED} AS SELECT id, status, assignee_id, retry_at, version "
                "FROM work_item WHERE id IN (SELECT id FROM bench_callback)"
            )
        )
    assert changed == CALLBACKS, f"{changed} items became callbacks, not {CALLBACKS}"
    vacuum(engine)
    return {
        "callbacks": changed,
        "build_seconds": round(built, 1),
        "seconds": round(time.perf_counter() - started, 1),
        **callback_facts(engine),
    }


def callback_facts(engine: Engine) -> dict:
    """The open items as converted: callbacks and retries per queue, windows, what is open."""
    with engine.connect() as conn:
        by_queue = conn.execute(
            text(
                "SELECT queue_code, count(*) AS callbacks, count(*) FILTER "
                f"(WHERE {RETRY_WAITING}) AS retry_waiting FROM work_item "
                "WHERE channel = 'callback' AND status <> 'resolved' GROUP BY 1 ORDER BY 1"
            )
        ).all()
        totals = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE status <> 'resolved') AS open, "
                "count(*) FILTER (WHERE status = 'new' AND assignee_id IS NULL) AS takeable, "
                f"count(*) FILTER (WHERE {RETRY_WAITING}) AS retry_waiting, "
                "count(*) FILTER (WHERE channel = 'callback' AND content->'callback' ? 'window') "
                "AS with_window, count(*) FILTER (WHERE channel = 'callback' "
                "AND municipality_code IS NULL) AS no_municipality "
                "FROM work_item WHERE status <> 'resolved'"
            )
        ).one()
    return {
        **totals._asdict(),
        "by_queue": {row.queue_code: [row.callbacks, row.retry_waiting] for row in by_queue},
    }


def handed_out(engine: Engine) -> dict:
    """What take next did to the callbacks so far, read from their rows against the conversion:
    bench/run.py puts the items it took back as new, so a retry-waiting item handed out would
    have lost its retry_at and moved its version."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE c.retry_at IS NOT NULL AND "
                "(w.status, w.assignee_id, w.retry_at, w.version) IS DISTINCT FROM "
                "(c.status, c.assignee_id, c.retry_at, c.version)) AS retry_waiting_changed, "
                "count(*) FILTER (WHERE c.retry_at IS NULL AND w.version <> c.version) "
                f"AS callbacks_taken FROM work_item w JOIN {CONVERTED} c USING (id)"
            )
        ).one()
    return row._asdict()


# --- putting the database back -------------------------------------------------------------------


def vacuum(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) work_item"))


def save(engine: Engine, members: dict[int, str]) -> list[tuple[int, str]]:
    """Copy every open item's row, then make the users members of the queue; returns the
    memberships added (noted first, in the same transaction)."""
    with engine.begin() as conn:
        conn.execute(
            text(f"CREATE TABLE {SAVED} AS SELECT * FROM work_item WHERE status <> 'resolved'")
        )
        conn.execute(text(f"CREATE TABLE {MEMBERSHIPS} (user_id integer, queue_code text)"))
        added = conn.execute(
            text(
                f"INSERT INTO {MEMBERSHIPS} SELECT u, :queue FROM unnest(CAST(:users AS int[])) u "
                "WHERE NOT EXISTS (SELECT 1 FROM queue_membership m WHERE m.user_id = u "
                "AND m.queue_code = :queue) RETURNING user_id, queue_code"
            ),
            {"users": list(members), "queue": CALLBACK_QUEUE},
        ).all()
        conn.execute(
            text(f"INSERT INTO queue_membership (user_id, queue_code) SELECT * FROM {MEMBERSHIPS}")
        )
    return [tuple(row) for row in added]


def put_back(engine: Engine) -> dict | None:
    """Every open item's row as saved, where any column differs; the memberships added removed;
    the run's tables dropped; work_item vacuumed. None when there was nothing to put back."""
    with engine.begin() as conn:
        if conn.execute(text(f"SELECT to_regclass('{SAVED}')")).scalar_one() is None:
            return None
        columns = list(
            conn.scalars(
                text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'work_item' AND is_generated = 'NEVER' "
                    "AND column_name <> 'id' ORDER BY ordinal_position"
                )
            )
        )
        mine = ", ".join(f"w.{c}" for c in columns)
        saved = ", ".join(f"s.{c}" for c in columns)
        rows = conn.execute(
            text(
                f"UPDATE work_item w SET ({', '.join(columns)}) = ({saved}) FROM {SAVED} s "
                f"WHERE w.id = s.id AND ({mine}) IS DISTINCT FROM ({saved})"
            )
        ).rowcount
        left = conn.execute(
            text(
                f"SELECT count(*) FROM work_item w JOIN {SAVED} s USING (id) "
                f"WHERE ({mine}) IS DISTINCT FROM ({saved})"
            )
        ).scalar_one()
        memberships = conn.execute(
            text(
                f"DELETE FROM queue_membership m USING {MEMBERSHIPS} a "
                "WHERE m.user_id = a.user_id AND m.queue_code = a.queue_code"
            )
        ).rowcount
        conn.execute(text(f"DROP TABLE {SAVED}, {MEMBERSHIPS}"))
        conn.execute(text(f"DROP TABLE IF EXISTS {CONVERTED}"))
    vacuum(engine)
    assert left == 0, f"{left} items differ from their saved rows after putting them back"
    return {"items_put_back": rows, "memberships_removed": memberships}


# --- the two phases ------------------------------------------------------------------------------


def measure_situation(
    app: Flask, log: CallsQueryLog, usernames: list[str], requests: int, rng: random.Random
) -> tuple[list[Operation], list[dict]]:
    """The live fragment with the phone panel, as each of `usernames`, taking turns."""
    operations = []
    for username in usernames:
        client = app.test_client()
        sign_in(client, username)
        operations.append(
            Operation(
                "situation_fragment",
                username,
                client,
                "/situation",
                (LIVE_MARKER, PHONE_MARKER),
                {"HX-Request": "true"},
            )
        )
    measure(operations, log, requests, rng)
    return operations, [operation.result() for operation in operations]


def phase(
    app: Flask,
    engine: Engine,
    people: dict,
    args: argparse.Namespace,
    indexes: dict[str, str | None],
    *,
    converted: bool,
) -> dict:
    """Everything measured once: pages, take next, the situation view, the plans."""
    rng = random.Random(args.seed)
    url = generate.DATABASE_URL
    load = os.getloadavg()
    with app.app_context():
        available = {
            u.username: available_count(db.session, u)
            for u in db.session.scalars(select(User).where(User.id.in_(people["all_ids"])))
        }
        db.session.remove()
    print(f"  pages: {args.requests} requests each, as {len(people['page'])} professionals…")
    pages = measure_pages(app, people["page"], args.requests, rng)
    checks = {}
    print(f"  take next: {args.threads} professionals one at a time, 3 presses each…")
    alone = measure_take_next(url, people["take"], 3, together=False)
    if converted:
        checks["after_take_next_alone"] = handed_out(engine)
    print(f"  take next: {args.threads} at once, {args.rounds} rounds…")
    together = measure_take_next(url, people["take"], args.rounds, together=True)
    if converted:
        checks["after_take_next_together"] = handed_out(engine)
    print(f"  situation: {args.situation_requests} requests each…")
    log = CallsQueryLog(engine)
    operations, situation = measure_situation(
        app, log, people["situation"], args.situation_requests, rng
    )
    plans = {which: explain_my_work(app, u, indexes) for which, u in people["explain"].items()}
    with engine.connect() as conn:
        phone = [explain_phone_counts(log, operation, conn) for operation in operations]
        conn.rollback()
    return {
        "load_average_at_start": load,
        "available_by_user": dict(sorted(available.items())),
        "pages": pages,
        "take_next_alone": alone,
        "take_next": together,
        "situation": situation,
        "explain": plans,
        "explain_phone_counts": phone,
        "checks": checks,
    }


def choose_people(app: Flask, args: argparse.Namespace, rng: random.Random) -> dict:
    """The page users, the take-next users, who joins callback-regional, who is explained."""
    with app.app_context():
        session = db.session
        ensure_lead(session)
        professionals = generate.professionals(session)
        page = rng.sample(professionals, args.users)
        take = rng.sample(professionals, args.threads)
        backlog = {u.username: available_count(session, u) for u in {*page, *take}}
        members = {u.id for u in professionals if CALLBACK_QUEUE in u.queue_codes}
        db.session.remove()
    by_backlog = sorted(page, key=lambda u: (backlog[u.username], u.username))
    smallest, median, largest = by_backlog[0], by_backlog[len(by_backlog) // 2], by_backlog[-1]
    joining = {u.id: u.username for u in (smallest, median, largest)}
    joining.update({u.id: u.username for u in sorted(take, key=lambda u: u.id)[: len(take) // 2]})
    return {
        "page": [u.username for u in page],
        "take": {u.id: u.username for u in take},
        "situation": [LEAD, median.username],
        "explain": {"median_backlog": median.username, "largest_backlog": largest.username},
        "callback_members": sorted({*joining.values()}),
        "members_before": sorted(members),
        "joining": joining,
        "all_ids": sorted({u.id for u in (*page, *take)}),
        "backlog_today": backlog,
    }


# --- the table -----------------------------------------------------------------------------------


def _cell(row: dict) -> str:
    return f"{row['p50_ms']} / {row['p95_ms']}"


def rows_of(result: dict) -> list[tuple[str, dict]]:
    pages, alone, together = result["pages"], result["take_next_alone"], result["take_next"]
    rows = [
        ("My work        GET /work", pages["my_work"]),
        ("Item page      GET /items/<id>", pages["item"]),
        ("Take next      one at a time", alone),
        (f"Take next      {together['professionals']} at once", together),
    ]
    for row in result["situation"]:
        rows.append((f"Situation      {row['user']}", row))
    return rows


def print_table(results: dict) -> None:
    today, calls = results["today"], results["callbacks"]
    print(
        f"\np50 / p95 ms: today vs with {CALLBACKS:,} callbacks ({RETRYING:,} waiting for a retry)"
    )
    print(f"{'':34} {'today':>15} {'callbacks':>15}   {'SQL ms':>13}   {'stmts':>11}")
    for (label, before), (_, after) in zip(rows_of(today), rows_of(calls), strict=True):
        print(
            f"{label:34} {_cell(before):>15} {_cell(after):>15}   "
            f"{before['db_mean_ms']:>5} → {after['db_mean_ms']:<5}   "
            f"{before['queries_per_call']:>4} → {after['queries_per_call']:<4}"
        )
    print("(situation: the live fragment with the phone panel; SQL ms: mean per call)")
    for label, result in (("today", today), ("callbacks", calls)):
        together = result["take_next"]
        print(
            f"  {label}: load {result['load_average_at_start'][0]:.2f} at the start; "
            f"{together['items_taken']} taken by {together['professionals']} at once, "
            f"{together['handed_out_twice']} twice, {together['taken_per_second']}/s"
        )
    checks = results["callbacks"]["checks"]["after_take_next_together"]
    print(
        f"Take next handed out {checks['callbacks_taken']} callbacks and "
        f"{checks['retry_waiting_changed']} retry-waiting items (must be 0)"
    )
    for which in today["explain"]:
        before, after = today["explain"][which], calls["explain"][which]
        print(
            f"EXPLAIN ANALYZE, {which.replace('_', ' ')}: {after['user']} "
            f"({len(after['queues'])} queues, {before['available']:,} → {after['available']:,} "
            "takeable)"
        )
        for name, plan in after["plans"].items():
            old = before["plans"].get(name)
            rows = "; ".join(
                f"{s['node']} {s['index'] or s['table']} rows={s['rows']}"
                for s in plan["work_item_scans"]
            )
            print(
                f"  {name}: {old['execution_ms'] if old else '-'} → {plan['execution_ms']} ms; "
                f"{rows}; buffers {plan['buffers']}; "
                f"retry rows reachable: {plan['retry_rows_reachable']}"
            )
    for before, after in zip(
        today["explain_phone_counts"], calls["explain_phone_counts"], strict=True
    ):
        print(
            f"EXPLAIN ANALYZE phone counts, {after['user']}: {before['execution_ms']} → "
            f"{after['execution_ms']} ms; {'; '.join(after['scans'])}; buffers {after['buffers']}; "
            f"ix_work_item_phone: {'yes' if after['uses_ix_work_item_phone'] else 'NO'}"
        )


# --- the run -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=360, help="requests per page")
    parser.add_argument("--users", type=int, default=6, help="professionals requesting pages")
    parser.add_argument("--threads", type=int, default=20, help="professionals taking next")
    parser.add_argument("--rounds", type=int, default=25, help="take-next presses each")
    parser.add_argument(
        "--situation-requests", type=int, default=100, help="situation fragments per viewer"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    url = generate.DATABASE_URL
    started_at = datetime.now(UTC)
    if not generate.has_items(url):
        print("Generating desk_bench (it holds no items yet)…")
        generate.generate(url)
    app = generate.existing_app(url)
    with app.app_context():
        engine = db.engine
        volume = generate.volume_of(db.session)
        db.session.remove()
    if earlier := put_back(engine):
        print(f"An earlier run was interrupted: put back first ({earlier}).")
    facts = machine(engine)
    with engine.connect() as conn:
        indexes = work_item_indexes(conn)
    print(
        f"desk_bench: {volume['open_items']:,} open, {volume['resolved_items']:,} resolved, "
        f"{volume['database_size']}; {facts['nproc']} CPUs ({facts['cpu_model']}), "
        f"{facts['ram_gib']} GiB, PostgreSQL {facts['postgresql']}; "
        f"load average {facts['load_average'][0]:.2f}"
    )
    people = choose_people(app, args, random.Random(args.seed))
    results = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "machine": facts,
        "volume": volume,
        "settings": {
            "callbacks": CALLBACKS,
            "retry_waiting": RETRYING,
            "requests_per_page": args.requests,
            "take_next_professionals": args.threads,
            "take_next_rounds": args.rounds,
            "situation_requests": args.situation_requests,
            "warm_up": WARM_UP,
            "seed": args.seed,
            **{k: people[k] for k in ("page", "situation", "explain", "callback_members")},
            "take": list(people["take"].values()),
            "backlog_today": dict(sorted(people["backlog_today"].items())),
        },
    }
    added = save(engine, people["joining"])
    results["settings"]["memberships_added"] = added
    try:
        print("Today (no callbacks):")
        results["today"] = phase(app, engine, people, args, indexes, converted=False)
        print(f"Making {CALLBACKS:,} callbacks, {RETRYING:,} of them waiting for a retry…")
        results["data"] = convert(app, random.Random(args.seed))
        print(f"  {results['data']['seconds']} s; {results['data']['by_queue']}")
        print(f"With {CALLBACKS:,} callbacks:")
        results["callbacks"] = phase(app, engine, people, args, indexes, converted=True)
    finally:
        results["restored"] = put_back(engine)
        print(f"Put back: {results['restored']}")
        engine.dispose()
    results["load_average_at_end"] = os.getloadavg()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n")
    print_table(results)
    print(f"\nWritten to {RESULTS}")
    for name, check in results["callbacks"]["checks"].items():
        assert check["retry_waiting_changed"] == 0, f"{name}: take next handed out {check}"


if __name__ == "__main__":
    main()
