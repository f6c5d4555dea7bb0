"""Measure the situation view on the benchmark database: its live numbers and its item lists.

    python -m bench.situation [--requests N] [--seed N]

Runs on the already generated database `desk_bench` (bench/generate.py; it is never generated,
changed or dropped here, apart from adding the team lead below). Requests go in-process through
Flask's test client, as in bench/run.py, so the times are the server's: routing, queries,
rendering, no network. Measured, after 5 warm-up requests each, N requests of:

- situation_fragment: GET /situation with `HX-Request: true`, the live fragment the page
  fetches again on every change, as a team lead with every queue (the whole centre, the worst
  case) and as the professional with the median number of open items visible to them;
- situation_page: the whole GET /situation, as the team lead;
- list_first_page: GET /situation/items?identification=strong, the first page of a list of
  about 65,000 open items, as the team lead;
- list_page_1000: the same list's 1000th page (after=<id of its 49,950th item>). That the page
  shows exactly the 49,951st to 50,000th items of the list, and how many items come after
  them, is checked once against OFFSET.

The operations take turns in an order shuffled each round (--seed). Each result has p50, p95
and max, the mean time in SQL and the statements per request. The statements the app ran for
the team lead's numbers and lists are then run again under EXPLAIN (ANALYZE, BUFFERS). Results
are printed and written as JSON to bench/results/situation.json.

The team lead `benchlead` (all 18 queues, all 7 municipalities, the benchmark password) is
added to the database if it is not there yet.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from datetime import UTC, datetime
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from desk.extensions import db
from desk.models import OPEN_STATUSES, Municipality, Queue, Role, User, WorkItem
from desk.views.situation import PAGE
from desk.work import situation
from desk.work.access import visible_to
from desk.work.lifecycle import work_order

from . import generate
from .run import QueryLog, Timings, _plan, machine, sign_in, speed_line, statement_name

RESULTS = Path(__file__).resolve().parent / "results" / "situation.json"
LEAD = "benchlead"
WARM_UP = 5
LIST_FILTER = "identification=strong"
PAGE_NUMBER = 1000
ITEM_LINK = re.compile(r'id="item-link-(\d+)"')
LIVE_MARKER = 'id="situation-live"'
ROW_MARKER = "data-item-row"
#: "N more items on the next pages", in any language: the first number of the part below a page
BEYOND = re.compile(r'<div class="beyond">\s*<p>\D*(\d+)')

# The situation view's statements, named before bench/run.py's names are tried.
SITUATION_STATEMENTS = [
    (r"FROM item_hour_count", "situation: trends (kept)"),
    (r"FROM open_item_count", "situation: counts (kept)"),
    (r"min\(work_item\.submitted_at\)", "situation: oldest waiting"),
    (r"WHERE work_item\.status IN .* AND work_item\.due_at >=", "situation: today's deadlines"),
    (r"FROM work_item .*ORDER BY work_item\.emergency DESC", "situation: list page"),
    (r"FROM saved_view", "saved views"),
    (r"FROM municipality\b", "municipalities"),
    (r"FROM service_area\b", "service areas"),
    (r"FROM system_area\b", "system areas"),
]


def beyond(body: str) -> int | None:
    """The number of items on the next pages, as a list page says it."""
    found = BEYOND.search(body)
    return int(found.group(1)) if found else None


def situation_statement_name(statement: str) -> str:
    flat = " ".join(statement.split())
    for pattern, name in SITUATION_STATEMENTS:
        if re.search(pattern, flat):
            return name
    return statement_name(statement)


class SituationQueryLog(QueryLog):
    """bench/run.py's QueryLog, with names for the situation view's statements."""

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        elapsed = time.perf_counter() - self._local.started
        if self.current is not None:
            name = situation_statement_name(statement)
            self.current.append((name, elapsed))
            self.last[name] = (statement, parameters)


# --- who looks -----------------------------------------------------------------------------------


def ensure_lead(session: Session) -> User:
    """The team lead with every queue and every municipality, created if missing."""
    queues = list(session.scalars(select(Queue).order_by(Queue.code)))
    municipalities = list(session.scalars(select(Municipality).order_by(Municipality.code)))
    lead = session.scalar(select(User).where(User.username == LEAD))
    if lead is None:
        lead = User(
            username=LEAD,
            display_name="Tiimivastaava",
            password_hash=generate_password_hash(generate.PASSWORD),
            role=Role.TEAM_LEAD.value,
            language="fi",
        )
        session.add(lead)
    else:
        if not check_password_hash(lead.password_hash or "", generate.PASSWORD):
            lead.password_hash = generate_password_hash(generate.PASSWORD)
        lead.role = Role.TEAM_LEAD.value
        lead.active = True
    if lead.queue_codes != {q.code for q in queues}:
        lead.queues = queues
    if lead.municipality_codes != {m.code for m in municipalities}:
        lead.municipalities = municipalities
    session.commit()
    return lead


def visible_open(session: Session, user: User) -> int:
    """How many open items the user may see (what their situation view counts)."""
    return session.scalar(
        select(func.count())
        .select_from(WorkItem)
        .where(WorkItem.status.in_(OPEN_STATUSES), visible_to(user))
    )


def kept_numbers_match(session: Session, user: User) -> bool:
    """Whether the view's numbers (kept counts) are those of a full count of the items."""
    now = datetime.now(UTC)
    numbers = situation.counts(session, user, situation.Filters(), now)
    for state in situation.STATES:
        direct = dict(
            session.execute(
                select(WorkItem.queue_code, func.count())
                .where(
                    WorkItem.status.in_(OPEN_STATUSES),
                    visible_to(user),
                    situation.state_condition(state, now),
                )
                .group_by(WorkItem.queue_code)
            ).all()
        )
        kept = {code: getattr(n, state) for code, n in numbers.items() if getattr(n, state)}
        if kept != direct:
            print(f"{state}: kept {kept} but counted {direct}")
            return False
    return True


# --- the list and its 1000th page ----------------------------------------------------------------


def list_ids(session: Session, user: User, offset: int, limit: int) -> list[int]:
    """Ids of the strongly identified open items the user may see, in the contract's order."""
    return list(
        session.scalars(
            select(WorkItem.id)
            .where(
                WorkItem.status.in_(OPEN_STATUSES),
                visible_to(user),
                WorkItem.identification == "strong",
            )
            .order_by(*work_order())
            .offset(offset)
            .limit(limit)
        )
    )


def list_matching(session: Session, user: User) -> int:
    return session.scalar(
        select(func.count())
        .select_from(WorkItem)
        .where(
            WorkItem.status.in_(OPEN_STATUSES),
            visible_to(user),
            WorkItem.identification == "strong",
        )
    )


# --- requests ------------------------------------------------------------------------------------


class Operation:
    """One measured request: who asks for what, and what the answer must hold."""

    def __init__(
        self,
        name: str,
        username: str,
        client: FlaskClient,
        url: str,
        markers: tuple[str, ...],
        headers: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.username = username
        self.client = client
        self.url = url
        self.markers = markers
        self.headers = headers or {}
        self.timings = Timings()

    @property
    def key(self) -> str:
        return f"{self.name} {self.username}"

    def get(self) -> str:
        response = self.client.get(self.url, headers=self.headers)
        body = response.get_data(as_text=True)
        if response.status_code != 200 or not all(m in body for m in self.markers):
            raise RuntimeError(f"GET {self.url} as {self.username}: {response.status_code}")
        return body

    def result(self) -> dict:
        return {
            "operation": self.name,
            "user": self.username,
            "url": self.url,
            "headers": self.headers,
            **self.timings.result(),
        }


def measure(operations: list[Operation], log: QueryLog, requests: int, rng: random.Random) -> None:
    """Warm up, then request each operation `requests` times, in a shuffled order each round."""
    for operation in operations:
        for _ in range(WARM_UP):
            operation.get()
    order = list(operations)
    with log:
        for _ in range(requests):
            rng.shuffle(order)
            for operation in order:
                log.current = []
                started = time.perf_counter()
                operation.get()
                elapsed = time.perf_counter() - started
                operation.timings.add(elapsed, log.current, operation.username)
                log.current = None


SHARED_REDIS = "redis://127.0.0.1:6379/12"
VIEWERS_PER_CHANGE = 20


def measure_shared(url: str, requests: int) -> dict:
    """The live refresh as production serves it (with Redis): after a change the first page
    to ask renders the fragment, and the pages with the same view that ask after it get that
    rendering. A change (the counter a commit moves) every VIEWERS_PER_CHANGE requests."""
    from redis import Redis

    from desk import create_app
    from desk.live import GENERATION

    redis = Redis.from_url(SHARED_REDIS)
    redis.flushdb()
    app = create_app({**generate.bench_config(url), "REDIS_URL": SHARED_REDIS})
    client = app.test_client()
    sign_in(client, LEAD)
    operation = Operation(
        "situation_fragment_shared",
        LEAD,
        client,
        "/situation",
        (LIVE_MARKER,),
        {"HX-Request": "true"},
    )
    for _ in range(WARM_UP):
        operation.get()
    for n in range(requests):
        if n % VIEWERS_PER_CHANGE == 0:
            redis.incr(GENERATION)
        started = time.perf_counter()
        operation.get()
        operation.timings.add(time.perf_counter() - started, [], LEAD)
    redis.flushdb()
    with app.app_context():
        db.engine.dispose()
    return {**operation.result(), "viewers_per_change": VIEWERS_PER_CHANGE}


def captured(log: QueryLog, operation: Operation, name: str) -> tuple[str, object]:
    """The statement `name` exactly as the app ran it for one request of `operation`."""
    log.last.pop(name, None)
    with log:
        log.current = []
        operation.get()
        log.current = None
    if name not in log.last:
        raise RuntimeError(f"GET {operation.url} ran no statement named {name!r}")
    return log.last[name]


def plan_summary(conn, statement: str, parameters) -> dict:
    """bench/run.py's EXPLAIN (ANALYZE, BUFFERS) summary, with planning time and top node."""
    info = _plan(conn, statement, parameters)
    plan = info["plan"]
    top = plan.splitlines()[0].strip()
    actual = re.search(r"\(actual [^)]*\)", top)
    buffers = re.search(r"Buffers: (.+)", plan)
    scans = re.findall(
        r"((?:Parallel )?(?:Index Only Scan|Index Scan|Bitmap Index Scan|Bitmap Heap Scan|"
        r"Seq Scan)(?: Backward)?(?: using \w+)? on \w+)",
        plan,
    )
    return {
        "planning_ms": float(re.search(r"Planning Time: ([\d.]+)", plan).group(1)),
        "execution_ms": info["execution_ms"],
        "top_node": re.sub(r"\s+\(cost=.*$", "", top),
        "top_node_actual": actual.group(0) if actual else None,
        "scans": list(dict.fromkeys(scans)),
        "indexes": info["indexes"],
        "sort_method": info["sort_method"],
        "buffers": buffers.group(1) if buffers else None,
        "jit": "JIT:" in plan,
        "statement": statement,
        "plan": plan,
    }


# --- the run -------------------------------------------------------------------------------------


def print_table(results: dict) -> None:
    print(
        f"\n{'operation':20} {'user':10} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
        f" {'SQL ms':>7} {'stmts':>5}"
    )
    for row in results["measurements"]:
        print(
            f"{row['operation']:20} {row['user']:10} {row['n']:>5} {row['p50_ms']:>8}"
            f" {row['p95_ms']:>8} {row['max_ms']:>8} {row['db_mean_ms']:>7}"
            f" {row['queries_per_call']:>5}"
        )
    shared = results["shared"]
    print(
        f"{'fragment, shared':20} {shared['user']:10} {shared['n']:>5} {shared['p50_ms']:>8}"
        f" {shared['p95_ms']:>8} {shared['max_ms']:>8}   (with Redis; a change every"
        f" {shared['viewers_per_change']} requests)"
    )
    print("(SQL ms: mean time in SQL statements per request; stmts: statements per request)")
    for row in results["measurements"]:
        top = "; ".join(f"{s['statement']} {s['ms_per_call']}" for s in row["statements"][:3])
        print(f"  {row['operation']} {row['user']}: {top} ms")
    check = results["checks"]["page_1000"]
    print(
        f"Page {PAGE_NUMBER}: after item {check['after_id']}, "
        f"first item shown {check['first_shown']}"
        f" (OFFSET {check['offset']}: {check['expected_first']}), all {PAGE} ids as by OFFSET: "
        f"{check['ids_match']}, next link: {check['has_next']}; "
        f"{check['beyond']:,} more items on the next pages, as by OFFSET: "
        f"{check['expected_beyond']:,}"
    )
    for name, plan in results["explain"].items():
        print(
            f"EXPLAIN ANALYZE {name}: planning {plan['planning_ms']} ms, execution "
            f"{plan['execution_ms']} ms; top: {plan['top_node']} {plan['top_node_actual'] or ''}"
        )
        print(
            f"  scans: {'; '.join(plan['scans']) or '-'}; sort: {plan['sort_method'] or '-'}; "
            f"buffers: {plan['buffers']}; JIT: {'yes' if plan['jit'] else 'no'}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per operation")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    started_at = datetime.now(UTC)
    app = generate.generated_app()
    with app.app_context():
        session = db.session
        volume = generate.volume_of(session)
        lead = ensure_lead(session)
        professionals = generate.professionals(session)
        by_professional = {u.username: visible_open(session, u) for u in professionals}
        ranked = sorted(professionals, key=lambda u: (by_professional[u.username], u.username))
        median = ranked[len(ranked) // 2]
        lead_info = {
            "username": lead.username,
            "queues": len(lead.queue_codes),
            "municipalities": len(lead.municipality_codes),
            "visible_open": visible_open(session, lead),
        }
        median_info = {
            "username": median.username,
            "queues": sorted(median.queue_codes),
            "visible_open": by_professional[median.username],
        }
        numbers_exact = kept_numbers_match(session, lead)
        matching = list_matching(session, lead)
        offset = (PAGE_NUMBER - 1) * PAGE  # 49,950 items come before the 1000th page
        if matching < offset + PAGE:
            raise SystemExit(
                f"only {matching:,} open items match {LIST_FILTER}: "
                f"no {PAGE_NUMBER}th page of {PAGE}"
            )
        after_id = list_ids(session, lead, offset - 1, 1)[0]
        first_page_ids = list_ids(session, lead, 0, PAGE)
        page_ids = list_ids(session, lead, offset, PAGE)
        engine = db.engine
        facts = machine(engine)
        db.session.remove()

    print(
        f"desk_bench: {volume['open_items']:,} open, {volume['resolved_items']:,} resolved, "
        f"{volume['events']:,} events, {volume['database_size']}; "
        f"{facts['nproc']} CPUs ({facts['cpu_model']}), {facts['ram_gib']} GiB, "
        f"PostgreSQL {facts['postgresql']}; load average {facts['load_average'][0]:.2f}"
    )
    print(speed_line(facts["speed"]))
    print(
        f"Team lead {LEAD}: {lead_info['visible_open']:,} open items visible; median professional "
        f"{median.username}: {median_info['visible_open']:,}; {LIST_FILTER}: {matching:,} items"
    )

    clients: dict[str, FlaskClient] = {}
    for username in (LEAD, median.username):
        clients[username] = app.test_client()
        sign_in(clients[username], username)
    htmx = {"HX-Request": "true"}
    list_url = f"/situation/items?{LIST_FILTER}"
    fragment_lead = Operation(
        "situation_fragment", LEAD, clients[LEAD], "/situation", (LIVE_MARKER,), htmx
    )
    list_first = Operation("list_first_page", LEAD, clients[LEAD], list_url, (ROW_MARKER,))
    list_deep = Operation(
        f"list_page_{PAGE_NUMBER}",
        LEAD,
        clients[LEAD],
        f"{list_url}&after={after_id}",
        (ROW_MARKER,),
    )
    operations = [
        fragment_lead,
        Operation(
            "situation_fragment",
            median.username,
            clients[median.username],
            "/situation",
            (LIVE_MARKER,),
            htmx,
        ),
        Operation("situation_page", LEAD, clients[LEAD], "/situation", (LIVE_MARKER, "<html")),
        list_first,
        list_deep,
    ]

    # Once, for honesty: the pages show the items OFFSET finds, in the same order.
    shown_first = [int(i) for i in ITEM_LINK.findall(list_first.get())]
    deep_body = list_deep.get()
    shown = [int(i) for i in ITEM_LINK.findall(deep_body)]
    checks = {
        "numbers_exact": numbers_exact,
        "first_page": {"ids_match": shown_first == first_page_ids, "shown": len(shown_first)},
        "page_1000": {
            "after_id": after_id,
            "offset": offset,
            "expected_first": page_ids[0],
            "first_shown": shown[0] if shown else None,
            "ids_match": shown == page_ids,
            "shown": len(shown),
            "has_next": 'rel="next"' in deep_body,
            # what the page says lies beyond it: the list's items after its 50,000th
            "beyond": beyond(deep_body),
            "expected_beyond": matching - offset - PAGE,
        },
    }
    deep = checks["page_1000"]
    if not (
        numbers_exact
        and checks["first_page"]["ids_match"]
        and deep["ids_match"]
        and deep["beyond"] == deep["expected_beyond"]
    ):
        raise SystemExit(f"the list pages do not show the items OFFSET finds: {checks}")

    print(f"{len(operations)} operations, {WARM_UP} warm-up + {args.requests} requests each…")
    log = SituationQueryLog(engine)
    measure(operations, log, args.requests, rng)

    shared = measure_shared(generate.DATABASE_URL, args.requests)

    statements = {
        "lead counts": captured(log, fragment_lead, "situation: counts (kept)"),
        "lead today's deadlines": captured(log, fragment_lead, "situation: today's deadlines"),
        "lead oldest waiting": captured(log, fragment_lead, "situation: oldest waiting"),
        "lead trends": captured(log, fragment_lead, "situation: trends (kept)"),
        "list first page": captured(log, list_first, "situation: list page"),
        f"list page {PAGE_NUMBER}": captured(log, list_deep, "situation: list page"),
    }
    with engine.connect() as conn:
        plans = {name: plan_summary(conn, *found) for name, found in statements.items()}
        conn.rollback()
    engine.dispose()

    results = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "machine": facts,
        "volume": volume,
        "settings": {
            "requests": args.requests,
            "warm_up": WARM_UP,
            "seed": args.seed,
            "lead": lead_info,
            "median_professional": median_info,
            "visible_open_by_professional": dict(sorted(by_professional.items())),
            "list_filter": LIST_FILTER,
            "list_matching": matching,
        },
        "checks": checks,
        "measurements": [operation.result() for operation in operations],
        "shared": shared,
        "explain": plans,
    }
    print_table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n")
    print(f"\nWritten to {RESULTS}")


if __name__ == "__main__":
    main()
