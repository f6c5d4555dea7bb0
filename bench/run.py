"""Measure the desk on the benchmark database: My work, the item page and take next.

    python -m bench.run [--skip-generate] [--requests N] [--users N] [--threads N] [--rounds N]

The database `desk_bench` is generated first (bench/generate.py) unless it already holds items.
Pages are requested in-process through Flask's test client, signed in as several
professionals, so the times are the server's: routing, queries, rendering, no network. Take
next is called by 20 professionals one at a time, then by all 20 at once (a thread each, with
its own session on its own connection). Results are printed and written as JSON to
bench/results/latest.json; the database is left as it was (the items taken are put back).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.orm import Session

from desk.extensions import db
from desk.models import OPEN_STATUSES, ItemEvent, ItemStatus, Role, User, WorkItem
from desk.work.access import visible_to
from desk.work.lifecycle import take_next

from . import generate

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


# --- statistics ---------------------------------------------------------------------------------


def summary(seconds: list[float]) -> dict:
    """n, p50, p95, mean and max of durations, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(cuts[94], 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "max_ms": round(ms[-1], 1),
    }


# --- what the database does during a request ----------------------------------------------------

# Names for the statements the pages and take next run, in the order they are tried.
STATEMENT_NAMES = [
    (r"^SELECT 1$", "pool pre-ping"),
    (r"FOR UPDATE (OF work_item )?SKIP LOCKED", "take next: candidate FOR UPDATE SKIP LOCKED"),
    (r"^UPDATE work_item ", "take next: claim UPDATE"),
    (r"^INSERT INTO item_event", "event INSERT"),
    (r"FROM open_item_count", "available: numbers (kept)"),
    (r"^SELECT count\(\*\) .*FROM work_item", "available: count"),
    (r"FROM work_item .*assignee_id IS NULL.*LIMIT", "available: first 50"),
    (r"FROM work_item .*work_item\.assignee_id = ", "held items"),
    (r"FROM work_item .*work_item\.id = ", "item by id"),
    (r"FROM item_event", "item events (selectin)"),
    (r"queue_membership", "user's queues"),
    (r"municipality_scope", "user's municipalities"),
    (r"FROM user_account .*WHERE user_account\.id = ", "user by id"),
    (r"FROM outcome_code", "outcome codes"),
    (r"FROM queue\b", "queues"),
]


def statement_name(statement: str) -> str:
    flat = " ".join(statement.split())
    for pattern, name in STATEMENT_NAMES:
        if re.search(pattern, flat):
            return name
    return flat[:60]


def time_runs(
    engine: Engine, session: Session, runs: int, call
) -> tuple[list[float], dict, object]:
    """`call()` `runs` times, each in its own rolled-back transaction: the durations, the mean
    milliseconds of each statement (slowest first), and the last result."""
    times, sql, result = [], [], None
    with QueryLog(engine) as log:
        for _ in range(runs):
            log.current = []
            began = time.perf_counter()
            result = call()
            times.append(time.perf_counter() - began)
            sql.append(log.current)
            log.current = None
            session.rollback()
    statements: dict[str, list[float]] = {}
    for run in sql:
        for name, seconds in run:
            statements.setdefault(name, []).append(seconds)
    means = {
        name: round(sum(values) * 1000 / len(values), 1)
        for name, values in sorted(statements.items(), key=lambda kv: -sum(kv[1]))
    }
    return times, means, result


def time_page(client: FlaskClient, url: str, runs: int) -> dict:
    """The page `runs` times after one (the summary of `summary`); each must answer 200."""
    client.get(url)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        answer = client.get(url)
        times.append(time.perf_counter() - began)
        assert answer.status_code == 200, (url, answer.status_code)
    return summary(times)


class QueryLog:
    """Times the statements on an engine, per thread, while that thread's `current` is a list."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.last: dict[str, tuple[str, object]] = {}
        self._local = threading.local()

    @property
    def current(self) -> list[tuple[str, float]] | None:
        return getattr(self._local, "current", None)

    @current.setter
    def current(self, value: list[tuple[str, float]] | None) -> None:
        self._local.current = value

    def __enter__(self) -> QueryLog:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self._local.started = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        elapsed = time.perf_counter() - self._local.started
        if self.current is not None:
            name = statement_name(statement)
            self.current.append((name, elapsed))
            self.last[name] = (statement, parameters)


class Timings:
    """Durations of one operation (a page, a take next), with what its statements took."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.db_seconds: list[float] = []
        self.queries: list[int] = []
        self.by_statement: dict[str, list[float]] = defaultdict(list)
        self.by_user: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()

    def add(self, elapsed: float, log: list[tuple[str, float]], user: str) -> None:
        with self._lock:
            self.seconds.append(elapsed)
            self.by_user[user].append(elapsed)
            self.db_seconds.append(sum(s for _, s in log))
            self.queries.append(len(log))
            for name, seconds in log:
                self.by_statement[name].append(seconds)

    def result(self) -> dict:
        calls = len(self.seconds)
        statements = sorted(
            (
                {
                    "statement": name,
                    "per_call": round(len(times) / calls, 2),
                    "mean_ms": round(statistics.fmean(times) * 1000, 2),
                    "ms_per_call": round(sum(times) * 1000 / calls, 2),
                }
                for name, times in self.by_statement.items()
            ),
            key=lambda s: -s["ms_per_call"],
        )
        return {
            **summary(self.seconds),
            "db_mean_ms": round(statistics.fmean(self.db_seconds) * 1000, 1),
            "queries_per_call": round(statistics.fmean(self.queries), 1),
            "statements": statements,
            "p50_ms_by_user": {
                user: round(statistics.median(times) * 1000, 1)
                for user, times in sorted(self.by_user.items())
            },
        }


# --- pages ---------------------------------------------------------------------------------------


def sign_in(client: FlaskClient, username: str) -> None:
    """Sign in through the login form, with the CSRF token from the page."""
    page = client.get("/login")
    token = CSRF_META.search(page.get_data(as_text=True)).group(1)
    response = client.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": generate.PASSWORD},
    )
    if response.status_code != 302:
        raise RuntimeError(f"sign-in as {username} failed: {response.status_code}")


def visible_open_items(session: Session, user: User, count: int = 200) -> list[int]:
    """Random open items the user may see (their queues, their municipalities)."""
    return list(
        session.scalars(
            select(WorkItem.id)
            .where(visible_to(user), WorkItem.status.in_(OPEN_STATUSES))
            .order_by(func.random())
            .limit(count)
        )
    )


def _get(client: FlaskClient, url: str, marker: str) -> None:
    response = client.get(url)
    body = response.get_data(as_text=True)
    if response.status_code != 200 or marker not in body:
        raise RuntimeError(f"GET {url}: {response.status_code}")


def available_count(session: Session, user: User) -> int:
    """How many items wait in the user's queues (what My work counts)."""
    return session.scalar(
        select(func.count())
        .select_from(WorkItem)
        .where(
            visible_to(user),
            WorkItem.status == ItemStatus.NEW.value,
            WorkItem.assignee_id.is_(None),
        )
    )


def measure_pages(app: Flask, usernames: list[str], requests: int, rng: random.Random) -> dict:
    """p50/p95 of GET /work and GET /items/<id>, taking turns between signed-in users."""
    clients: dict[str, FlaskClient] = {}
    items: dict[str, list[int]] = {}
    with app.app_context():
        for username in usernames:
            user = db.session.scalar(select(User).where(User.username == username))
            items[username] = visible_open_items(db.session, user)
        engine = db.engine
        db.session.remove()
    for username in usernames:
        clients[username] = app.test_client()
        sign_in(clients[username], username)
    # Warm up: templates compiled, connections open, the users' rows in PostgreSQL's cache.
    for username, client in clients.items():
        for item_id in items[username][:3]:
            _get(client, "/work", 'id="work-lists"')
            _get(client, f"/items/{item_id}", f'data-item-id="{item_id}"')

    pages = {"my_work": Timings(), "item": Timings()}
    with QueryLog(engine) as log:
        for i in range(requests):
            username = usernames[i % len(usernames)]
            item_id = rng.choice(items[username])
            for page, url, marker in (
                ("my_work", "/work", 'id="work-lists"'),
                ("item", f"/items/{item_id}", f'data-item-id="{item_id}"'),
            ):
                log.current = []
                started = time.perf_counter()
                _get(clients[username], url, marker)
                elapsed = time.perf_counter() - started
                pages[page].add(elapsed, log.current, username)
                log.current = None
    return {page: timings.result() for page, timings in pages.items()}


def _plan(conn, statement: str, parameters) -> dict:
    plan = "\n".join(
        conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars()
    )
    sort = re.search(r"Sort Method: (.+)", plan)
    return {
        "indexes": sorted(set(re.findall(r"(ix_work_item_\w+)", plan))),
        "execution_ms": float(re.search(r"Execution Time: ([\d.]+)", plan).group(1)),
        "sort_method": sort.group(1).strip() if sort else None,
        "plan": plan,
    }


def explain(app: Flask, username: str) -> dict:
    """EXPLAIN ANALYZE of the statements over the available items, exactly as the app ran them.

    The two of My work come from a page request; take next's candidate query from a call that
    is rolled back (EXPLAIN ANALYZE of it locks a row, so that is rolled back too).
    """
    client = app.test_client()
    sign_in(client, username)
    with app.app_context():
        engine = db.engine
        user = db.session.scalar(select(User).where(User.username == username))
        queues = sorted(user.queue_codes)
        available = available_count(db.session, user)
        db.session.remove()
    with QueryLog(engine) as log:
        log.current = []
        _get(client, "/work", 'id="work-lists"')
        with engine.connect() as conn, Session(bind=conn) as session:
            take_next(session, session.get(User, user.id))
            session.rollback()
        log.current = None
    plans = {}
    with engine.connect() as conn:
        for name in (
            "available: first 50",
            "available: numbers (kept)",
            "available: count",  # the items beyond the page, where the kept numbers do not do
            "take next: candidate FOR UPDATE SKIP LOCKED",
        ):
            if name in log.last:
                plans[name] = _plan(conn, *log.last[name])
        conn.rollback()
    return {"user": username, "queues": queues, "available": available, "plans": plans}


# --- take next -----------------------------------------------------------------------------------


def measure_take_next(
    database_url: str, users: dict[int, str], rounds: int, *, together: bool
) -> dict:
    """Each user presses take next `rounds` times: all at once (a thread each, released together
    by a barrier) or one after the other. No item may be handed out twice; afterwards the items
    are put back, so the database stays as generated.
    """
    user_ids = list(users)
    threads = len(user_ids)
    engine = create_engine(database_url, pool_size=threads, max_overflow=0)
    with engine.connect() as conn:
        last_event = conn.execute(select(func.max(ItemEvent.id))).scalar_one()
    timings = Timings()
    taken: list[tuple[int, int]] = []  # (item id, user id)
    nothing = 0
    errors: list[BaseException] = []
    round_walls: list[float] = []
    round_started = [0.0] * rounds
    barrier = threading.Barrier(threads if together else 1)
    log = QueryLog(engine)

    def press(session: Session, user: User, user_id: int) -> None:
        nonlocal nothing
        log.current = []
        started = time.perf_counter()
        item = take_next(session, user)
        item_id = item.id if item is not None else None
        session.commit()
        timings.add(time.perf_counter() - started, log.current, users[user_id])
        log.current = None
        if item_id is None:
            nothing += 1
        else:
            # Not user.id: after the commit that would load the user outside the timing.
            taken.append((item_id, user_id))

    def professional(user_id: int) -> None:
        # Its own session on its own connection, for the whole run.
        try:
            with engine.connect() as connection, Session(bind=connection) as session:
                user = session.get(User, user_id)
                session.commit()
                for round_ in range(rounds):
                    if barrier.wait() == 0:
                        round_started[round_] = time.perf_counter()
                    press(session, user, user_id)
                    if barrier.wait() == 0:
                        round_walls.append(time.perf_counter() - round_started[round_])
        except threading.BrokenBarrierError:
            pass
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            barrier.abort()

    started = time.perf_counter()
    with log:
        if together:
            workers = [threading.Thread(target=professional, args=(u,)) for u in user_ids]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        else:
            connections = [engine.connect() for _ in user_ids]
            sessions = [Session(bind=connection) for connection in connections]
            rows = [session.get(User, u) for session, u in zip(sessions, user_ids, strict=True)]
            for session in sessions:
                session.commit()
            for _ in range(rounds):
                for session, user, user_id in zip(sessions, rows, user_ids, strict=True):
                    press(session, user, user_id)
            for session, connection in zip(sessions, connections, strict=True):
                session.close()
                connection.close()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]

    ids = [item_id for item_id, _ in taken]
    duplicates = len(ids) - len(set(ids))
    with engine.begin() as conn:
        # The database's own word: one 'taken' event per item, held by whoever got it.
        twice = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT item_id FROM item_event WHERE id > :last "
                "AND kind = 'taken' GROUP BY item_id HAVING count(*) > 1) AS t"
            ),
            {"last": last_event},
        ).scalar_one()
        holders = dict(
            conn.execute(
                text("SELECT id, assignee_id FROM work_item WHERE id = ANY(:ids)"), {"ids": ids}
            ).all()
        )
        wrong_holder = sum(1 for item_id, user_id in taken if holders.get(item_id) != user_id)
        conn.execute(
            text("DELETE FROM item_event WHERE id > :last AND kind = 'taken'"),
            {"last": last_event},
        )
        conn.execute(
            text(
                "UPDATE work_item SET status = 'new', assignee_id = NULL, version = version + 1 "
                "WHERE id = ANY(:ids)"
            ),
            {"ids": ids},
        )
    engine.dispose()
    assert duplicates == 0, f"{duplicates} items were handed out twice"
    assert twice == 0, f"{twice} items have two 'taken' events"
    assert wrong_holder == 0, f"{wrong_holder} items are held by someone else"
    result = {
        "professionals": threads,
        "together": together,
        "rounds": rounds,
        **timings.result(),
        "items_taken": len(ids),
        "nothing_to_take": nothing,
        "handed_out_twice": duplicates,
        "taken_per_second": round(len(ids) / elapsed, 1),
        "elapsed_s": round(elapsed, 1),
    }
    if round_walls:
        result["round_wall_p50_ms"] = round(statistics.median(round_walls) * 1000, 1)
    return result


# --- the machine ---------------------------------------------------------------------------------


def _proc_value(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def speed(engine: Engine) -> dict:
    """How fast this machine is right now: a fixed piece of Python and a fixed PostgreSQL
    statement, each timed 9 times (ms; lower is faster). A machine of the same kind has run at
    half its usual speed for hours (5 December 2026): figures are compared only with figures
    taken at a like speed, and these say which."""

    def timed(work) -> dict:
        times = []
        for _ in range(9):
            begin = time.perf_counter()
            work()
            times.append((time.perf_counter() - begin) * 1000)
        return {"best_ms": round(min(times), 1), "median_ms": round(statistics.median(times), 1)}

    with engine.connect() as conn:
        postgresql = timed(
            lambda: conn.execute(text("SELECT count(*) FROM generate_series(1, 300000)")).scalar()
        )
    return {"python": timed(lambda: sum(i * i for i in range(300_000))), "postgresql": postgresql}


def speed_line(measured: dict) -> str:
    python, postgresql = measured["python"], measured["postgresql"]
    return (
        f"machine speed (ms, lower is faster; best / median of 9): Python {python['best_ms']} / "
        f"{python['median_ms']}, PostgreSQL {postgresql['best_ms']} / {postgresql['median_ms']}"
    )


def machine(engine: Engine) -> dict:
    """What the figures were measured on, and how fast it ran (`speed`)."""
    mem_kb = _proc_value("/proc/meminfo", "MemTotal")
    with engine.connect() as conn:
        server = conn.execute(text("SHOW server_version")).scalar_one()
        settings = {
            name: conn.execute(text(f"SHOW {name}")).scalar_one()
            for name in ("shared_buffers", "work_mem", "effective_cache_size", "max_connections")
        }
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": _proc_value("/proc/cpuinfo", "model name"),
        "ram_gib": round(int(mem_kb.split()[0]) / 1024**2, 1) if mem_kb else None,
        "postgresql": server,
        "postgresql_settings": settings,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_average": os.getloadavg(),
        "packages": {name: version(name) for name in ("Flask", "SQLAlchemy", "psycopg")},
        "speed": speed(engine),
    }


# --- the run -------------------------------------------------------------------------------------


def print_table(results: dict) -> None:
    pages, alone, together = results["pages"], results["take_next_alone"], results["take_next"]
    rows = [
        ("My work       GET /work", pages["my_work"]),
        ("Item page     GET /items/<id>", pages["item"]),
        ("Take next     one at a time", alone),
        (f"Take next     {together['professionals']} at once", together),
    ]
    print(
        f"\n{'':30} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'SQL ms':>7} {'stmts':>5}"
    )
    for label, row in rows:
        print(
            f"{label:30} {row['n']:>5} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['max_ms']:>8}"
            f" {row['db_mean_ms']:>7} {row['queries_per_call']:>5}"
        )
    print("(SQL ms: mean time in SQL statements per call; stmts: statements per call)")
    for label, row in zip(("My work", "Item page", "Alone", "At once"), rows, strict=True):
        top = "; ".join(f"{s['statement']} {s['ms_per_call']}" for s in row[1]["statements"][:2])
        print(f"  {label}: {top} ms")
    available = results["settings"]["available_by_user"]
    for label, row in (("My work", pages["my_work"]), ("Take next alone", alone)):
        by_user = sorted(row["p50_ms_by_user"].items(), key=lambda kv: available[kv[0]])
        print(
            f"  {label} p50 by items waiting: "
            + ", ".join(f"{available[user]:,}: {ms}" for user, ms in by_user)
        )
    print(
        f"  {together['professionals']} at once: {together['items_taken']} items taken, "
        f"{together['handed_out_twice']} handed out twice, {together['taken_per_second']}/s, "
        f"round p50 {together['round_wall_p50_ms']} ms"
    )
    for which, info in results["explain"].items():
        print(
            f"EXPLAIN ANALYZE, {which.replace('_', ' ')}: {info['user']} "
            f"({len(info['queues'])} queues, {info['available']:,} items waiting)"
        )
        for name, plan in info["plans"].items():
            print(
                f"  {name}: {plan['execution_ms']} ms, "
                f"indexes: {', '.join(plan['indexes']) or '-'}, sort: {plan['sort_method'] or '-'}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--skip-generate", action="store_true", help="reuse the existing desk_bench database"
    )
    parser.add_argument("--requests", type=int, default=360, help="requests per page")
    parser.add_argument("--users", type=int, default=6, help="professionals requesting pages")
    parser.add_argument("--threads", type=int, default=20, help="professionals taking next")
    parser.add_argument("--rounds", type=int, default=25, help="take-next presses each")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    url = generate.DATABASE_URL

    started_at = datetime.now(UTC)
    generation = None
    if not generate.has_items(url):
        if args.skip_generate:
            raise SystemExit("desk_bench holds no items: run without --skip-generate")
        print("Generating desk_bench (it holds no items yet)…")
        generation = generate.generate(url)

    app = generate.existing_app(url)
    with app.app_context():
        volume = generate.volume_of(db.session)
        professionals = list(
            db.session.scalars(
                select(User).where(User.role == Role.PROFESSIONAL.value).order_by(User.id)
            )
        )
        page_users = rng.sample(professionals, args.users)
        take_users = rng.sample(professionals, args.threads)
        available = {u.username: available_count(db.session, u) for u in {*page_users, *take_users}}
        facts = machine(db.engine)
        db.session.remove()
    # EXPLAIN as the page users with the median and the largest number of items waiting.
    by_backlog = sorted(page_users, key=lambda u: available[u.username])
    explain_as = {
        "median_backlog": by_backlog[len(by_backlog) // 2],
        "largest_backlog": by_backlog[-1],
    }

    print(
        f"desk_bench: {volume['open_items']:,} open, {volume['resolved_items']:,} resolved, "
        f"{volume['events']:,} events, {volume['database_size']}; "
        f"{facts['nproc']} CPUs ({facts['cpu_model']}), {facts['ram_gib']} GiB, "
        f"PostgreSQL {facts['postgresql']}; load average {facts['load_average'][0]:.2f}"
    )
    print(speed_line(facts["speed"]))
    print(f"Pages: {args.requests} requests each, taking turns as {args.users} professionals…")
    pages = measure_pages(app, [u.username for u in page_users], args.requests, rng)
    print(f"Take next: {args.threads} professionals one at a time, 3 presses each…")
    takers = {u.id: u.username for u in take_users}
    alone = measure_take_next(url, takers, 3, together=False)
    print(f"Take next: {args.threads} professionals at once, {args.rounds} rounds…")
    together = measure_take_next(url, takers, args.rounds, together=True)
    plans = {which: explain(app, user.username) for which, user in explain_as.items()}
    with app.app_context():
        db.engine.dispose()

    results = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "machine": facts,
        "volume": volume,
        "generation": generation,
        "settings": {
            "requests_per_page": args.requests,
            "page_users": [u.username for u in page_users],
            "take_next_users": list(takers.values()),
            "available_by_user": dict(sorted(available.items())),
            "take_next_professionals": args.threads,
            "take_next_rounds": args.rounds,
            "seed": args.seed,
        },
        "pages": pages,
        "take_next_alone": alone,
        "take_next": together,
        "explain": plans,
    }
    print_table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n")
    print(f"\nWritten to {RESULTS}")


if __name__ == "__main__":
    main()
