"""Reports benchmark: a month's report on the benchmark database (2,000,000 resolved items).

    python -m bench.reports [--runs 10] [--month 2026-10]

Times `desk.reports.build` for one month (everything the report page shows: counts by day,
hour, channel, municipality and queue, the backlog, the two duration percentiles, deadline
attainment, outcomes, templates, phone calls) and, for comparison, the same month's report
page through Flask's test client as a team lead. Writes bench/results/reports.json.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from desk import reports
from desk.extensions import db

from . import generate
from .run import machine, sign_in, summary, time_page, time_runs
from .situation import ensure_lead

RESULTS = Path(__file__).resolve().parent / "results" / "reports.json"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--month", default="2026-10", help="yyyy-mm")
    args = parser.parse_args(argv)
    year, month = map(int, args.month.split("-"))
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    app = generate.generated_app()
    with app.app_context():
        engine = db.engine
        about = machine(engine)
        volume = generate.volume_of(db.session)
        ensure_lead(db.session)  # the team lead who opens the report page
        db.session.commit()
        report = reports.build(db.session, start, end)  # warm-up
        times, statements, report = time_runs(
            engine, db.session, args.runs, lambda: reports.build(db.session, start, end)
        )
        db.session.remove()
    client = app.test_client()
    sign_in(client, "benchlead")
    url = f"/reports?from={start.isoformat()}&to={(end.replace(day=1)).isoformat()}"
    page = time_page(client, url, args.runs)
    result = {
        "month": args.month,
        "volume": volume,
        "machine": about,
        "report": {
            "arrivals": report.arrivals,
            "resolutions": report.resolutions,
            "deadlines": report.deadlines,
            "first_action_minutes": report.first_action_minutes,
            "resolution_minutes": report.resolution_minutes,
        },
        "build": summary(times),
        "page_with_comparison": page,
        "statements_ms": statements,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str))
    print(
        f"{args.month}: {report.arrivals:,} arrived, {report.resolutions:,} resolved; "
        f"{volume['resolved_items']:,} resolved items in the database"
    )
    b, p = result["build"], result["page_with_comparison"]
    print(f"report build: p50 {b['p50_ms']} ms, p95 {b['p95_ms']} ms, max {b['max_ms']} ms")
    print(f"report page (two periods): p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms")
    for name, ms in list(result["statements_ms"].items())[:8]:
        print(f"  {name}: {ms} ms")


if __name__ == "__main__":
    main()
