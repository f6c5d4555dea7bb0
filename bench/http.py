"""Pages under HTTP load: My work and the item page as the pages server answers them.

The desk under gunicorn as production serves its pages (gthread workers; 2 workers of 4
threads by default, the issue's run), with Redis (presence, the live stream's attributes) and
PostgreSQL (`desk_bench`), on this machine. A professional signs in over HTTP; wrk then holds
20 connections for 20 s on each page: My work (`GET /work`), and the item page
(`GET /items/<id>`, a random one of 200 open items the professional may see for each
request). Each page is checked before and after its run (200, the page's own marker), so a
run of sign-in redirects cannot pass for speed.

    python -m bench.http [--duration 20] [--connections 20] [--workers 2] [--threads 4]

Needs wrk (Debian's package; `make bench` installs it). The server shares the machine's two
cores with wrk and PostgreSQL, as it did in the issue's run. Results: bench/results/http.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from desk.extensions import db
from desk.models import User

from . import generate
from .live import PAGES_WORKER_CONNECTIONS, USER_AGENT, served, sign_in
from .run import available_count, machine, speed_line, visible_open_items

REDIS = "redis://127.0.0.1:6379/12"
PORT = 5089
RESULTS = Path(__file__).resolve().parent / "results" / "http.json"

#: wrk's script: the paths taken in turn at random, and the figures printed as one JSON line
WRK_SCRIPT = """
local paths = {%(paths)s}
math.randomseed(%(seed)d)
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %%d, "seconds": %%.3f, "p50_ms": %%.1f, "p95_ms": %%.1f, '
    .. '"p99_ms": %%.1f, "max_ms": %%.1f, "non_2xx": %%d, "errors": %%d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def professional(session) -> User:
    """The generated professional with the median backlog in their queues."""
    people = generate.professionals(session)
    by_backlog = sorted(people, key=lambda user: (available_count(session, user), user.id))
    return by_backlog[len(by_backlog) // 2]


def check(base: str, cookie: str, path: str, marker: str) -> int:
    """GET `path` as the signed-in professional: 200 with `marker` in it; its size."""
    headers = {"Cookie": cookie, "User-Agent": USER_AGENT}
    request = urllib.request.Request(base + path, headers=headers)  # noqa: S310 (http only)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        body = response.read().decode()
        if response.status != 200 or response.geturl() != base + path or marker not in body:
            raise RuntimeError(f"GET {path}: {response.status} at {response.geturl()}")
    return len(body.encode())


def wrk(base: str, cookie: str, paths: list[str], connections: int, duration: int) -> dict:
    """One wrk run over `paths`; its figures (requests a second, p50/p95/p99 in ms)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT % {"paths": ", ".join(f'"{p}"' for p in paths), "seed": 2026})
        script.flush()
        command = [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-H",
            f"Cookie: {cookie}",
            "-H",
            f"User-Agent: {USER_AGENT}",
            "-s",
            script.name,
            base + paths[0],
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = json.loads(re.search(r"^WRK (.*)$", output, re.MULTILINE).group(1))
    figures["per_second"] = round(figures["requests"] / figures["seconds"], 1)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds of each wrk run")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn gthread workers")
    parser.add_argument("--threads", type=int, default=4, help="threads of each worker")
    parser.add_argument(
        "--worker-connections",
        type=int,
        default=PAGES_WORKER_CONNECTIONS,
        help="connections a worker takes at once (production's pages server: 10; wrk's"
        " kept-alive connections beyond workers × this wait unanswered)",
    )
    parser.add_argument("--pages", default="my_work,item", help="which pages, comma-separated")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench does)")

    app = generate.generated_app()
    with app.app_context():
        volume = generate.volume_of(db.session)
        user = professional(db.session)
        waiting = available_count(db.session, user)
        items = visible_open_items(db.session, user, 200)
        facts = machine(db.engine)
        db.session.remove()
        db.engine.dispose()
    random.Random(2026).shuffle(items)
    pages = {
        "my_work": (["/work"], 'id="work-lists"'),
        "item": ([f"/items/{i}" for i in items], "data-item-id="),
    }
    chosen = [name for name in args.pages.split(",") if name in pages]
    print(
        f"desk_bench: {volume['open_items']:,} open, {volume['resolved_items']:,} resolved; "
        f"{facts['nproc']} CPUs ({facts['cpu_model']}); gunicorn {args.workers} gthread "
        f"workers × {args.threads} threads; wrk {args.connections} connections, "
        f"{args.duration} s a page; as {user.username} ({waiting:,} waiting in their queues)"
    )
    print(speed_line(facts["speed"]))
    results: dict = {}
    workers = [
        *("-k", "gthread", "-w", str(args.workers), "--threads", str(args.threads)),
        *("--worker-connections", str(args.worker_connections)),
    ]
    with served(generate.DATABASE_URL, REDIS, PORT, "bench", workers) as base:
        cookie = sign_in(base, user.username, generate.PASSWORD)
        for name in chosen:
            paths, marker = pages[name]
            sizes = [check(base, cookie, path, marker) for path in paths[:20]]
            wrk(base, cookie, paths, connections=2, duration=3)  # warm up
            figures = wrk(base, cookie, paths, args.connections, args.duration)
            check(base, cookie, paths[0], marker)
            figures["bytes"] = round(statistics.median(sizes))
            results[name] = figures
            print(
                f"  {name:8} {figures['per_second']:7.1f} requests/s   p50 {figures['p50_ms']:6.1f}"
                f"   p95 {figures['p95_ms']:6.1f}   p99 {figures['p99_ms']:6.1f} ms   "
                f"{figures['bytes'] / 1024:.0f} KB   non-2xx {figures['non_2xx']}, "
                f"errors {figures['errors']}"
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": facts,
                "volume": volume,
                "settings": {**vars(args), "user": user.username, "waiting": waiting},
                "pages": results,
            },
            indent=1,
            default=str,
        )
        + "\n"
    )
    print(f"Written to {RESULTS}")


if __name__ == "__main__":
    main()
