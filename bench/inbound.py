"""Inbound benchmark: deliveries accepted and routed end to end, and the accept latency.

Real parts on this machine: gunicorn serving the desk, rq workers, PostgreSQL and Redis. The
load comes from the simulator's mix (chat-heavy, repeats and growing chats), sent by a
separate process over keep-alive HTTP connections.

    python -m bench.inbound [--deliveries 6000] [--rate 500] [--web 3] [--workers 2]
                            [--senders 8]

Each sender waits for an answer before it sends the next delivery, so the senders must be
enough that the target rate does not wait for them: 8 at 500 a second leave each 16 ms a
delivery (with 4, an accept of 8 ms already held the "open loop" under its target).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
from redis import Redis

from .live import PAGES_CONNECTIONS

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATABASE = "desk_bench_inbound"
PG = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
REDIS = "redis://127.0.0.1:6379/13"
PORT = 5087


def prepare() -> str:
    """A fresh migrated database with reference data, and a token for every channel of the
    simulator's mix."""
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{DATABASE}"')
    Redis.from_url(REDIS).flushdb()
    from flask_migrate import upgrade

    from desk import create_app, reference
    from desk.demo import simulate
    from desk.extensions import db
    from desk.inbound import tokens

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": PG,
            "SECRET_KEY": "bench",
            "REDIS_URL": REDIS,
            "DESK_JOBS_INLINE": False,
        }
    )
    with app.app_context():
        upgrade()
        reference.load(db.session)
        _, secret = tokens.create(db.session, "bench", list(simulate.MIX))
        db.session.commit()
        db.engine.dispose()
    return secret


def deliveries(n: int) -> list[tuple[str, bytes]]:
    from desk.demo import simulate
    from desk.models import utcnow

    stream = simulate.events(random.Random(7), utcnow)
    return [
        (channel, json.dumps(payload).encode())
        for channel, payload in (next(stream) for _ in range(n))
    ]


def start(args) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        # The load generator is one source system sending far faster than any real one.
        "DESK_RATE_API_TOKEN": "0/60",
        "DATABASE_URL": PG,
        "REDIS_URL": REDIS,
        "DESK_SECRET_KEY": "bench",
        "FLASK_APP": "desk",
    }
    processes = [
        subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "-w",
                str(args.web),
                "-b",
                f"127.0.0.1:{PORT}",
                "-k",
                "gthread",
                "--threads",
                "4",
                *PAGES_CONNECTIONS,
                "--log-level",
                "warning",
                # production's settings (desk/gunicorn.py), as the README's command has them
                "-c",
                "python:desk.gunicorn",
                "desk:create_app()",
            ],
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
    ]
    processes += [
        subprocess.Popen(
            [str(BIN / "flask"), "desk", "worker"],
            env=env,
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(args.workers)
    ]
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/v1/openapi.json", timeout=1)  # noqa: S310
            return processes
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _sender(work, secret, rate, out):
    """One load process: sends its share at `rate` a second (0: as fast as it can)."""
    connection = http.client.HTTPConnection("127.0.0.1", PORT)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}
    results = []
    begin = time.perf_counter()
    for n, (channel, body) in enumerate(work):
        if rate:
            delay = begin + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        sent = time.perf_counter()
        connection.request("POST", f"/api/v1/inbound/{channel}", body, headers)
        response = connection.getresponse()
        response.read()
        results.append((response.status, time.perf_counter() - sent))
    out.put((results, time.process_time()))


def load(work, secret, senders: int, rate: float) -> tuple[list, float]:
    """Spread `work` over `senders` processes; returns (status, seconds) pairs and wall time.
    The senders' CPU seconds are added to SENDERS_CPU."""
    queue = multiprocessing.Queue()
    # A delivery's versions (a growing chat) always go through the same sender, in order.
    shares = [[] for _ in range(senders)]
    for channel, body in work:
        external_id = json.loads(body)["external_id"]
        shares[hash((channel, external_id)) % senders].append((channel, body))
    processes = [
        multiprocessing.Process(
            target=_sender, args=(share, secret, rate / senders if rate else 0, queue)
        )
        for share in shares
    ]
    begin = time.perf_counter()
    for p in processes:
        p.start()
    results = []
    for _ in processes:
        answers, cpu = queue.get()
        results += answers
        SENDERS_CPU[0] += cpu
    for p in processes:
        p.join()
    return results, time.perf_counter() - begin


#: the senders' CPU seconds, summed by `load`
SENDERS_CPU = [0.0]
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_by_part(servers: list[subprocess.Popen]) -> dict[str, float]:
    """CPU seconds used so far by each part: the web processes and the workers (each started
    in a session of its own, so their children count), and PostgreSQL's backends for this
    benchmark's database, and Redis."""
    web, *workers = (p.pid for p in servers)
    used = {"web": 0.0, "workers": 0.0, "postgresql": 0.0, "redis": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        stat = _stat(pid)
        if stat is None:
            continue
        session = int(stat[3])
        part = "web" if session == web else "workers" if session in workers else None
        if part is None:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    command = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if command.startswith("postgres:") and f" {DATABASE} " in command:
                part = "postgresql"
            elif command.startswith("redis-server"):
                part = "redis"
        if part is not None:
            used[part] += (int(stat[11]) + int(stat[12])) / TICKS
    return used


def routed_when_done(expected: int, timeout: float = 600) -> float:
    """Wait until every accepted delivery is applied to an item; the moment it was."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{DATABASE}") as c:
        while time.monotonic() < deadline:
            left = c.execute(
                "SELECT count(*) FROM inbound_delivery WHERE applied_hash IS NULL "
                "OR applied_hash <> content_hash"
            ).fetchone()[0]
            total = c.execute("SELECT count(*) FROM inbound_delivery").fetchone()[0]
            c.rollback()
            if total >= expected and left == 0:
                return time.perf_counter()
            time.sleep(0.05)
    raise RuntimeError("deliveries were not routed in time")


def _speed() -> dict:
    """How fast the machine runs now (bench.run.speed), before the load starts."""
    from sqlalchemy import create_engine

    from .run import speed

    engine = create_engine(PG)
    try:
        return speed(engine)
    finally:
        engine.dispose()


def percentile(values: list[float], p: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]
        if len(values) > 1
        else values[0]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=6000)
    parser.add_argument("--rate", type=float, default=500, help="open-loop rate for latency")
    parser.add_argument("--web", type=int, default=3, help="gunicorn processes")
    parser.add_argument("--workers", type=int, default=2, help="rq workers")
    parser.add_argument("--senders", type=int, default=8, help="load processes")
    args = parser.parse_args()

    secret = prepare()
    work = deliveries(args.deliveries)
    processes = start(args)
    report = {
        "deliveries": len(work),
        "web": args.web,
        "workers": args.workers,
        "senders": args.senders,
        "cpus": os.cpu_count(),
        "speed": _speed(),
    }
    try:
        cpu_before = cpu_by_part(processes)
        # 1. As fast as it goes: accepted a second, and routed end to end.
        begin = time.perf_counter()
        results, wall = load(work[: len(work) // 2], secret, args.senders, 0)
        accepted = sum(1 for status, _ in results if status == 202)
        done = routed_when_done(accepted)
        latencies = [s for _, s in results]
        report["closed_loop"] = {
            "sent": len(results),
            "accepted_202": accepted,
            "statuses": {
                str(k): sum(1 for s, _ in results if s == k)
                for k in sorted({s for s, _ in results})
            },
            "accept_per_second": round(len(results) / wall, 1),
            "routed_end_to_end_per_second": round(accepted / (done - begin), 1),
            "accept_p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "accept_p95_ms": round(percentile(latencies, 95) * 1000, 1),
        }
        # 2. At a fixed rate: the accept latency a source system sees.
        begin = time.perf_counter()
        results, wall = load(work[len(work) // 2 :], secret, args.senders, args.rate)
        accepted_total = accepted + sum(1 for status, _ in results if status == 202)
        done = routed_when_done(accepted_total)
        latencies = [s for _, s in results]
        report["open_loop"] = {
            "target_per_second": args.rate,
            "sent": len(results),
            "achieved_per_second": round(len(results) / wall, 1),
            "accept_p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "accept_p95_ms": round(percentile(latencies, 95) * 1000, 1),
            "routing_lag_after_last_send_s": round(done - begin - wall, 2),
        }
        cpu_after = cpu_by_part(processes)
        # Where the machine's time went, from the first delivery until all were routed (the
        # Redis server serves the whole machine, but nothing else uses it meanwhile).
        used = {part: cpu_after[part] - cpu_before[part] for part in cpu_before}
        used["senders"] = SENDERS_CPU[0]
        report["cpu_ms_per_delivery"] = {
            part: round(1000 * seconds / len(work), 2) for part, seconds in used.items()
        }
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{DATABASE}") as c:
            report["items"] = c.execute("SELECT count(*) FROM work_item").fetchone()[0]
            report["deliveries_stored"] = c.execute(
                "SELECT count(*) FROM inbound_delivery"
            ).fetchone()[0]
        assert report["items"] == report["deliveries_stored"], "an item per delivery"
    finally:
        for p in processes:
            os.killpg(p.pid, signal.SIGTERM)
        for p in processes:
            p.wait(timeout=30)
    print(json.dumps(report, indent=1))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "inbound.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
