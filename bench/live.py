"""Live-update benchmark: how long a committed change takes to reach 1,000 open pages.

Real parts, as in production: the event stream served by gunicorn with one gevent worker
(README, "Production"), Redis pub/sub, PostgreSQL (`desk_bench`). The benchmark signs in once
over HTTP, opens the pages' event streams (`GET /events`, the same request htmx's SSE extension
makes) from one asyncio loop, then commits real changes (take, then release, of an open item)
through the desk's domain code, one every half second. Each stream notes when each change
arrives; the delay is measured from just before the commit to the arrival, on one clock.

    python -m bench.live [--clients 1000] [--changes 40]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import contextlib
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REDIS = "redis://127.0.0.1:6379/12"
PORT = 5088
USER_AGENT = "desk-live-bench"
#: production's pages server takes at most 10 connections a worker (README, "Production"):
#: a busy worker leaves new ones to the others rather than queueing them behind its threads
PAGES_WORKER_CONNECTIONS = 10
PAGES_CONNECTIONS = ("--worker-connections", str(PAGES_WORKER_CONNECTIONS))
RESULTS = Path(__file__).resolve().parent / "results" / "live.json"


def stream_server(database_url: str, redis_url: str, port: int, secret: str):
    """The desk under gunicorn with one gevent worker, as the stream is served in production;
    yields its base URL."""
    return served(
        database_url,
        redis_url,
        port,
        secret,
        ["-k", "gevent", "-w", "1", "--worker-connections", "5000"],
    )


@contextmanager
def served(
    database_url: str, redis_url: str, port: int, secret: str, workers: list[str]
) -> Iterator[str]:
    """The desk under gunicorn with `workers` (its worker arguments); yields its base URL."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DESK_SECRET_KEY": secret,
        "FLASK_APP": "desk",
    }
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            *workers,
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "-c",
            "python:bench.gunicorn_debug",
            "desk:create_app()",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/login", timeout=1)  # noqa: S310
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError("the server exited") from None
                time.sleep(0.2)
        else:
            raise RuntimeError("the server did not start")
        try:
            yield base
        except BaseException:
            _dump_worker_stacks(process)
            raise
    finally:
        # A quick shutdown: a graceful one would wait for the open streams to end.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            # The whole group: a worker left behind would keep the port and answer the next run.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _dump_worker_stacks(server: subprocess.Popen) -> None:
    """Ask the server's worker for its greenlets' stacks (bench/gunicorn_debug.py)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    for pid in children.read_text().split() if children.exists() else []:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGUSR2)
    time.sleep(2)
    # The kernel's view of the server's port: the listening socket's accept queue, and the
    # states of the connections on the server's side and on the clients'.
    port = int(re.search(r":(\d+)$", server.args[server.args.index("-b") + 1])[1])
    server_side: collections.Counter = collections.Counter()
    client_side: collections.Counter = collections.Counter()
    backlog = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state = fields[1], fields[2], TCP_STATES.get(fields[3], fields[3])
        if int(local.split(":")[1], 16) == port:
            server_side[state] += 1
            if state == "LISTEN":
                backlog.append(int(fields[4].split(":")[1], 16))
        elif int(remote.split(":")[1], 16) == port:
            client_side[state] += 1
    sys.stderr.write(
        f"port {port}: accept queue {backlog}; server side {dict(server_side)}; "
        f"client side {dict(client_side)}\n"
    )


TCP_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}


def sign_in(base: str, username: str, password: str) -> str:
    """Sign in through the login form; the session cookie as a `Cookie` header value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    # Sessions are bound to the browser that signed in (Flask-Login's strong protection).
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(base + "/login", timeout=10).read().decode()
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"csrf_token": token, "username": username, "password": password}
    ).encode()
    response = opener.open(base + "/login", data=form, timeout=10)
    if not response.geturl().endswith("/work"):
        raise RuntimeError(f"sign-in as {username} failed")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


class Pages:
    """`count` open pages listening to the event stream (`path`), each noting (arrival, data)
    of every change it receives, and of the lists pushed to it (`pushes`). Runs its own
    asyncio loop in a thread."""

    def __init__(self, base: str, cookie: str, count: int, path: str = "/events") -> None:
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.cookie = cookie
        self.count = count
        self.path = path
        self.arrivals: list[list[tuple[float, str]]] = [[] for _ in range(count)]
        self.pushes: list[list[tuple[float, str]]] = [[] for _ in range(count)]
        self.connected = 0
        self.failed: list[str] = []
        # Where each page is, for a clear report when some never connect.
        self.stages = ["connecting"] * count
        self._pages: list[concurrent.futures.Future] = []
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _page(self, n: int) -> None:
        writer = None
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port, limit=2**22)
            self.stages[n] = "awaiting the status line"
            writer.write(
                (
                    f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                    f"User-Agent: {USER_AGENT}\r\nAccept: text/event-stream\r\n"
                    f"Cookie: {self.cookie}\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            status = await reader.readline()
            if b" 200 " not in status:
                raise RuntimeError(status.decode().strip())
            self.stages[n] = "awaiting the first event"
            name = b"change"
            async for raw in reader:
                line = raw.strip()
                if line.startswith(b": connected"):
                    self.stages[n] = "connected"
                    self.connected += 1
                    if self.connected == self.count:
                        self._ready.set()
                elif line.startswith(b"event: "):
                    name = line[7:]
                elif line.startswith(b"data: "):
                    got = self.pushes if name == b"lists" else self.arrivals
                    got[n].append((time.time(), line[6:].decode()))
                    name = b"change"
            self.stages[n] = "stream ended"
        except Exception as error:  # noqa: BLE001 (every failure is reported)
            self.stages[n] = "failed"
            self.failed.append(f"page {n}: {error!r}")
            self._ready.set()
        finally:
            if writer is not None:
                writer.close()

    def open(self, timeout: float = 120) -> None:
        self._thread.start()
        for n in range(self.count):
            # Held here: the loop keeps only weak references to its tasks, and a page's task is
            # otherwise reachable only from its own stream (the protocol holds the reader
            # weakly), so the garbage collector would end pages at random.
            self._pages.append(asyncio.run_coroutine_threadsafe(self._page(n), self._loop))
        if not self._ready.wait(timeout) or self.failed:
            stuck = collections.Counter(s for s in self.stages if s != "connected")
            raise RuntimeError(
                f"{self.connected} of {self.count} pages connected; "
                f"failed: {self.failed[:3]}; not connected: {dict(stuck)}"
            )

    def wait_for(self, events: int, timeout: float = 30) -> None:
        """Until every page has received `events` changes."""
        deadline = time.monotonic() + timeout
        while min(len(a) for a in self.arrivals) < events:
            if time.monotonic() > deadline:
                got = sorted(len(a) for a in self.arrivals)
                raise RuntimeError(f"pages received {got[0]}–{got[-1]} of {events} changes")
            time.sleep(0.02)

    async def _cancel(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._cancel(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(clients: int, changes: int, interval: float) -> dict:
    from redis import Redis
    from sqlalchemy import select

    from desk import create_app
    from desk.extensions import db
    from desk.models import ItemStatus, User, WorkItem
    from desk.work import lifecycle

    from . import generate
    from .run import machine

    if not generate.has_items():
        raise SystemExit("desk_bench holds no items: run python -m bench.generate first")
    Redis.from_url(REDIS).flushdb()
    app = create_app({**generate.bench_config(), "REDIS_URL": REDIS, "DESK_JOBS_INLINE": True})
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "bench001"))
        item = db.session.scalar(
            select(WorkItem)
            .where(
                WorkItem.status == ItemStatus.NEW.value,
                WorkItem.assignee_id.is_(None),
                WorkItem.queue_code.in_(user.queue_codes),
            )
            .limit(1)
        )
        item_id, user_id, queue = item.id, user.id, item.queue_code
        db.session.remove()

    with stream_server(generate.DATABASE_URL, REDIS, PORT, "bench") as base:
        cookie = sign_in(base, "bench001", generate.PASSWORD)
        pages = Pages(base, cookie, clients)
        started = time.perf_counter()
        pages.open()
        connect_seconds = time.perf_counter() - started
        committed_at: list[float] = []
        try:
            with app.app_context():
                for n in range(changes):
                    item = db.session.get(WorkItem, item_id)
                    user = db.session.get(User, user_id)
                    if n % 2 == 0:
                        lifecycle.take(db.session, item, user)
                    else:
                        lifecycle.release(db.session, item, user)
                    committed_at.append(time.time())
                    db.session.commit()
                    db.session.remove()
                    time.sleep(interval)
                if changes % 2:  # leave the item as it was
                    lifecycle.release(
                        db.session, db.session.get(WorkItem, item_id), db.session.get(User, user_id)
                    )
                    db.session.commit()
                engine = db.engine
                about = machine(engine)
            pages.wait_for(changes)
        finally:
            pages.close()

    delays, last_page = [], []
    for k, at in enumerate(committed_at):
        arrivals = [page[k][0] - at for page in pages.arrivals]
        delays.extend(arrivals)
        last_page.append(max(arrivals))
    for page in pages.arrivals:
        assert all(json.loads(data)["queues"] == [queue] for _, data in page[:changes])
    return {
        "clients": clients,
        "changes": changes,
        "connect_all_seconds": round(connect_seconds, 2),
        "delay_ms": {
            "p50": round(_percentile(delays, 0.5) * 1000, 1),
            "p95": round(_percentile(delays, 0.95) * 1000, 1),
            "max": round(max(delays) * 1000, 1),
        },
        "last_page_ms": {
            "p50": round(_percentile(last_page, 0.5) * 1000, 1),
            "p95": round(_percentile(last_page, 0.95) * 1000, 1),
            "max": round(max(last_page) * 1000, 1),
        },
        "machine": about,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between changes")
    args = parser.parse_args(argv)
    result = run(args.clients, args.changes, args.interval)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(
        f"{result['clients']} pages connected in {result['connect_all_seconds']} s; "
        f"{result['changes']} changes"
    )
    d, last = result["delay_ms"], result["last_page_ms"]
    print(f"change → a page:       p50 {d['p50']} ms, p95 {d['p95']} ms, max {d['max']} ms")
    print(
        f"change → every page:   p50 {last['p50']} ms, p95 {last['p95']} ms, max {last['max']} ms"
    )


if __name__ == "__main__":
    main()
