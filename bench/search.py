"""Measure the item search on the benchmark database.

    python -m bench.search [--requests N] [--seed N]

Runs on the already generated database `desk_bench` (bench/generate.py), migrated to this
version first. Requests go in-process through Flask's test client, as in bench/situation.py,
so the times are the server's. As the team lead with every queue (bench/situation.py adds
`benchlead`) and as the professional with the median number of open items, after 5 warm-up
requests each, N requests of GET /search?q=…:

- search_pid: the personal identity code of the resident with the most items the user may
  see (open and resolved, the whole history);
- search_number: an item number (`#id`) of a resolved item the user may see;
- search_words: a word found in many open titles ("kipu": pain);
- search_words_none: words found nowhere, the worst case: every open item the user may see
  is read.

Results are printed and written as JSON to bench/results/search.json.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import func, select

from desk.extensions import db
from desk.models import ItemStatus, User, WorkItem
from desk.work.access import visible_to

from . import generate
from .run import machine, sign_in
from .situation import Operation, SituationQueryLog, ensure_lead, measure, visible_open

RESULTS = Path(__file__).resolve().parent / "results" / "search.json"
ROW_MARKER = "data-item-row"
COMMON_WORD = "kipu"
NO_SUCH_WORDS = "zqx-ei-tätä"


def busiest_resident(session, user: User) -> tuple[str, int]:
    """The personal identity code with the most items the user may see, and how many."""
    row = session.execute(
        select(WorkItem.personal_id, func.count().label("n"))
        .where(WorkItem.personal_id.is_not(None), visible_to(user))
        .group_by(WorkItem.personal_id)
        .order_by(func.count().desc(), WorkItem.personal_id)
        .limit(1)
    ).one()
    return row.personal_id, row.n


def resolved_item(session, user: User) -> int:
    return session.scalar(
        select(WorkItem.id)
        .where(WorkItem.status == ItemStatus.RESOLVED.value, visible_to(user))
        .order_by(WorkItem.id)
        .limit(1)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per operation")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    app = generate.generated_app()
    started_at = datetime.now(UTC)
    with app.app_context():
        session = db.session
        volume = generate.volume_of(session)
        lead = ensure_lead(session)
        professionals = generate.professionals(session)
        ranked = sorted(professionals, key=lambda u: (visible_open(session, u), u.username))
        median = ranked[len(ranked) // 2]
        people = {}
        for user in (lead, median):
            pid, items = busiest_resident(session, user)
            people[user.username] = {
                "visible_open": visible_open(session, user),
                "pid": pid,
                "pid_items": items,
                "resolved_item": resolved_item(session, user),
            }
        engine = db.engine
        facts = machine(engine)
        db.session.remove()

    print(
        f"desk_bench: {volume['open_items']:,} open, {volume['resolved_items']:,} resolved, "
        f"{volume['database_size']}; {facts['nproc']} CPUs, PostgreSQL {facts['postgresql']}"
    )
    operations = []
    for username, facts_of in people.items():
        client = app.test_client()
        sign_in(client, username)
        print(
            f"{username}: {facts_of['visible_open']:,} open items visible; resident with "
            f"{facts_of['pid_items']} items"
        )
        searches = {
            "search_pid": (facts_of["pid"], (ROW_MARKER,)),
            "search_number": (f"#{facts_of['resolved_item']}", (ROW_MARKER,)),
            "search_words": (COMMON_WORD, (ROW_MARKER,)),
            "search_words_none": (NO_SUCH_WORDS, ('id="results-heading"',)),
        }
        for name, (q, markers) in searches.items():
            url_q = f"/search?q={quote(q)}"
            operations.append(Operation(name, username, client, url_q, markers))

    log = SituationQueryLog(engine)
    measure(operations, log, args.requests, rng)
    results = {
        "started_at": started_at.isoformat(),
        "volume": volume,
        "machine": facts,
        "people": {k: {**v, "pid": "(withheld)"} for k, v in people.items()},
        "measurements": [operation.result() for operation in operations],
    }
    print(f"\n{'operation':20} {'user':12} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for row in results["measurements"]:
        print(
            f"{row['operation']:20} {row['user']:12} {row['n']:>5} {row['p50_ms']:>8}"
            f" {row['p95_ms']:>8} {row['max_ms']:>8}"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, default=str))
    print(f"\nWritten to {RESULTS}")


if __name__ == "__main__":
    main()
