"""The targets benchmark: a year of the region's three targets on the benchmark database
(2,000,000 resolved items) with 300,000 residents' satisfaction answers.

    python -m bench.targets [--runs 20] [--answers 300000] [--to 2026-11]

Brings `desk_bench` to the newest schema, then adds what the targets read beside the items,
once (a later run finds them there): `--answers` satisfaction answers on the year's resolved
items (scores spread as the region's surveys spread them, a third with a comment), TeleQ's
daily calls for the year from every municipality except Sipoo's last month (a missing source,
as in life), and a year of other contacts and care. Then times `desk.reports.targets.build`
for the twelve months up to `--to`, the targets page as a team lead, its CSV and the comments
page. Writes bench/results/targets.json.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import date, timedelta
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import delete, func, select, text

from desk.demo import care_contacts
from desk.extensions import db
from desk.models import CareContacts, ItemFeedback, MonthlyArrivals, Municipality, PhoneCalls
from desk.reports import import_phone_calls, targets

from . import generate
from .run import machine, sign_in, summary, time_page, time_runs
from .situation import ensure_lead

RESULTS = Path(__file__).resolve().parent / "results" / "targets.json"

#: scores 0–10 by their cumulative share (the demo's spread: NPS about +40)
ANSWERS_SQL = """
INSERT INTO item_feedback (item_id, feedback_id, at, received_at, score, satisfied, comment,
                           channel, municipality_code, queue_code)
SELECT id, 'fb-bench-' || id, at, at, score,
       CASE WHEN r2 < 0.15 THEN NULL ELSE score >= 7 END,
       CASE WHEN r2 > 0.66 THEN (ARRAY[
           'Sain nopeasti apua, kiitos!',
           'Odotin vastausta liian kauan.',
           'Selkeät ohjeet, ei tarvinnut soittaa.',
           'Vastaus oli liian yleinen minun tilanteeseeni.'
       ])[1 + (id % 4)] END,
       channel, municipality_code, queue_code
FROM (
    SELECT id, resolved_at + (interval '1 minute' * (2 + (id % 178))) AS at,
           channel, municipality_code, queue_code, random() AS r2,
           CASE WHEN r < 0.30 THEN 10 WHEN r < 0.51 THEN 9 WHEN r < 0.66 THEN 8
                WHEN r < 0.76 THEN 7 WHEN r < 0.82 THEN 6 WHEN r < 0.87 THEN 5
                WHEN r < 0.90 THEN 4 WHEN r < 0.93 THEN 3 WHEN r < 0.95 THEN 2
                WHEN r < 0.97 THEN 1 ELSE 0 END AS score
    FROM (
        SELECT id, resolved_at, channel, municipality_code, queue_code, random() AS r
        FROM work_item
        WHERE resolved_at >= :since AND id % :every = 0
        ORDER BY id
        LIMIT :answers
    ) picked
) scored
"""


def prepare(session, answers: int, first: date, last: date) -> dict:
    """The answers, phone statistics and care contacts the targets read, made once."""
    made = {}
    since = targets.start_of_day_utc(first)
    if session.scalar(select(func.count()).select_from(ItemFeedback)) < answers:
        session.execute(text("DELETE FROM item_feedback"))
        year = session.scalar(
            text("SELECT count(*) FROM work_item WHERE resolved_at >= :since"), {"since": since}
        )
        session.execute(
            text(ANSWERS_SQL),
            {"since": since, "answers": answers, "every": max(1, year // answers)},
        )
        made["answers"] = answers
    codes = list(session.scalars(select(Municipality.code)))
    months = targets.months_between(first, last)
    if not session.scalar(select(func.count()).select_from(PhoneCalls)):
        lines, day = [], first
        while day < targets.month_after(last):
            for n, code in enumerate(codes):
                if not (code == "sipoo" and day >= months[-1]):  # Sipoo's last month: missing
                    lines.append(f"{day.isoformat()};{code};{150 + (day.toordinal() + n) % 100}")
            day += timedelta(days=1)
        stored, problems = import_phone_calls(session, "\n".join(lines), set(codes))
        assert not problems, problems[:3]
        made["phone_days"] = stored
    if not session.scalar(select(func.count()).select_from(CareContacts)):
        lines = care_contacts(random.Random(2026), dict.fromkeys(codes, 10_000), months)
        stored, problems = targets.import_care_contacts(session, "\n".join(lines), set(codes))
        assert not problems, problems[:3]
        made["care_months"] = stored
    session.commit()
    return made


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--answers", type=int, default=300_000)
    parser.add_argument("--to", default="2026-11", help="the last month, yyyy-mm")
    args = parser.parse_args(argv)
    year, month = map(int, args.to.split("-"))
    last = date(year, month, 1)
    first = date(year - 1, month, 1) if month == 12 else date(year - 1, month + 1, 1)
    app = generate.generated_app()
    with app.app_context():
        upgrade()
        engine = db.engine
        about = machine(engine)
        began = time.perf_counter()
        made = prepare(db.session, args.answers, first, last)
        if made:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE) item_feedback, phone_calls, care_contacts"))
            print(f"prepared {made} in {time.perf_counter() - began:.1f} s")
        volume = generate.volume_of(db.session)
        volume["feedback_answers"] = db.session.scalar(
            select(func.count()).select_from(ItemFeedback)
        )
        ensure_lead(db.session)
        db.session.commit()
        codes = list(db.session.scalars(select(Municipality.code)))
        # Cold: no month counted yet (a fresh installation, or every month forgotten); the
        # ended months' arrivals are kept from here on.
        db.session.execute(delete(MonthlyArrivals))
        db.session.commit()
        started = time.perf_counter()
        found = targets.build(db.session, first, last, codes)
        db.session.commit()
        cold = time.perf_counter() - started
        times, statements, found = time_runs(
            engine, db.session, args.runs, lambda: targets.build(db.session, first, last, codes)
        )
        db.session.remove()
    client = app.test_client()
    sign_in(client, "benchlead")
    period = f"from={first:%Y-%m}&to={last:%Y-%m}"
    pages = {
        name: time_page(client, url, args.runs)
        for name, url in (
            ("page", f"/reports/targets?{period}"),
            ("csv", f"/reports/targets.csv?{period}"),
            ("printable", f"/reports/targets/print?{period}"),
            ("comments", f"/reports/comments?{period}&low=1"),
        )
    }
    region = found.satisfaction.period
    result = {
        "months": f"{first:%Y-%m}..{last:%Y-%m}",
        "volume": volume,
        "machine": about,
        "figures": {
            "first_line": found.first_line.period.value,
            "first_line_missing": {str(k): v for k, v in found.first_line.missing.items()},
            "other_care": found.other_care.period.value,
            "answers": region.answers,
            "nps": region.nps,
            "satisfied_share": region.satisfied_share,
        },
        "build_cold_ms": round(cold * 1000, 1),
        "build": summary(times),
        "pages": pages,
        "statements_ms": statements,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str))
    print(
        f"{result['months']}: {volume['resolved_items']:,} resolved items, "
        f"{volume['feedback_answers']:,} answers (NPS {region.nps:.0f} of {region.answers:,})"
    )
    b = result["build"]
    print(f"targets build, no month kept yet: {result['build_cold_ms']} ms")
    print(f"targets build: p50 {b['p50_ms']} ms, p95 {b['p95_ms']} ms, max {b['max_ms']} ms")
    for name, p in pages.items():
        print(f"{name}: p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms")
    for name, ms in list(result["statements_ms"].items())[:8]:
        print(f"  {name}: {ms} ms")


if __name__ == "__main__":
    main()
