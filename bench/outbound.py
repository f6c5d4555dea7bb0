"""Answering the resident: how fast a reply reaches the source system, a resident's message
reaches the professional's screen, and a backlog drains when a receiver comes back.

Real parts, as README's "Production" runs them: PostgreSQL (a copy of `desk_bench`, or a fresh
database), Redis, gunicorn serving the desk (gthread), gunicorn with one gevent worker serving
`/events`, `flask desk worker` (rq) and `flask desk scheduler`, and a webhook receiver on
loopback registered as the outbound endpoint (bench/receiver.py, a process of its own so that
it can be down). Everything a professional does goes over HTTP as the pages send it (signed in
through the login form, CSRF header, htmx header); the resident's messages come in through the
inbound API with a source system's token.

1. **reply**: the time from the click (the start of `POST /items/<id>/messages`) to the
   receiver's 2xx for that message, one professional at a time and several at once, with a
   profile of where it goes (the request, rq's enqueue, the worker's pickup, the attempt).
2. **screen**: 1,000 open pages on the event stream, some of them items' holders looking at
   their items; from the resident's `POST …/messages` to the end of the conversation fragment
   (`GET /items/<id>/conversation`) that the page fetches when the stream names its item, as
   static/js/desk.js does (at most once a second per page).
3. **backlog**: the receiver goes down, professionals write 10 messages to each of 200 chats,
   the receiver comes back after `--outage-seconds`; how long until every message is
   delivered, and whether each chat's came in order.

    python -m bench.outbound [--parts reply,screen,backlog] [--outage-seconds 600] [--fresh]

The figures are printed and written to bench/results/outbound.json; the processes' output goes
to bench/results/outbound-logs/.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from redis import Redis

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATABASE = "desk_bench_outbound"
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
LIBPQ = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"
PG = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
REDIS = "redis://127.0.0.1:6379/12"
WEB_PORT, STREAM_PORT, RECEIVER_PORT = 5089, 5090, 5091
WEB = f"http://127.0.0.1:{WEB_PORT}"
RECEIVER_URL = f"http://127.0.0.1:{RECEIVER_PORT}/desk-events"
USER_AGENT = "desk-outbound-bench"
PASSWORD = "bench-password"
RESULTS = ROOT / "bench" / "results" / "outbound.json"
LOGS = ROOT / "bench" / "results" / "outbound-logs"
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


def stats(values: list[float]) -> dict:
    """n, p50, p95 and max of durations in seconds, as milliseconds."""
    if not values:
        return {"n": 0}
    ms = sorted(v * 1000 for v in values)
    p95 = statistics.quantiles(ms, n=100, method="inclusive")[94] if len(ms) > 1 else ms[0]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ms[-1], 1),
    }


def epoch(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


# --- the processes --------------------------------------------------------------------------------


class Processes:
    """The desk's processes and the receiver, each in a session of its own; every one is ended
    (its whole group) when the benchmark ends, however it ends."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.running: dict[str, subprocess.Popen] = {}
        LOGS.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, argv: list[str], extra_env: dict | None = None) -> None:
        log = open(LOGS / f"{name}.log", "ab")  # noqa: SIM115 (the child holds it)
        self.running[name] = subprocess.Popen(
            argv,
            env={**self.env, **(extra_env or {})},
            cwd=ROOT,
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        process = self.running.pop(name, None)
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def alive(self, name: str) -> bool:
        process = self.running.get(name)
        return process is not None and process.poll() is None

    def close(self) -> None:
        for name in reversed(list(self.running)):
            # gunicorn: SIGINT is its quick shutdown (a graceful one waits for keep-alives).
            self.stop(name, signal.SIGINT if name.startswith("gunicorn") else signal.SIGTERM)


def wait_until_up(url: str, processes: Processes, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            if not processes.alive(name):
                raise RuntimeError(f"{name} exited; see {LOGS / (name + '.log')}") from None
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not start")


def start_receiver(processes: Processes, secret: str, log: Path) -> float:
    """The receiver up; the moment it answers."""
    processes.start(
        "receiver",
        [sys.executable, "-m", "bench.receiver", "--port", str(RECEIVER_PORT), "--log", str(log)],
        {"BENCH_WEBHOOK_SECRET": secret},
    )
    wait_until_up(f"http://127.0.0.1:{RECEIVER_PORT}/", processes, "receiver")
    return time.time()


def start_desk(
    processes: Processes, web: int, threads: int, workers: int, fork: bool = False
) -> None:
    gunicorn = str(BIN / "gunicorn")
    processes.start(
        "gunicorn-web",
        [
            gunicorn,
            *("-w", str(web), "-k", "gthread", "--threads", str(threads)),
            *("-b", f"127.0.0.1:{WEB_PORT}", "--log-level", "warning"),
            "desk:create_app()",
        ],
    )
    for n in range(workers):
        worker = [str(BIN / "flask"), "desk", "worker", *(["--fork"] if fork else [])]
        processes.start(f"worker-{n + 1}", worker)
    processes.start("scheduler", [str(BIN / "flask"), "desk", "scheduler"])
    wait_until_up(f"{WEB}/login", processes, "gunicorn-web")


# --- the data -------------------------------------------------------------------------------------


def prepare_database(template: str | None) -> None:
    """A fresh `desk_bench_outbound`: a copy of `template` (its data volume), or empty."""
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        if template:
            conn.execute(f'CREATE DATABASE "{DATABASE}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        else:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')


def make_app():
    from desk import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": PG,
            "SECRET_KEY": "bench",
            "REDIS_URL": REDIS,
            "DESK_JOBS_INLINE": False,
        }
    )


def setup(app, professionals: int, fresh: bool) -> dict:
    """Migrate; a source system's token for every channel, its endpoint at the receiver, and
    `professionals` available professionals in every queue with every municipality."""
    from flask_migrate import upgrade
    from sqlalchemy import select
    from werkzeug.security import generate_password_hash

    from desk import reference
    from desk.extensions import channel_registry, db
    from desk.inbound import tokens
    from desk.models import Municipality, Queue, Role, User
    from desk.outbound import endpoints

    with app.app_context():
        upgrade()
        if fresh:
            reference.load(db.session)
        names = list(channel_registry().names())
        _row, token = tokens.create(db.session, "Bench source system", names)
        _endpoint, signing = endpoints.register(
            db.session, "Bench source system", RECEIVER_URL, names, names
        )
        queues = list(db.session.scalars(select(Queue)))
        municipalities = list(db.session.scalars(select(Municipality)))
        password_hash = generate_password_hash(PASSWORD)
        usernames = []
        for n in range(professionals):
            user = User(
                username=f"outbound{n + 1:02d}",
                display_name=f"Hanna Vastaaja {n + 1:02d}",
                password_hash=password_hash,
                role=Role.PROFESSIONAL.value,
                language="fi",
                status="available",
                title_fi="sairaanhoitaja",
                capacity=500,
            )
            user.queues = queues
            user.municipalities = municipalities
            db.session.add(user)
            usernames.append(user.username)
        db.session.commit()
        db.engine.dispose()
    return {"token": token, "secret": signing, "usernames": usernames, "channels": names}


def payloads(rng: random.Random, chats: int, identified: int, run: str) -> list[tuple[str, dict]]:
    """`chats` chats and `identified` e-forms or help requests of strongly identified
    residents, from the demo generator, sent now under new external ids."""
    from desk.demo import deliveries
    from desk.demo.simulate import restamp
    from desk.models import utcnow

    now = utcnow()
    made = deliveries(rng, now, 400)
    chat_pool = [p for c, p in made if c == "chat"]
    known = [
        (c, p)
        for c, p in made
        if c in ("eform", "help-request")
        and (p.get("resident") or {}).get("identification") == "strong"
    ]
    out = []
    for n in range(chats):
        out.append(("chat", restamp(chat_pool[n % len(chat_pool)], now, f"ob-{run}-chat-{n}")))
    for n in range(identified):
        channel, payload = known[n % len(known)]
        out.append((channel, restamp(payload, now, f"ob-{run}-{channel}-{n}")))
    return out


def deliver(token: str, work: list[tuple[str, dict]]) -> list[tuple[str, str]]:
    """Post the deliveries through the inbound API; (channel, external_id) of each."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=WEB, timeout=30) as client:
        for channel, payload in work:
            response = client.post(f"/api/v1/inbound/{channel}", json=payload, headers=headers)
            if response.status_code != 202:
                raise RuntimeError(f"delivery refused: {response.status_code} {response.text}")
    return [(channel, payload["external_id"]) for channel, payload in work]


def routed(refs: list[tuple[str, str]], timeout: float = 120) -> dict[tuple[str, str], int]:
    """Wait until the worker has routed every delivery; its item id by (channel, external id)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(LIBPQ, autocommit=True) as conn:
        while True:
            rows = conn.execute(
                "SELECT channel, external_id, item_id FROM inbound_delivery "
                "WHERE external_id = ANY(%s) AND item_id IS NOT NULL",
                [[e for _, e in refs]],
            ).fetchall()
            if len(rows) == len(refs):
                return {(c, e): i for c, e, i in rows}
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(rows)} of {len(refs)} deliveries routed")
            time.sleep(0.2)


def outbox_settled(timeout: float = 120) -> None:
    """Wait until no outbox event is pending (everything so far delivered)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(LIBPQ, autocommit=True) as conn:
        while True:
            pending = conn.execute(
                "SELECT count(*) FROM outbox_event WHERE state = 'pending'"
            ).fetchone()[0]
            if pending == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{pending} outbox events still pending")
            time.sleep(0.2)


# --- professionals over HTTP ----------------------------------------------------------------------


class Professional:
    """One professional's browser: signed in through the login form, sending the CSRF token and
    the htmx header as the desk's pages do."""

    def __init__(self, username: str) -> None:
        self.username = username
        self.http = httpx.Client(base_url=WEB, headers={"User-Agent": USER_AGENT}, timeout=30)
        self.csrf = ""

    def sign_in(self) -> Professional:
        page = self.http.get("/login").text
        form = {"csrf_token": CSRF.search(page).group(1), "username": self.username}
        response = self.http.post("/login", data={**form, "password": PASSWORD})
        if response.status_code != 302 or not response.headers["location"].endswith("/work"):
            raise RuntimeError(f"sign-in as {self.username} failed: {response.status_code}")
        self.csrf = CSRF.search(self.http.get("/work").text).group(1)
        return self

    @property
    def cookie(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())

    def post(self, url: str, data: dict) -> httpx.Response:
        headers = {"X-CSRFToken": self.csrf, "HX-Request": "true"}
        return self.http.post(url, data=data, headers=headers)

    def take(self, item_id: int) -> None:
        page = self.http.get(f"/items/{item_id}").text
        version = VERSION.search(page).group(1)
        response = self.post(f"/items/{item_id}/take", {"version": version})
        if response.status_code != 200:
            raise RuntimeError(f"take {item_id}: {response.status_code}")

    def reply(self, item_id: int, text: str) -> tuple[float, float, int]:
        """One click on "send": (start, end, status)."""
        data = {"kind": "reply", "text": text, "key": secrets.token_hex(8)}
        started = time.time()
        response = self.post(f"/items/{item_id}/messages", data)
        return started, time.time(), response.status_code

    def close(self) -> None:
        self.http.close()


# --- the receiver's log ---------------------------------------------------------------------------


MARK = re.compile(r"^\[([a-z]+-\d+(?:-\d+)?)\]")


def received(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def arrivals(log: Path) -> dict[str, dict]:
    """The first arrival of each marked message, by its marker."""
    first: dict[str, dict] = {}
    for record in received(log):
        match = MARK.match(record.get("text") or "")
        if match and match.group(1) not in first:
            first[match.group(1)] = record
    return first


def wait_for_markers(log: Path, markers: list[str], timeout: float) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while True:
        got = arrivals(log)
        if all(m in got for m in markers) or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


# --- 1. reply → receiver --------------------------------------------------------------------------


@dataclass
class Click:
    marker: str
    item_id: int
    started: float
    ended: float
    status: int


def reply_phase(
    holders: list[tuple[Professional, list[int]]],
    replies: int,
    concurrent: bool,
    think: float,
    tag: str,
    rng: random.Random,
) -> list[Click]:
    """`replies` clicks in all: one after another across every chat (concurrent=False), or each
    professional on their own chats in a thread of their own, all at once."""
    clicks: list[Click] = []
    lock = threading.Lock()

    def click(pro: Professional, item_id: int, n: int) -> None:
        marker = f"{tag}-{n:04d}"
        started, ended, status = pro.reply(
            item_id, f"[{marker}] Hei! Kuinka kauan oireet ovat jatkuneet?"
        )
        with lock:
            clicks.append(Click(marker, item_id, started, ended, status))
        time.sleep(think * rng.uniform(0.5, 1.5))

    if not concurrent:
        order = [(pro, item) for pro, items in holders for item in items]
        rng.shuffle(order)
        for n in range(replies):
            pro, item_id = order[n % len(order)]
            click(pro, item_id, n)
        return clicks

    share = replies // len(holders)
    barrier = threading.Barrier(len(holders))

    def professional(k: int) -> None:
        pro, items = holders[k]
        barrier.wait()
        for j in range(share):
            click(pro, items[j % len(items)], k * share + j)

    threads = [threading.Thread(target=professional, args=(k,)) for k in range(len(holders))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return clicks


def rq_jobs() -> list[dict]:
    """The finished jobs rq still keeps: function, first argument and times."""
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    from desk.tasks import QUEUE_NAME

    redis = Redis.from_url(REDIS)
    ids = FinishedJobRegistry(QUEUE_NAME, connection=redis).get_job_ids()
    jobs = []
    for job in Job.fetch_many(ids, connection=redis):
        if job is None:
            continue
        jobs.append(
            {
                "func": job.func_name.rsplit(".", 1)[-1],
                "arg": job.args[0] if job.args else None,
                "enqueued": epoch(job.enqueued_at),
                "started": epoch(job.started_at),
                "ended": epoch(job.ended_at),
            }
        )
    return jobs


def profile(clicks: list[Click], got: dict[str, dict]) -> dict:
    """Where each click's time went: the request until the message is made, its commit and
    rq's enqueue, the job's wait for the worker, and the job until the receiver's 2xx."""
    jobs = rq_jobs()
    by_item = collections.defaultdict(list)
    for job in jobs:
        if job["func"] == "deliver_item":
            by_item[job["arg"]].append(job)
    ids = [got[c.marker]["id"] for c in clicks if c.marker in got]
    with psycopg.connect(LIBPQ, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, created_at, last_attempt_at, delivered_at, attempts "
            "FROM outbox_event WHERE id = ANY(%s)",
            [ids],
        ).fetchall()
    events = {r[0]: r for r in rows}
    parts = collections.defaultdict(list)
    own_job = 0
    for c in clicks:
        record = got.get(c.marker)
        if record is None:
            continue
        _id, created, attempt, _delivered, _attempts = events[record["id"]]
        attempt = epoch(attempt)
        parts["click → receiver 2xx"].append(record["at"] - c.started)
        parts["click → answer to the browser"].append(c.ended - c.started)
        parts["click → message made (in the request)"].append(epoch(created) - c.started)
        woken = [j for j in by_item[c.item_id] if c.started <= j["enqueued"] <= c.ended + 0.05]
        if woken:
            job = woken[0]
            parts["click → job enqueued (commit, enqueue)"].append(job["enqueued"] - c.started)
            parts["message made → job enqueued"].append(job["enqueued"] - epoch(created))
            parts["job enqueued → worker starts it"].append(job["started"] - job["enqueued"])
            # last_attempt_at is written after the POST: within the job, that job sent it.
            if job["started"] <= attempt <= job["ended"] + 0.01:
                own_job += 1
                parts["job start → receiver 2xx (lock, sign, POST)"].append(
                    record["at"] - job["started"]
                )
    # The jobs of this phase only (rq keeps finished jobs for a while).
    begin = min(c.started for c in clicks)
    end = max([r["at"] for r in got.values()] + [c.ended for c in clicks])
    others = collections.defaultdict(list)
    for job in jobs:
        if begin <= job["started"] <= end:
            others[job["func"]].append(job["ended"] - job["started"])
    return {
        "parts": {name: stats(values) for name, values in parts.items()},
        "delivered_by_the_job_its_click_woke": own_job,
        "rq_job_run_time": {name: stats(values) for name, values in others.items()},
    }


def measure_replies(pros, chats_of, args, rng, log: Path) -> dict:
    result = {}
    for concurrent in (False, True):
        name = "concurrent" if concurrent else "one_at_a_time"
        holders = [(pro, chats_of[pro.username]) for pro in pros[: args.concurrent]]
        tag = "rc" if concurrent else "rs"
        began = time.time()
        clicks = reply_phase(holders, args.replies, concurrent, args.think, tag, rng)
        wall = time.time() - began
        got = wait_for_markers(log, [c.marker for c in clicks], 60)
        missing = [c.marker for c in clicks if c.marker not in got]
        ours = {c.marker for c in clicks}
        ids = collections.Counter(
            r["id"]
            for r in received(log)
            if (m := MARK.match(r.get("text") or "")) and m.group(1) in ours
        )
        result[name] = {
            "professionals": len(holders) if concurrent else 1,
            "chats": sum(len(items) for _, items in holders),
            "replies": len(clicks),
            "statuses": dict(collections.Counter(c.status for c in clicks)),
            "replies_per_second": round(len(clicks) / wall, 2),
            "not_delivered_within_60_s": len(missing),
            "duplicates": sum(n - 1 for n in ids.values()),
            **profile(clicks, got),
        }
        print_reply(name, result[name])
    return result


def print_reply(name: str, r: dict) -> None:
    print(f"\n1. reply → receiver, {name}: {r['replies']} replies, {r['replies_per_second']} /s")
    for part, s in r["parts"].items():
        if s["n"]:
            print(f"   {part:<42} n={s['n']:<4} p50 {s['p50_ms']:>7} p95 {s['p95_ms']:>7} "
                  f"max {s['max_ms']:>7} ms")  # fmt: skip
    print(f"   delivered by the job its click woke: {r['delivered_by_the_job_its_click_woke']}")


# --- 2. resident → screen -------------------------------------------------------------------------


class Screens:
    """`pages` open pages on the event stream, each (cookie, watched item or None). A page that
    watches an item does what static/js/desk.js does when the stream names it: fetch the
    conversation fragment at once, or one second after its last fetch (refreshSoon)."""

    def __init__(self, stream: str, pages: list[tuple[str, int | None]]) -> None:
        self.stream = httpx.URL(stream)
        self.pages = pages
        self.count = len(pages)
        self.connected = 0
        self.failed: list[str] = []
        self.received = [0] * self.count
        self.events: dict[int, list[tuple[float, list[int]]]] = collections.defaultdict(list)
        self.fetches: list[tuple[int, float, float, int]] = []
        self.seen: dict[int, float] = {}  # resident message number → shown at
        self._last: dict[int, float] = {}
        self._pending: set[int] = set()
        self._clients: dict[int, httpx.AsyncClient] = {}
        self._tasks: list = []
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _page(self, n: int) -> None:
        cookie, item = self.pages[n]
        writer = None
        try:
            host, port = self.stream.host, self.stream.port
            reader, writer = await asyncio.open_connection(host, port, limit=2**16)
            writer.write(
                (
                    f"GET /events HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"User-Agent: {USER_AGENT}\r\nAccept: text/event-stream\r\n"
                    f"Cookie: {cookie}\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            status = await reader.readline()
            if b" 200 " not in status:
                raise RuntimeError(status.decode().strip())
            async for raw in reader:
                line = raw.strip()
                if line.startswith(b": connected"):
                    self.connected += 1
                    if self.connected == self.count:
                        self._ready.set()
                elif line.startswith(b"data: "):
                    at = time.time()
                    self.received[n] += 1
                    if item is None:
                        continue
                    items = json.loads(line[6:]).get("items", [])
                    self.events[n].append((at, items))
                    if item in items:
                        self._refresh_soon(n)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 (every failure is reported)
            self.failed.append(f"page {n}: {error!r}")
            self._ready.set()
        finally:
            if writer is not None:
                writer.close()

    def _refresh_soon(self, n: int) -> None:
        if n in self._pending:
            return
        wait = max(0.0, self._last.get(n, 0.0) + 1.0 - time.time())
        self._pending.add(n)
        self._loop.call_later(
            wait, lambda: self._tasks.append(self._loop.create_task(self._fetch(n)))
        )

    async def _fetch(self, n: int) -> None:
        self._last[n] = time.time()
        self._pending.discard(n)
        cookie, item = self.pages[n]
        client = self._clients.get(n)
        if client is None:
            client = self._clients[n] = httpx.AsyncClient(
                base_url=WEB, headers={"User-Agent": USER_AGENT, "Cookie": cookie}, timeout=30
            )
        started = time.time()
        try:
            response = await client.get(
                f"/items/{item}/conversation", headers={"HX-Request": "true"}
            )
        except httpx.HTTPError as error:  # counted as a failed fetch (status 0)
            self.fetches.append((n, started, time.time(), 0))
            self.failed.append(f"fetch on page {n}: {error!r}")
            return
        done = time.time()
        self.fetches.append((n, started, done, response.status_code))
        for k in re.findall(r"bench-resident-(\d+)", response.text):
            self.seen.setdefault(int(k), done)

    def open(self, timeout: float = 120) -> float:
        started = time.perf_counter()
        self._thread.start()
        for n in range(self.count):
            self._tasks.append(asyncio.run_coroutine_threadsafe(self._page(n), self._loop))
        if not self._ready.wait(timeout) or self.failed:
            raise RuntimeError(
                f"{self.connected} of {self.count} pages connected; failed: {self.failed[:3]}"
            )
        return time.perf_counter() - started

    async def _cancel(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._cancel(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def measure_screen(pros, watched, token: str, args) -> dict:
    """Resident messages to the watched items, one every `args.interval` seconds, with
    `args.pages` pages open; from the POST to the conversation fragment on the holder's page."""
    from .live import stream_server

    with stream_server(PG, REDIS, STREAM_PORT, "bench") as stream:
        pages: list[tuple[str, int | None]] = []
        for pro, (_channel, _external_id, item_id) in watched:
            pages.append((pro.cookie, item_id))
        while len(pages) < args.pages:
            pages.append((pros[len(pages) % len(pros)].cookie, None))
        screens = Screens(stream, pages)
        connect = screens.open()
        print(f"\n2. {args.pages} pages connected in {connect:.2f} s")
        sent: list[tuple[int, int, float, float, int]] = []
        headers = {"Authorization": f"Bearer {token}"}
        try:
            with httpx.Client(base_url=WEB, timeout=30) as client:
                begin = time.time()
                for k in range(args.resident_messages):
                    delay = begin + k * args.interval - time.time()
                    if delay > 0:
                        time.sleep(delay)
                    _pro, (channel, external_id, item_id) = watched[k % len(watched)]
                    body = {
                        "message_id": f"resident-{k}-{secrets.token_hex(4)}",
                        "sent_at": datetime.now(UTC).isoformat(),
                        "text": f"bench-resident-{k:04d} Kiitos, tässä pyytämänne tiedot.",
                        "in_reply_to": None,
                        "attachments": [],
                    }
                    started = time.time()
                    response = client.post(
                        f"/api/v1/inbound/{channel}/{external_id}/messages",
                        json=body,
                        headers=headers,
                    )
                    sent.append((k, item_id, started, time.time(), response.status_code))
            deadline = time.monotonic() + 30
            while len(screens.seen) < len(sent) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            screens.close()
    holder_page = {item: n for n, (_, item) in enumerate(pages) if item is not None}
    to_screen, to_event, post, fetch = [], [], [], []
    for k, item_id, started, ended, _status in sent:
        post.append(ended - started)
        if k in screens.seen:
            to_screen.append(screens.seen[k] - started)
        named = [at for at, items in screens.events[holder_page[item_id]] if item_id in items]
        after = [at for at in named if at >= started]
        if after:
            to_event.append(after[0] - started)
    fetch = [done - begun for _n, begun, done, _s in screens.fetches]
    result = {
        "pages": args.pages,
        "holder_pages": len(watched),
        "resident_messages": len(sent),
        "interval_s": args.interval,
        "statuses": dict(collections.Counter(s for *_, s in sent)),
        "connect_all_seconds": round(connect, 2),
        "events_per_page_min": min(screens.received),
        "fragment_statuses": dict(collections.Counter(s for *_, s in screens.fetches)),
        "not_shown_within_30_s": len(sent) - len(to_screen),
        "parts": {
            "resident POST → on the screen (fragment loaded)": stats(to_screen),
            "resident POST → 202": stats(post),
            "resident POST → the stream names the item on the holder's page": stats(to_event),
            "conversation fragment GET": stats(fetch),
        },
    }
    print(f"2. resident → screen: {len(sent)} messages, one every {args.interval} s")
    for part, s in result["parts"].items():
        if s["n"]:
            print(
                f"   {part:<62} p50 {s['p50_ms']:>7} p95 {s['p95_ms']:>7} max {s['max_ms']:>7} ms"
            )
    return result


# --- 3. the backlog -------------------------------------------------------------------------------


def measure_backlog(pros, chats_of, processes, secret, log: Path, args) -> dict:
    """Receiver down; `per_item` messages to each backlog chat; receiver back after the outage;
    until every message has arrived."""
    holders = [(pro, chats_of[pro.username]) for pro in pros[: args.concurrent]]
    items = sum(len(i) for _, i in holders)
    markers = []
    processes.stop("receiver")
    down = time.time()
    print(f"\n3. the receiver is down; {args.per_item} messages to each of {items} chats")
    clicks: list[tuple[str, int, int]] = []
    lock = threading.Lock()

    def professional(pro: Professional, chats: list[int]) -> None:
        for j in range(args.per_item):
            for item_id in chats:
                marker = f"backlog-{item_id}-{j:02d}"
                _s, _e, status = pro.reply(item_id, f"[{marker}] Viesti {j + 1}/{args.per_item}.")
                with lock:
                    clicks.append((marker, item_id, status))

    threads = [threading.Thread(target=professional, args=h) for h in holders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    written = time.time() - down
    markers = [m for m, _, status in clicks if status == 200]
    print(f"   {len(markers)} messages written in {written:.1f} s; waiting out the outage")
    with psycopg.connect(LIBPQ, autocommit=True) as conn:
        queued = conn.execute(
            "SELECT count(*) FROM outbox_event WHERE state = 'pending'"
        ).fetchone()[0]
    remaining = down + args.outage_seconds - time.time()
    if remaining > 0:
        time.sleep(remaining)
    with psycopg.connect(LIBPQ, autocommit=True) as conn:
        attempts_during = conn.execute(
            "SELECT coalesce(sum(attempts), 0), count(*) FILTER (WHERE attempts > 0), "
            "max(next_attempt_at) FROM outbox_event WHERE state = 'pending'"
        ).fetchone()
    up = start_receiver(processes, secret, log)
    print(f"   the receiver is back after {up - down:.0f} s")
    deadline = time.monotonic() + args.backlog_timeout
    last_report = 0.0
    while True:
        got = arrivals(log)
        done = sum(1 for m in markers if m in got)
        if done == len(markers) or time.monotonic() > deadline:
            break
        if time.monotonic() - last_report > 15:
            print(f"   {time.time() - up:6.0f} s after the return: {done} of {len(markers)}")
            last_report = time.monotonic()
        time.sleep(0.5)
    records = received(log)
    backlog_records = [r for r in records if (r.get("text") or "").startswith("[backlog-")]
    ids = collections.Counter(r["id"] for r in backlog_records)
    after = sorted(got[m]["at"] - up for m in markers if m in got)
    # Order: each chat's messages, as they arrived (first arrival of each id), by number.
    per_item: dict[str, list[int]] = collections.defaultdict(list)
    first_seen: set[str] = set()
    for r in sorted(backlog_records, key=lambda r: r["at"]):
        if r["id"] in first_seen:
            continue
        first_seen.add(r["id"])
        _, item, j = MARK.match(r["text"]).group(1).split("-")
        per_item[item].append(int(j))
    out_of_order = [item for item, js in per_item.items() if js != sorted(js)]
    with psycopg.connect(LIBPQ, autocommit=True) as conn:
        attempts = conn.execute(
            "SELECT e.attempts, count(*) FROM outbox_event e JOIN item_message m "
            "ON m.id = e.message_id WHERE m.text LIKE %s GROUP BY 1 ORDER BY 1",
            ["[backlog-%"],
        ).fetchall()
    timeline = collections.Counter(int(a // 10) * 10 for a in after)
    result = {
        "items": items,
        "messages": len(markers),
        "statuses": dict(collections.Counter(s for *_, s in clicks)),
        "written_in_s": round(written, 1),
        "pending_events_when_written": queued,
        "outage_s": round(up - down, 1),
        "attempts_during_the_outage": int(attempts_during[0]),
        "events_tried_during_the_outage": int(attempts_during[1]),
        "latest_next_attempt_at_return": (
            round(epoch(attempts_during[2]) - up, 1) if attempts_during[2] else None
        ),
        "delivered": len(after),
        "delivered_within_60_s_of_return": sum(1 for a in after if a <= 60),
        "all_delivered_s_after_return": round(after[-1], 1) if len(after) == len(markers) else None,
        "after_return_s": {
            "first": round(after[0], 1) if after else None,
            "p50": round(statistics.median(after), 1) if after else None,
            "p95": round(after[int(0.95 * (len(after) - 1))], 1) if after else None,
            "last": round(after[-1], 1) if after else None,
        },
        "delivered_per_10_s_after_return": {str(k): v for k, v in sorted(timeline.items())},
        "duplicates": sum(n - 1 for n in ids.values()),
        "items_out_of_order": len(out_of_order),
        "attempts_per_event": {str(a): n for a, n in attempts},
    }
    print(
        f"   delivered {result['delivered']} of {len(markers)}; all "
        f"{result['all_delivered_s_after_return']} s after the return; within 60 s: "
        f"{result['delivered_within_60_s_of_return']}; out of order: {len(out_of_order)} items; "
        f"duplicates {result['duplicates']}"
    )
    return result


# --- the run --------------------------------------------------------------------------------------


@contextlib.contextmanager
def terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the run as Ctrl-C does, so that every process is cleaned up."""
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def code_state() -> dict:
    """Which delivery code was measured: the commit, whether the outbound files differ from it,
    and whether endpoint recovery is there (it was being added while this was written)."""
    files = ["desk/outbound/delivery.py", "desk/tasks/outbound.py", "desk/cli.py"]
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    changed = subprocess.run(
        [*git, "diff", "--stat", "HEAD", "--", *files], capture_output=True, text=True
    )
    source = (ROOT / "desk/outbound/delivery.py").read_text()
    return {
        "commit": head.stdout.strip(),
        "uncommitted_changes": changed.stdout.strip().splitlines()[-1:] or None,
        "endpoint_recovery": "def recover(" in source and "def probe(" in source,
    }


def run(args) -> dict:
    rng = random.Random(args.seed)
    parts = args.parts.split(",")
    report: dict = {"parts": parts, "started": datetime.now(UTC).isoformat()}
    report["load_before"] = os.getloadavg()
    report["code"] = code_state()
    template = None if args.fresh else args.template
    began = time.perf_counter()
    prepare_database(template)
    report["database"] = {"name": DATABASE, "copy_of": template}
    print(f"{DATABASE} ready ({'copy of ' + template if template else 'empty'}) in "
          f"{time.perf_counter() - began:.0f} s")  # fmt: skip
    Redis.from_url(REDIS).flushdb()
    os.environ.setdefault("DESK_SECRET_KEY", "bench")
    app = make_app()
    professionals = max(args.concurrent, args.watched)
    made = setup(app, professionals, fresh=template is None)
    env = {
        **os.environ,
        "DATABASE_URL": PG,
        "REDIS_URL": REDIS,
        "DESK_SECRET_KEY": "bench",
        "FLASK_APP": "desk",
    }
    log = LOGS / "receiver.jsonl"
    processes = Processes(env)
    if log.exists():
        log.unlink()
    run_id = secrets.token_hex(3)
    try:
        start_receiver(processes, made["secret"], log)
        start_desk(processes, args.web, args.threads, args.workers, args.fork)
        reply_chats = args.chats if "reply" in parts else 0
        backlog_chats = args.backlog_items if "backlog" in parts else 0
        watched_count = args.watched if "screen" in parts else 0
        work = payloads(rng, reply_chats + backlog_chats, watched_count, run_id)
        refs = deliver(made["token"], work)
        items = routed(refs)
        ids = [items[ref] for ref in refs]
        pros = [Professional(u).sign_in() for u in made["usernames"]]
        # Each of the first `concurrent` professionals takes a share of the reply chats and of
        # the backlog chats; each watched item has a holder of its own.
        chats_of: dict[str, list[int]] = {p.username: [] for p in pros}
        backlog_of: dict[str, list[int]] = {p.username: [] for p in pros}
        for n, item_id in enumerate(ids[:reply_chats]):
            chats_of[pros[n % args.concurrent].username].append(item_id)
        for n, item_id in enumerate(ids[reply_chats : reply_chats + backlog_chats]):
            backlog_of[pros[n % args.concurrent].username].append(item_id)
        watched = []
        for n, ref in enumerate(refs[reply_chats + backlog_chats :]):
            watched.append((pros[n % len(pros)], (*ref, items[ref])))
        for pro in pros:
            for item_id in chats_of[pro.username] + backlog_of[pro.username]:
                pro.take(item_id)
        for pro, (_c, _e, item_id) in watched:
            pro.take(item_id)
        outbox_settled()
        with app.app_context():
            from sqlalchemy import text

            from desk.extensions import db

            from .run import machine

            report["machine"] = machine(db.engine)
            report["open_items"] = db.session.execute(
                text("SELECT count(*) FROM work_item WHERE status <> 'resolved'")
            ).scalar_one()
            db.session.remove()
            db.engine.dispose()
        report["processes"] = {
            "gunicorn_web": f"{args.web} × gthread {args.threads}",
            "rq_workers": args.workers,
            "rq_worker_class": "Worker (forks per job)" if args.fork else "SimpleWorker",
            "scheduler": 1,
            "stream_server": "gunicorn gevent, 1 worker" if "screen" in parts else None,
        }
        if "reply" in parts:
            report["reply"] = measure_replies(pros, chats_of, args, rng, log)
        if "screen" in parts:
            report["screen"] = measure_screen(pros, watched, made["token"], args)
        if "backlog" in parts:
            report["backlog"] = measure_backlog(pros, backlog_of, processes, made["secret"], log,
                                                args)  # fmt: skip
        for pro in pros:
            pro.close()
    finally:
        processes.close()
    report["load_after"] = os.getloadavg()
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="reply,screen,backlog")
    parser.add_argument("--template", default="desk_bench", help="database to copy")
    parser.add_argument("--fresh", action="store_true", help="an empty database instead")
    parser.add_argument("--web", type=int, default=4, help="gunicorn processes (gthread)")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1, help="rq workers")
    parser.add_argument("--fork", action="store_true", help="flask desk worker --fork")
    parser.add_argument("--replies", type=int, default=200, help="per reply phase")
    parser.add_argument("--chats", type=int, default=40, help="chats for the replies")
    parser.add_argument("--concurrent", type=int, default=4, help="professionals at once")
    parser.add_argument("--think", type=float, default=0.3, help="seconds between clicks (mean)")
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--watched", type=int, default=10, help="holders watching their item")
    parser.add_argument("--resident-messages", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.5, help="s between resident messages")
    parser.add_argument("--backlog-items", type=int, default=200)
    parser.add_argument("--per-item", type=int, default=10)
    parser.add_argument("--outage-seconds", type=float, default=600)
    parser.add_argument("--backlog-timeout", type=float, default=1800)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    with terminated_as_interrupt():
        report = run(args)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"\nWritten to {RESULTS}")


if __name__ == "__main__":
    main()
