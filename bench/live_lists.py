"""Live My work lists on 1,000 open pages, with changes at five times the national peak.

Production's shape on this machine: the event stream under gunicorn with one gevent worker,
the pages under gunicorn (gthread, 2 workers × 4 threads), Redis and PostgreSQL
(`desk_bench`: 100,000 open and 2,000,000 resolved items). 1,000 My work pages are open: the
60 generated professionals, each a team's view (`--pages` spread over them, as the members of
a team see the same queues). Every page does what desk.js does:

- holds its event stream, naming its lists (`/events?view=work`), and takes the lists
  pushed to it;
- fetches "items I hold" (`GET /work/held` as a background refresh) when a change names
  its person (one page per professional is that person's own), at most once a second, and
  every 60 s (at a random phase) as its times move on;
- fetches its whole lists again (`GET /work`) every 300 s (at a random phase), the slow
  safety poll. (The stream pushes each view at least once a minute, changed or not.)

Meanwhile changes are committed through the desk's own code at `--rate` a second (take, then
release, of a random waiting item by a member of its queue): the national peak is ≈1.25
arrivals a second (≈15,000 items a day), each changing state about four times, so five
times the peak is ≈25 changes a second.

Measured: for every change and every page that shows its queue, the delay from the commit to
the first pushed lists rendered after it; the requests the pages server sees and their
latency; what the server's processes (the two gunicorns and PostgreSQL) use of the machine's
CPU; and the bytes pushed.

    python -m bench.live_lists [--pages 1000] [--seconds 60] [--rate 25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import threading
import time
import urllib.parse
from pathlib import Path

from .live import (
    PAGES_CONNECTIONS,
    REDIS,
    USER_AGENT,
    _percentile,
    served,
    sign_in,
    stream_server,
)

PORT = 5091
RESULTS = Path(__file__).resolve().parent / "results" / "live_lists.json"
#: how often a page fetches "items I hold", and its whole lists (desk/templates/work/)
HELD_POLL_SECONDS, LISTS_POLL_SECONDS = 60, 300
REFRESH_HEADERS = "HX-Request: true\r\nX-Desk-Background: 1\r\n"


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds of `pids` and their children that have ended."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15]) / ticks  # utime stime cutime cstime
    return total


def _server_pids(ports: list[int]) -> list[int]:
    """The gunicorn processes serving `ports` (masters and workers) and PostgreSQL's."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "postgres" in cmd.split(" ")[0] or any(f"127.0.0.1:{p}" in cmd for p in ports):
            pids.append(int(entry.name))
        elif "gunicorn" in cmd:
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                parent_cmd = Path(f"/proc/{parent}/cmdline").read_bytes().decode(errors="ignore")
            except OSError:
                continue
            if any(f"127.0.0.1:{p}" in parent_cmd for p in ports):
                pids.append(int(entry.name))
    return pids


class Client:
    """The open pages, in one asyncio loop in a thread."""

    def __init__(self, stream: str, pages: str, people: list[tuple[int, str, frozenset]]):
        self.stream = urllib.parse.urlsplit(stream)
        self.pages = urllib.parse.urlsplit(pages)
        self.people = people
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.pushes: list[list[tuple[float, float]]] = []  # per page: (arrival, rendered)
        self.views: list[frozenset] = []
        self.fetches: list[tuple[float, float, int]] = []  # (at, seconds, status)
        self.bytes = 0
        self.connected = 0
        self.failed: list[str] = []
        self.tasks: list = []
        self.last_fetch: dict[int, float] = {}

    def open(self, count: int, timeout: float = 180) -> None:
        self.thread.start()
        for n in range(count):
            person = self.people[n % len(self.people)]
            self.pushes.append([])
            self.views.append(person[2])
            own = n < len(self.people)  # the person's own page; the rest are teammates'
            coroutine = self._page(n, person, own)
            self.tasks.append(asyncio.run_coroutine_threadsafe(coroutine, self.loop))
        deadline = time.monotonic() + timeout
        while self.connected < count:
            if self.failed or time.monotonic() > deadline:
                raise RuntimeError(f"{self.connected} of {count} connected: {self.failed[:3]}")
            time.sleep(0.1)

    async def _fetch(self, cookie: str, path: str = "/work/held") -> None:
        started = time.perf_counter()
        status = 0
        try:
            reader, writer = await asyncio.open_connection(self.pages.hostname, self.pages.port)
            writer.write(
                (
                    f"GET {path} HTTP/1.1\r\nHost: {self.pages.netloc}\r\n"
                    f"User-Agent: {USER_AGENT}\r\nCookie: {cookie}\r\n{REFRESH_HEADERS}"
                    "Connection: close\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            await reader.read()
            writer.close()
        except Exception as error:  # noqa: BLE001 (counted as a failed request)
            self.failed.append(f"fetch: {error!r}")
        self.fetches.append((time.time(), time.perf_counter() - started, status))

    async def _poll(self, cookie: str, path: str, seconds: float) -> None:
        await asyncio.sleep(random.uniform(0, seconds))  # noqa: S311 (a benchmark's phase)
        while True:
            await self._fetch(cookie, path)
            await asyncio.sleep(seconds)

    async def _page(self, n: int, person: tuple[int, str, frozenset], own: bool) -> None:
        user_id, cookie, _queues = person
        reader, writer = await asyncio.open_connection(
            self.stream.hostname, self.stream.port, limit=2**22
        )
        writer.write(
            (
                f"GET /events?view=work HTTP/1.1\r\nHost: {self.stream.netloc}\r\n"
                f"User-Agent: {USER_AGENT}\r\nAccept: text/event-stream\r\n"
                f"Cookie: {cookie}\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        if b" 200 " not in await reader.readline():
            self.failed.append(f"page {n}: not 200")
            return
        polls = [
            asyncio.ensure_future(self._poll(cookie, "/work/held", HELD_POLL_SECONDS)),
            asyncio.ensure_future(self._poll(cookie, "/work", LISTS_POLL_SECONDS)),
        ]
        name = b"change"
        try:
            async for raw in reader:
                self.bytes += len(raw)
                line = raw.strip()
                if line.startswith(b": connected"):
                    self.connected += 1
                elif line.startswith(b"event: "):
                    name = line[7:]
                elif line.startswith(b"data: "):
                    now = time.time()
                    if name == b"lists":
                        rendered = float(
                            line[line.rindex(b'"rendered": ') + 12 :].split(b",")[0].strip(b"}")
                        )
                        self.pushes[n].append((now, rendered))
                    elif own and str(user_id).encode() in line:
                        change = json.loads(line[6:])
                        named = user_id in change.get("people", ())
                        if named and now - self.last_fetch.get(n, 0) >= 1:
                            self.last_fetch[n] = now
                            asyncio.ensure_future(self._fetch(cookie))
                    name = b"change"
        finally:
            for poll in polls:
                poll.cancel()
            writer.close()

    def close(self) -> None:
        async def cancel() -> None:
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(cancel(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def run(pages: int, seconds: float, rate: float, views: int) -> dict:
    from redis import Redis
    from sqlalchemy import select

    from desk import create_app
    from desk.extensions import db
    from desk.models import ItemStatus, WorkItem
    from desk.work import lifecycle

    from . import generate
    from .run import machine

    if not generate.has_items():
        raise SystemExit("desk_bench holds no items: run python -m bench.generate first")
    Redis.from_url(REDIS).flushdb()
    app = create_app({**generate.bench_config(), "REDIS_URL": REDIS, "DESK_JOBS_INLINE": True})
    rng = random.Random(21)
    with app.app_context():
        generate.settle(db.session)
        people = [
            (u.id, u.username, frozenset(u.queue_codes))
            for u in generate.professionals(db.session)[:views]
        ]
        members: dict[str, list[int]] = {}
        for user_id, _name, queues in people:
            for queue in queues:
                members.setdefault(queue, []).append(user_id)
        waiting = list(
            db.session.execute(
                select(WorkItem.id, WorkItem.queue_code)
                .where(WorkItem.status == ItemStatus.NEW.value, WorkItem.assignee_id.is_(None))
                .where(WorkItem.queue_code.in_(members), WorkItem.municipality_code.is_not(None))
                .limit(20000)
            )
        )
        rng.shuffle(waiting)
        about = machine(db.engine)
        db.session.remove()

    pages_workers = ["-k", "gthread", "-w", "2", "--threads", "4", *PAGES_CONNECTIONS]
    with (
        stream_server(generate.DATABASE_URL, REDIS, PORT, "bench") as stream,
        served(generate.DATABASE_URL, REDIS, PORT + 1, "bench", pages_workers) as base,
    ):
        cookies = {name: sign_in(base, name, generate.PASSWORD) for _, name, _ in people}
        client = Client(stream, base, [(i, cookies[name], q) for i, name, q in people])
        started = time.perf_counter()
        client.open(pages)
        connected_in = time.perf_counter() - started
        time.sleep(2)
        pids = _server_pids([PORT, PORT + 1])
        cpu_before, wall_before = _cpu_seconds(pids), time.monotonic()
        fetches_before, bytes_before = len(client.fetches), client.bytes
        changes: list[tuple[float, str]] = []
        held: list[tuple[int, int]] = []
        with app.app_context():
            from desk.models import User

            end = time.monotonic() + seconds
            next_at = time.monotonic()
            while time.monotonic() < end:
                next_at += rng.expovariate(rate)
                time.sleep(max(0.0, next_at - time.monotonic()))
                if held and (len(held) > 50 or rng.random() < 0.5):
                    item_id, user_id = held.pop(rng.randrange(len(held)))
                    item = db.session.get(WorkItem, item_id)
                    lifecycle.release(db.session, item, db.session.get(User, user_id))
                else:
                    item_id, queue = waiting.pop()
                    user_id = rng.choice(members[queue])
                    item = db.session.get(WorkItem, item_id)
                    lifecycle.take(db.session, item, db.session.get(User, user_id))
                    held.append((item_id, user_id))
                queue = item.queue_code
                db.session.commit()
                changes.append((time.time(), queue))
                db.session.remove()
            for item_id, user_id in held:  # leave the items as they were
                lifecycle.release(
                    db.session, db.session.get(WorkItem, item_id), db.session.get(User, user_id)
                )
            db.session.commit()
            db.session.remove()
        cpu = _cpu_seconds(pids) - cpu_before
        wall = time.monotonic() - wall_before
        fetches = client.fetches[fetches_before:]
        pushed_bytes = client.bytes - bytes_before
        time.sleep(2)  # the last pushes arrive
        client.close()

    delays, missed = [], 0
    for at, queue in changes[: int(len(changes) * 0.95)]:  # the last ones may not be pushed yet
        for n, view in enumerate(client.views):
            if queue not in view:
                continue
            later = [arrival for arrival, rendered in client.pushes[n] if rendered >= at]
            if later:
                delays.append(min(later) - at)
            else:
                missed += 1
    latencies = [s for _, s, _ in fetches]
    return {
        "pages": pages,
        "views": len(people),
        "push_seconds": float(os.environ.get("DESK_PUSH_SECONDS", "0.5")),
        "seconds": round(wall, 1),
        "changes": len(changes),
        "changes_per_second": round(len(changes) / wall, 1),
        "connect_all_seconds": round(connected_in, 1),
        "change_to_page_ms": {
            "n": len(delays),
            "missed": missed,
            "p50": round(_percentile(delays, 0.5) * 1000, 1),
            "p95": round(_percentile(delays, 0.95) * 1000, 1),
            "max": round(max(delays) * 1000, 1),
        },
        "pushes_per_second": round(sum(len(p) for p in client.pushes) / wall, 1),
        "pushed_megabytes_per_second": round(pushed_bytes / wall / 1e6, 2),
        "server_requests_per_second": round(len(fetches) / wall, 1),
        "server_request_ms": {
            "p50": round(_percentile(latencies, 0.5) * 1000, 1) if latencies else None,
            "p95": round(_percentile(latencies, 0.95) * 1000, 1) if latencies else None,
        },
        "non_200": sum(1 for _, _, status in fetches if status != 200),
        "server_cpu_share": round(cpu / wall / (os.cpu_count() or 1), 3),
        "machine": about,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=25, help="changes a second")
    parser.add_argument(
        "--views", type=int, default=60, help="distinct views: the first N professionals"
    )
    args = parser.parse_args(argv)
    result = run(args.pages, args.seconds, args.rate, args.views)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    d = result["change_to_page_ms"]
    print(
        f"{result['pages']} pages ({result['views']} views), {result['changes']} changes "
        f"({result['changes_per_second']}/s) over {result['seconds']} s"
    )
    print(
        f"change → page: p50 {d['p50']} ms, p95 {d['p95']} ms, max {d['max']} ms "
        f"({d['n']} arrivals, {d['missed']} never pushed)"
    )
    print(
        f"pushes {result['pushes_per_second']}/s, {result['pushed_megabytes_per_second']} MB/s; "
        f"requests to the pages server {result['server_requests_per_second']}/s "
        f"(p50 {result['server_request_ms']['p50']} ms, p95 {result['server_request_ms']['p95']} "
        f"ms, non-200 {result['non_200']}); server CPU {result['server_cpu_share']:.0%} of the "
        f"machine"
    )


if __name__ == "__main__":
    main()
