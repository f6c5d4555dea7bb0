"""The soak: the production shape under a day's worth of national load, with faults.

Against `scripts/production.sh` (nginx over TLS, the pages' and the stream's gunicorns, two rq
workers, the scheduler, PostgreSQL, Redis, the IdP stand-in) on a national-scale database, for
30 minutes by default:

- **Professionals** (2,000), each signed in through the region's sign-in (the IdP stand-in) and
  behaving as the desk's pages make a browser behave: an open `/events` stream on every page
  (opened again on every page load), My work, take next, the item page with its presence poll
  every 20 s, a note, the resolution; the emergency check every 60 s and when the stream names an
  emergency in one of their queues; My work's lists fetched again when the stream names one of
  their queues (at most once a second, as `static/js/desk.js` does); the item's conversation when
  the stream names the item. Think times are those of real work: 10–30 s on My work, 1–3 min
  before the note and 2–6 min more before the resolution.
- **Deliveries** at five times the national peak (6.25 a second), open loop, in the simulator's
  mix (chats that grow, repeats, callbacks, forms, Omaolo), through nginx with one token per
  source system.
- **Faults**, once each: an rq worker killed (and started again 5 s later, as a supervisor
  would), Redis restarted (its data is not kept: `--save ""`), PostgreSQL restarted.

Reported (and written to bench/results/soak.json, with an SVG of latency over time): p50, p95
and p99 of every page and action, outside the faults' windows and overall; errors by kind;
deliveries accepted against items made; that no item was handed to two people; how long each
fault took to heal.

    scripts/production.sh stop
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/desk_prod \\
        .venv/bin/python -m bench.generate          # the national-scale data (once)
    DESK_IDP_PEOPLE=2000 scripts/production.sh start
    .venv/bin/python -m bench.soak [--minutes 30] [--professionals 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import html
import json
import os
import random
import re
import resource
import ssl
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / "instance" / "production"
RESULTS = Path(__file__).resolve().parent / "results" / "soak.json"
GRAPH = ROOT / "docs" / "soak-latency.svg"
DESK = "https://127.0.0.1:8443"
DATABASE = "postgresql://postgres@127.0.0.1:5432/desk_prod"
USER_AGENT = "Mozilla/5.0 (desk soak)"
PRODUCTION = [str(ROOT / "scripts" / "production.sh")]
#: five times the national peak: ≈15,000 items a day, a quarter of them in the busiest two hours
DELIVERY_RATE = 6.25
TIMEOUT = 60.0
#: nginx closes a keep-alive connection idle for 65 s; a browser opens a new one before that
IDLE_REUSE = 55.0
PRESENCE_POLL = 20.0
EMERGENCY_POLL = 60.0
#: how long after a fault's last error (or its part's return) its window ends
SETTLE = 10.0


# --- a small HTTP/1.1 client: thousands of connections on one asyncio loop ----------------------


class Closed(Exception):
    """The connection ended before a whole response."""


@dataclass
class Response:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[-1] if values else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def _tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the shape's self-signed certificate
    return context


TLS = _tls()


class Connection:
    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, ssl=TLS if self.tls else None, limit=2**20
        )
        self.used = time.monotonic()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    @property
    def fresh(self) -> bool:
        return self.writer is None or time.monotonic() - self.used > IDLE_REUSE

    async def send(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()

    async def head(self) -> tuple[int, dict[str, list[str]]]:
        status_line = await self.reader.readline()
        if not status_line:
            raise Closed("no status line")
        status = int(status_line.split(b" ", 2)[1])
        headers: dict[str, list[str]] = {}
        while True:
            line = await self.reader.readline()
            if not line:
                raise Closed("in the headers")
            if line in (b"\r\n", b"\n"):
                return status, headers
            name, _, value = line.decode("latin-1").partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())

    async def chunk(self) -> bytes:
        size = int((await self.reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            await self.reader.readline()
            return b""
        data = await self.reader.readexactly(size + 2)
        return data[:-2]

    async def body(self, method: str, status: int, headers: dict[str, list[str]]) -> bytes:
        if method == "HEAD" or status in (204, 304) or status < 200:
            return b""
        if "chunked" in ",".join(headers.get("transfer-encoding", [])):
            parts = []
            while part := await self.chunk():
                parts.append(part)
            return b"".join(parts)
        if "content-length" in headers:
            return await self.reader.readexactly(int(headers["content-length"][-1]))
        data = await self.reader.read()
        self.close()
        return data

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes = b""
    ) -> Response:
        reused = not self.fresh
        if not reused:
            self.close()
            await self.open()
        try:
            await self.send(method, target, headers, body)
            status, response_headers = await self.head()
        except (Closed, ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            if not reused:
                raise
            # The server closed a kept-alive connection: a browser sends once more, afresh.
            self.close()
            await self.open()
            await self.send(method, target, headers, body)
            status, response_headers = await self.head()
        data = await self.body(method, status, response_headers)
        self.used = time.monotonic()
        if "close" in ",".join(response_headers.get("connection", [])).lower():
            self.close()
        return Response(status, response_headers, data)


# --- what happened ------------------------------------------------------------------------------


@dataclass
class Record:
    at: float  # seconds since the soak began
    kind: str
    seconds: float
    outcome: int | str  # the HTTP status, or what went wrong


@dataclass
class Log:
    begun: float = field(default_factory=time.monotonic)
    records: list[Record] = field(default_factory=list)
    faults: list[dict] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)
    handed: collections.Counter = field(default_factory=collections.Counter)
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)
    sent: set[tuple[str, str]] = field(default_factory=set)
    refused: dict[tuple[str, str], int] = field(default_factory=dict)
    stream_messages: int = 0
    streams_open: int = 0
    stream_drops: int = 0

    def now(self) -> float:
        return time.monotonic() - self.begun

    def add(self, kind: str, started: float, outcome: int | str) -> None:
        self.records.append(Record(started - self.begun, kind, time.monotonic() - started, outcome))


def failed(outcome: int | str) -> bool:
    """A failure the person would see: a server error, or no answer at all."""
    return isinstance(outcome, str) or outcome >= 500


def error_kind(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, (ConnectionError, Closed, asyncio.IncompleteReadError)):
        return "connection lost"
    return type(error).__name__


# --- one professional's browser ---------------------------------------------------------------

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
LIVE_QUEUES = re.compile(r'data-live-queues="([^"]*)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
SEEN = re.compile(r'name="seen" value="([^"]*)"')
OUTCOMES = re.compile(r'<select id="resolve-outcome" name="outcome"[^>]*>(.*?)</select>', re.S)
OPTION = re.compile(r'<option value="([^"]+)"')
LOCATION_ITEM = re.compile(r"/items/(\d+)$")
NOTES = [
    "Soitettu asiakkaalle, ohjattu vastaanotolle.",
    "Kirjattu asiakastietojärjestelmään.",
    "Tarkistettu kunnan ohje.",
]


class Browser:
    """A professional's browser: one session cookie, up to six kept-alive connections for
    pages (as a browser over HTTP/1.1), and one for the open page's event stream."""

    def __init__(self, username: str, password: str, log: Log, rng: random.Random):
        self.username, self.password = username, password
        self.log, self.rng = log, rng
        self.cookies: dict[str, str] = {}
        # Kept-alive connections for pages: a browser opens up to six to one host.
        self.idle: list[Connection] = []
        self.slots = asyncio.Semaphore(6)
        self.referer = DESK + "/work"
        self.csrf = ""
        self.queues: set[str] = set()
        self.page = ""  # "work", or "item"
        self.item: int | None = None
        self.version = ""
        self.outcomes: list[str] = []
        self.seen = ""
        self.emergency_seen = 0
        self.stream: asyncio.Task | None = None
        self.timers: list[asyncio.Task] = []
        self.refresh_at: dict[str, float | str] = {}
        self.in_flight: set[str] = set()
        self.queued: set[str] = set()

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept-Language": "fi"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers | (extra or {})

    def _keep_cookies(self, response: Response) -> None:
        for value in response.headers.get("set-cookie", []):
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    async def call(
        self,
        kind: str,
        method: str,
        path: str,
        form: dict | None = None,
        *,
        htmx: bool = False,
        background: bool = False,
    ) -> Response | None:
        """One request, timed and recorded under `kind`; None when it got no answer."""
        extra: dict[str, str] = {}
        body = b""
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            extra["Content-Type"] = "application/x-www-form-urlencoded"
        if htmx:
            extra["HX-Request"] = "true"
            if self.csrf:
                extra["X-CSRFToken"] = self.csrf
        if background:
            extra["X-Desk-Background"] = "1"
        if method == "POST":
            extra["Origin"] = DESK
        extra["Referer"] = self.referer  # Flask-WTF checks it over HTTPS, as browsers send it
        async with self.slots:
            connection = self.idle.pop() if self.idle else Connection(DESK)
            started = time.monotonic()
            try:
                async with asyncio.timeout(TIMEOUT):
                    response = await connection.request(method, path, self._headers(extra), body)
            except Exception as error:  # noqa: BLE001 (every failure is recorded by its kind)
                connection.close()
                self.log.add(kind, started, error_kind(error))
                return None
            self.idle.append(connection)
        self.log.add(kind, started, response.status)
        self._keep_cookies(response)
        return response

    def close(self) -> None:
        self.close_stream()
        self._left_page()
        for connection in self.idle:
            connection.close()
        self.idle.clear()

    # -- signing in, as a person does: the desk's button, the region's form, back -------------

    async def sign_in(self) -> bool:
        started = time.monotonic()
        desk = Connection(DESK)
        try:
            async with asyncio.timeout(TIMEOUT):
                first = await desk.request("GET", "/login/sso", self._headers())
                self._keep_cookies(first)
                authorize = first.header("location") or ""
                parts = urllib.parse.urlsplit(authorize)
                idp = Connection(authorize)
                await idp.open()
                form = urllib.parse.urlencode(
                    {"username": self.username, "password": self.password}
                ).encode()
                answer = await idp.request(
                    "POST",
                    f"{parts.path}?{parts.query}",
                    {
                        "User-Agent": USER_AGENT,
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Connection": "close",
                    },
                    form,
                )
                idp.close()
                back = urllib.parse.urlsplit(answer.header("location") or "")
                done = await desk.request("GET", f"{back.path}?{back.query}", self._headers())
                self._keep_cookies(done)
        except Exception as error:  # noqa: BLE001
            desk.close()
            self.log.add("sign in", started, error_kind(error))
            return False
        self.idle.append(desk)
        ok = done.status == 302 and "/login" not in (done.header("location") or "/login")
        self.log.add("sign in", started, done.status if ok else f"refused ({done.status})")
        return ok

    # -- the page's event stream ---------------------------------------------------------------

    def open_stream(self) -> None:
        self.close_stream()
        self.stream = asyncio.create_task(self._listen())

    def close_stream(self) -> None:
        if self.stream is not None:
            self.stream.cancel()
            self.stream = None

    async def _listen(self) -> None:
        """Listen as htmx's SSE extension does: on a dropped stream the browser's EventSource
        tries again after 3 s; a refused one, with htmx's back-off (0.5 s doubling to 64 s)."""
        retry = 0
        while True:
            connection = Connection(DESK)
            started = time.monotonic()
            opened = False
            try:
                async with asyncio.timeout(TIMEOUT):
                    await connection.open()
                    await connection.send(
                        "GET", "/events", self._headers({"Accept": "text/event-stream"}), b""
                    )
                    status, headers = await connection.head()
                self.log.add("event stream", started, status)
                if status != 200:
                    raise Closed(f"status {status}")
                opened = True
                self.log.streams_open += 1
                retry = 0
                chunked = "chunked" in ",".join(headers.get("transfer-encoding", []))
                buffer = b""
                while True:
                    data = await (connection.chunk() if chunked else connection.reader.read(65536))
                    if not data:
                        raise Closed("the stream ended")
                    buffer += data
                    *events, buffer = buffer.split(b"\n\n")
                    for event in events:
                        for line in event.split(b"\n"):
                            if line.startswith(b"data: "):
                                self.log.stream_messages += 1
                                self._changed(json.loads(line[6:]))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001
                if not opened:
                    self.log.add("event stream", started, error_kind(error))
                else:
                    self.log.stream_drops += 1
            finally:
                if opened:
                    self.log.streams_open -= 1
                connection.close()
            if opened:
                await asyncio.sleep(3)
            else:
                retry = max(min(retry * 2, 128), 1)
                await asyncio.sleep(retry * 0.5 * (0.8 + 0.4 * self.rng.random()))

    def _changed(self, message: dict) -> None:
        queues, items = set(message.get("queues", [])), message.get("items", [])
        resync = not queues and not items
        if self.page == "work" and (resync or queues & self.queues):
            self._soon("lists", self._refresh_lists)
        if self.page == "item" and (resync or self.item in items):
            self._soon("conversation", self._refresh_conversation)
        if resync or set(message.get("emergencies", [])) & self.queues:
            self._background(self._element("emergency", self._emergency_check))

    def _soon(self, key: str, refresh) -> None:
        """At most once a second, never dropping the last change of a burst (desk.js)."""
        if self.refresh_at.get(key) == "pending":
            return
        wait = max(0.0, float(self.refresh_at.get(key, 0.0)) + 1.0 - time.monotonic())
        self.refresh_at[key] = "pending"

        async def later() -> None:
            await asyncio.sleep(wait)
            self.refresh_at[key] = time.monotonic()
            await self._element(key, refresh)

        self._background(later())

    async def _element(self, key: str, request) -> None:
        """htmx's default for an element whose request is in flight: the newest trigger waits
        for it (one at most), the others are dropped."""
        if key in self.in_flight:
            self.queued.add(key)
            return
        self.in_flight.add(key)
        try:
            while True:
                self.queued.discard(key)
                await request()
                if key not in self.queued:
                    break
        finally:
            self.in_flight.discard(key)

    def _background(self, work) -> None:
        task = asyncio.create_task(work)
        self.timers.append(task)
        task.add_done_callback(lambda t: t in self.timers and self.timers.remove(t))

    async def _refresh_lists(self) -> None:
        if self.page == "work":
            await self.call("My work, live refresh", "GET", "/work", htmx=True, background=True)

    async def _refresh_conversation(self) -> None:
        if self.page == "item" and self.item is not None:
            await self.call(
                "conversation, live refresh", "GET", f"/items/{self.item}/conversation", htmx=True
            )

    async def _emergency_check(self) -> None:
        response = await self.call(
            "emergency check",
            "GET",
            f"/work/emergencies?seen={self.emergency_seen}",
            htmx=True,
            background=True,
        )
        if response is not None and response.status == 200:
            with contextlib.suppress(ValueError, KeyError):
                self.emergency_seen = json.loads(response.body)["newest"] or 0

    async def _every(self, seconds: float, key: str, request) -> None:
        while True:
            await asyncio.sleep(seconds)
            self._background(self._element(key, request))

    async def _presence(self) -> None:
        if self.page == "item" and self.item is not None:
            query = urllib.parse.urlencode({"seen": self.seen})
            response = await self.call(
                "presence poll", "GET", f"/items/{self.item}/presence?{query}", htmx=True
            )
            if response is not None and response.status == 200:
                found = SEEN.search(response.text)
                self.seen = html.unescape(found.group(1)) if found else self.seen

    # -- pages ---------------------------------------------------------------------------------

    def _left_page(self) -> None:
        for task in self.timers:
            task.cancel()
        self.timers.clear()
        self.refresh_at.clear()
        self.in_flight.clear()
        self.queued.clear()

    def _arrived(self, page: str, response: Response) -> None:
        """A full page loaded: its stream and its timers start afresh."""
        self.page = page
        self.referer = DESK + ("/work" if page == "work" else f"/items/{self.item}")
        found = CSRF.search(response.text)
        if found:
            self.csrf = html.unescape(found.group(1))
        self.open_stream()
        self._background(self._every(EMERGENCY_POLL, "emergency", self._emergency_check))
        if page == "item":
            self._background(self._every(PRESENCE_POLL, "presence", self._presence))

    def _read_item(self, text: str) -> None:
        found = VERSION.search(text)
        self.version = found.group(1) if found else self.version
        select = OUTCOMES.search(text)
        if select:
            self.outcomes = OPTION.findall(select.group(1))
        found = SEEN.search(text)
        self.seen = html.unescape(found.group(1)) if found else ""

    async def my_work(self) -> bool:
        self._left_page()
        response = await self.call("My work", "GET", "/work")
        if response is None or response.status != 200:
            self.page = ""
            return False
        found = LIVE_QUEUES.search(response.text)
        if found:
            self.queues = set(found.group(1).split())
        self._arrived("work", response)
        return True

    async def take_next(self) -> int | None:
        response = await self.call(
            "take next", "POST", "/work/take-next", {"csrf_token": self.csrf}
        )
        if response is None or response.status != 302:
            return None
        found = LOCATION_ITEM.search(urllib.parse.urlsplit(response.header("location") or "").path)
        if not found:
            return None
        item = int(found.group(1))
        self.log.handed[item] += 1
        await self.leave_for_item(item)
        return item

    async def leave_for_item(self, item: int) -> None:
        self._left_page()
        self.page, self.item = "", item
        response = await self.call("item page", "GET", f"/items/{item}")
        if response is not None and response.status == 200:
            self._read_item(response.text)
            self._arrived("item", response)

    async def act(self, kind: str, verb: str, form: dict) -> bool:
        response = await self.call(
            kind,
            "POST",
            f"/items/{self.item}/{verb}",
            {"csrf_token": self.csrf, "version": self.version, **form},
            htmx=True,
        )
        if response is None or response.status not in (200, 409):
            return False
        self._read_item(response.text)
        return response.status == 200

    async def leave_item(self) -> None:
        """The page hides: its beacon says the person left the item."""
        if self.item is not None:
            await self.call(
                "presence leave",
                "POST",
                f"/items/{self.item}/presence/leave",
                {"csrf_token": self.csrf},
            )
        self.item = None

    async def work(self, until: float) -> None:
        """Rounds of real work until `until` (loop time)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(until):
                await self._rounds()
        self.close()

    async def _rounds(self) -> None:
        rng = self.rng
        while True:
            if not await self.my_work():
                await asyncio.sleep(rng.uniform(5, 15))
                continue
            await asyncio.sleep(rng.uniform(10, 30))
            item = await self.take_next()
            if item is None:
                await asyncio.sleep(rng.uniform(20, 40))
                continue
            await asyncio.sleep(rng.uniform(60, 180))
            await self.act("note", "note", {"text": rng.choice(NOTES), "template_ids": ""})
            await asyncio.sleep(rng.uniform(120, 360))
            if self.outcomes:
                await self.act(
                    "resolve",
                    "resolve",
                    {
                        "outcome": rng.choice(self.outcomes),
                        "text": "",
                        "closing": "",
                        "template_ids": "",
                    },
                )
            await self.leave_item()


# --- deliveries ---------------------------------------------------------------------------------


async def deliver(log: Log, tokens: dict[str, str], rate: float, until: float) -> None:
    """Open loop: one delivery every 1/rate seconds whatever the answers. As a source system
    does, a delivery that got no answer, 429 or a server error is sent again (after 1 s,
    doubling to 60 s) until the desk takes it; versions of one delivery (a chat that grows) go
    in order, each after the previous one was taken."""
    from desk.demo import simulate
    from desk.models import utcnow

    stream = simulate.events(random.Random(), utcnow)  # new external ids every run
    previous: dict[tuple[str, str], asyncio.Task] = {}
    connections: list[Connection] = []
    give_up = until + 600

    async def attempt(channel: str, body: bytes) -> int | str:
        connection = connections.pop() if connections else Connection(DESK)
        headers = {
            "User-Agent": "soak-source-system",
            "Content-Type": "application/json",
            "Authorization": f"Bearer {tokens[channel]}",
        }
        started = time.monotonic()
        try:
            async with asyncio.timeout(TIMEOUT):
                response = await connection.request(
                    "POST", f"/api/v1/inbound/{channel}", headers, body
                )
        except Exception as error:  # noqa: BLE001
            connection.close()
            log.add("delivery", started, error_kind(error))
            return error_kind(error)
        connections.append(connection)
        log.add("delivery", started, response.status)
        return response.status

    async def send(channel: str, payload: dict, after: asyncio.Task | None) -> None:
        if after is not None:
            with contextlib.suppress(Exception):
                await after
        key = (channel, payload["external_id"])
        log.sent.add(key)
        body = json.dumps(payload, ensure_ascii=False).encode()
        wait = 1.0
        while True:
            outcome = await attempt(channel, body)
            if isinstance(outcome, int) and outcome < 300:
                log.deliveries[key] = log.deliveries.get(key, 0) + 1
                return
            if isinstance(outcome, int) and outcome < 500 and outcome != 429:
                log.refused[key] = outcome  # the desk said no: sending again will not help
                return
            if time.monotonic() + wait > give_up:
                return
            await asyncio.sleep(wait)
            wait = min(wait * 2, 60.0)

    begun = time.monotonic()
    n = 0
    while True:
        due = begun + n / rate
        if due >= until:
            break
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        channel, payload = next(stream)
        key = (channel, payload["external_id"])
        previous[key] = asyncio.create_task(send(channel, payload, previous.get(key)))
        n += 1
    await asyncio.gather(*previous.values(), return_exceptions=True)
    for connection in connections:
        connection.close()


# --- faults -------------------------------------------------------------------------------------


async def run(*command: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    return out.decode(errors="replace").strip()


async def ready() -> int | None:
    connection = Connection(DESK)
    try:
        async with asyncio.timeout(5):
            response = await connection.request("GET", "/readyz", {"Connection": "close"})
            return response.status
    except Exception:  # noqa: BLE001
        return None
    finally:
        connection.close()


async def until_ready(limit: float = 600) -> float:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await ready() == 200:
            return time.monotonic()
        await asyncio.sleep(0.5)
    return time.monotonic()


def pg_cluster() -> str:
    versions = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".")])
    return versions[-1]


CLUSTER = "<the newest PostgreSQL cluster>"  # read when the fault comes (pg_cluster)
FAULTS = {
    "rq worker killed": (
        [*PRODUCTION, "kill", "worker1"],
        5.0,
        [*PRODUCTION, "revive", "worker1"],
    ),
    "Redis restarted": (
        ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
        1.0,
        [str(ROOT / "scripts" / "services.sh")],
    ),
    "PostgreSQL restarted": (
        ["pg_ctlcluster", "--skip-systemctl-redirect", CLUSTER, "main", "restart"],
        0.0,
        None,
    ),
}


async def faults(log: Log, schedule: list[tuple[float, str]]) -> None:
    for at, name in schedule:
        await asyncio.sleep(max(0.0, log.begun + at - time.monotonic()))
        stop, pause, start = FAULTS[name]
        stop = [pg_cluster() if part == CLUSTER else part for part in stop]
        began = log.now()
        print(f"[{began:7.1f} s] fault: {name}", flush=True)
        said = await run(*stop)
        await asyncio.sleep(pause)
        if start:
            said += "\n" + await run(*start)
        back = await until_ready()
        log.faults.append(
            {
                "fault": name,
                "at": round(began, 1),
                "ready_after": round(back - log.begun - began, 1),
                "output": said[-400:],
            }
        )
        print(
            f"[{log.now():7.1f} s] {name}: ready again after {log.faults[-1]['ready_after']} s",
            flush=True,
        )


async def sample(log: Log, until: float) -> None:
    """Every 5 s: the machine's load, readiness, open streams, this process's CPU."""
    while time.monotonic() < until:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        log.samples.append(
            {
                "at": round(log.now(), 1),
                "load": os.getloadavg()[0],
                "ready": await ready(),
                "streams": log.streams_open,
                "generator_cpu": round(usage.ru_utime + usage.ru_stime, 1),
            }
        )
        await asyncio.sleep(5)


# --- setting up and checking --------------------------------------------------------------------


def people() -> tuple[list[str], str]:
    data = json.loads((STATE / "people.json").read_text())
    names = sorted(p["username"] for p in data["people"] if "desk-professional" in p["roles"])
    return names, data["password"]


def tokens() -> dict[str, str]:
    """One token per source system (channel), made for this soak."""
    made = {}
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    for channel in ("chat", "callback", "eform", "help-request", "omaolo"):
        out = subprocess.run(
            [
                *PRODUCTION,
                "run",
                str(ROOT / ".venv" / "bin" / "flask"),
                "desk",
                "token",
                "create",
                "--name",
                f"soak {channel} {stamp}",
                "--channel",
                channel,
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
        made[channel] = out.strip().splitlines()[-1]
    return made


def give_queues(usernames: list[str], seed: int) -> None:
    """Team leads' work: each professional in 3–6 of the queues (every queue has members)."""
    rng = random.Random(seed)
    with psycopg.connect(DATABASE) as c:
        queues = [r[0] for r in c.execute("SELECT code FROM queue ORDER BY code")]
        ids = dict(
            c.execute(
                "SELECT username, id FROM user_account WHERE username = ANY(%s)", [usernames]
            ).fetchall()
        )
        rows = []
        for n, name in enumerate(usernames):
            first = queues[n % len(queues)]
            rest = rng.sample([q for q in queues if q != first], rng.randint(2, 5))
            rows += [(ids[name], q) for q in [first, *rest]]
        with c.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO queue_membership (user_id, queue_code) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING",
                rows,
            )


def check_items(log: Log, since: datetime, wait: float = 600) -> dict:
    """Every accepted delivery made exactly one item (once routing caught up), and no item was
    handed to two people."""
    keys = list(log.deliveries)
    deadline = time.monotonic() + wait
    with psycopg.connect(DATABASE, autocommit=True) as c:
        while True:
            pending = c.execute(
                "SELECT count(*) FROM inbound_delivery WHERE received_at >= %s "
                "AND (applied_hash IS DISTINCT FROM content_hash)",
                [since],
            ).fetchone()[0]
            if pending == 0 or time.monotonic() > deadline:
                break
            time.sleep(2)
        channels = [k[0] for k in keys]
        external = [k[1] for k in keys]
        found = dict(
            ((channel, external_id), count)
            for channel, external_id, count in c.execute(
                "SELECT w.channel, w.external_id, count(*) FROM work_item w "
                "JOIN unnest(%s::text[], %s::text[]) AS k(channel, external_id) "
                "ON w.channel = k.channel AND w.external_id = k.external_id "
                "GROUP BY 1, 2",
                [channels, external],
            )
        )
        taken_twice = c.execute(
            "SELECT count(*) FROM (SELECT item_id FROM item_event WHERE kind = 'taken' "
            "AND at >= %s GROUP BY item_id HAVING count(*) > 1) AS t",
            [since],
        ).fetchone()[0]
        made_since = c.execute(
            "SELECT count(*) FROM work_item WHERE created_at >= %s", [since]
        ).fetchone()[0]
    return {
        "deliveries_sent": len(log.sent),
        "deliveries_never_accepted": len(log.sent - set(keys)),
        "deliveries_refused": dict(collections.Counter(log.refused.values())),
        "deliveries_accepted": sum(log.deliveries.values()),
        "distinct_deliveries_accepted": len(keys),
        "items_made_for_them": sum(1 for k in keys if found.get(k, 0) >= 1),
        "missing": sum(1 for k in keys if k not in found),
        "doubled": sum(1 for count in found.values() if count > 1),
        "items_created_during_soak": made_since,
        "still_unrouted_after_wait": pending,
        "handed_out": len(log.handed),
        "handed_to_two": sum(1 for count in log.handed.values() if count > 1),
        "taken_twice_in_database": taken_twice,
    }


def intake_lag(since: datetime, windows: list) -> dict:
    """From a delivery's acceptance to its item's routing (the first version of each), overall
    and for the deliveries accepted in each fault's window."""
    with psycopg.connect(DATABASE) as c:
        rows = c.execute(
            "SELECT extract(epoch FROM d.received_at - %(since)s), "
            "extract(epoch FROM min(e.at) - d.received_at) "
            "FROM inbound_delivery d JOIN item_event e "
            "ON e.item_id = d.item_id AND e.kind = 'routed' "
            "WHERE d.received_at >= %(since)s GROUP BY d.id",
            {"since": since},
        ).fetchall()

    def figures(lags: list[float]) -> dict:
        if not lags:
            return {"n": 0}
        return {
            "n": len(lags),
            "p50_s": round(percentile(lags, 0.5), 2),
            "p95_s": round(percentile(lags, 0.95), 2),
            "max_s": round(max(lags), 2),
        }

    lags = [(float(at), float(lag)) for at, lag in rows]
    result = {"overall": figures([lag for _, lag in lags])}
    for start, end, name in windows:
        result[name] = figures([lag for at, lag in lags if start <= at <= end])
    return result


# --- the report ---------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def fault_windows(log: Log) -> list[tuple[float, float, str]]:
    windows = []
    for n, fault in enumerate(log.faults):
        start = fault["at"]
        end_limit = log.faults[n + 1]["at"] if n + 1 < len(log.faults) else float("inf")
        # A failure belongs to the fault during which it was answered (or given up on).
        errors = [
            r.at + r.seconds
            for r in log.records
            if start <= r.at + r.seconds < end_limit and failed(r.outcome)
        ]
        last_error = max(errors, default=start)
        fault["errors"] = len(errors)
        fault["errors_until"] = round(last_error - start, 1)
        end = max(last_error, start + fault["ready_after"]) + SETTLE
        fault["window"] = [round(start, 1), round(end, 1)]
        windows.append((start, end, fault["fault"]))
    return windows


def summarise(records: list[Record]) -> dict:
    by_kind: dict[str, list[Record]] = collections.defaultdict(list)
    for r in records:
        by_kind[r.kind].append(r)
    table = {}
    for kind, rs in sorted(by_kind.items()):
        answered = [r.seconds * 1000 for r in rs if not failed(r.outcome)]
        outcomes = collections.Counter(str(r.outcome) for r in rs)
        table[kind] = {
            "n": len(rs),
            "p50_ms": round(percentile(answered, 0.5), 1) if answered else None,
            "p95_ms": round(percentile(answered, 0.95), 1) if answered else None,
            "p99_ms": round(percentile(answered, 0.99), 1) if answered else None,
            "outcomes": dict(outcomes.most_common()),
        }
    return table


def over_time(log: Log, bucket: float = 15.0) -> list[dict]:
    """p50 and p95 of pages and actions (not the stream, not deliveries) per bucket."""
    buckets: dict[int, list[Record]] = collections.defaultdict(list)
    for r in log.records:
        if r.kind not in ("event stream", "sign in"):
            buckets[int(r.at // bucket)].append(r)
    rows = []
    for b in sorted(buckets):
        rs = buckets[b]
        answered = [r.seconds * 1000 for r in rs if not failed(r.outcome)]
        rows.append(
            {
                "at": b * bucket,
                "requests_per_s": round(len(rs) / bucket, 1),
                "p50_ms": round(percentile(answered, 0.5), 1) if answered else None,
                "p95_ms": round(percentile(answered, 0.95), 1) if answered else None,
                "errors": sum(1 for r in rs if failed(r.outcome)),
            }
        )
    return rows


def svg(rows: list[dict], windows: list[tuple[float, float, str]], title: str) -> str:
    """Latency over time: p50 and p95 (log scale), the faults' windows shaded."""
    import math

    width, height, left, right, top, bottom = 960, 360, 64, 16, 40, 48
    span = max((r["at"] for r in rows), default=1) + 15
    low, high = 1.0, max([r["p95_ms"] or 1 for r in rows] + [1000])
    high = 10 ** math.ceil(math.log10(high))

    def x(t: float) -> float:
        return left + (width - left - right) * t / span

    def y(ms: float) -> float:
        ms = max(low, ms)
        return top + (height - top - bottom) * (1 - math.log10(ms / low) / math.log10(high / low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'font-family="sans-serif" font-size="12" role="img" aria-labelledby="t">',
        f'<title id="t">{html.escape(title)}</title>',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{left}" y="22" font-size="14">{html.escape(title)}</text>',
    ]
    for start, end, name in windows:
        parts.append(
            f'<rect x="{x(start):.1f}" y="{top}" width="{max(2, x(end) - x(start)):.1f}" '
            f'height="{height - top - bottom}" fill="#fde2c8"/>'
            f'<text x="{x(start) + 3:.1f}" y="{top + 14}" fill="#8a4500">{html.escape(name)}</text>'
        )
    decade = low
    while decade <= high:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(decade):.1f}" y2="{y(decade):.1f}" '
            f'stroke="#ddd"/><text x="{left - 6}" y="{y(decade) + 4:.1f}" text-anchor="end">'
            f"{decade:g} ms</text>"
        )
        decade *= 10
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{y(300):.1f}" y2="{y(300):.1f}" '
        f'stroke="#b00" stroke-dasharray="4 3"/><text x="{width - right}" y="{y(300) - 4:.1f}" '
        f'text-anchor="end" fill="#b00">300 ms</text>'
    )
    for minute in range(0, int(span // 60) + 1, 5):
        parts.append(
            f'<text x="{x(minute * 60):.1f}" y="{height - bottom + 16}" text-anchor="middle">'
            f"{minute} min</text>"
        )
    for key, colour, label in (("p50_ms", "#1f5fa8", "p50"), ("p95_ms", "#d0661a", "p95")):
        points = " ".join(
            f"{x(r['at'] + 7.5):.1f},{y(r[key]):.1f}" for r in rows if r[key] is not None
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
        )
        at = 120 if key == "p50_ms" else 180
        parts.append(
            f'<line x1="{left + at}" x2="{left + at + 20}" y1="{height - 12}" y2="{height - 12}" '
            f'stroke="{colour}" stroke-width="2"/><text x="{left + at + 24}" y="{height - 8}">'
            f"{label}</text>"
        )
    errors = [r for r in rows if r["errors"]]
    for r in errors:
        parts.append(
            f'<circle cx="{x(r["at"] + 7.5):.1f}" cy="{height - bottom - 4}" r="3" '
            f'fill="#b00"><title>{r["errors"]} errors</title></circle>'
        )
    parts.append(
        f'<text x="{left + 240}" y="{height - 8}">● requests that failed (5xx or no answer) '
        "in that 15 s</text></svg>"
    )
    return "\n".join(parts) + "\n"


# --- the soak -----------------------------------------------------------------------------------


async def soak(args) -> dict:
    log = Log()
    usernames, password = people()
    usernames = usernames[: args.professionals]
    if len(usernames) < args.professionals:
        raise SystemExit(
            f"the IdP knows {len(usernames)} professionals: start the shape with "
            f"DESK_IDP_PEOPLE={args.professionals} scripts/production.sh start"
        )
    rng = random.Random(args.seed)
    browsers = [Browser(name, password, log, random.Random(rng.random())) for name in usernames]
    print(f"signing in {len(browsers)} professionals…", flush=True)
    gate = asyncio.Semaphore(16)

    async def signed_in(b: Browser) -> bool:
        async with gate:
            return await b.sign_in()

    results = await asyncio.gather(*(signed_in(b) for b in browsers))
    if not all(results):
        raise SystemExit(f"{results.count(False)} sign-ins failed: {summarise(log.records)}")
    give_queues(usernames, args.seed)
    access = await asyncio.to_thread(tokens)
    log.records.clear()

    since = datetime.now(UTC)
    log.begun = time.monotonic()
    until = log.begun + args.minutes * 60
    print(
        f"soak: {args.minutes} min, {len(browsers)} professionals, {args.rate} deliveries a second",
        flush=True,
    )
    schedule = [
        (args.minutes * 60 * share, name)
        for share, name in zip((0.27, 0.5, 0.73), FAULTS, strict=True)
    ]
    if args.no_faults:
        schedule = []

    async def begin(b: Browser) -> None:
        # Arriving over the first minutes, as a shift does.
        await asyncio.sleep(rng.uniform(0, min(args.ramp, args.minutes * 30)))
        await b.work(until)

    tasks = [asyncio.create_task(begin(b)) for b in browsers]
    tasks.append(asyncio.create_task(deliver(log, access, args.rate, until)))
    side = [asyncio.create_task(faults(log, schedule)), asyncio.create_task(sample(log, until))]

    async def progress() -> None:
        while time.monotonic() < until:
            await asyncio.sleep(60)
            recent = [r for r in log.records if r.at + r.seconds > log.now() - 60]
            answered = [r.seconds * 1000 for r in recent if not failed(r.outcome)]
            print(
                f"[{log.now():7.1f} s] {len(recent) / 60:.0f} req/s, p50 "
                f"{percentile(answered, 0.5) if answered else 0:.0f} ms, p95 "
                f"{percentile(answered, 0.95) if answered else 0:.0f} ms, failed "
                f"{sum(1 for r in recent if failed(r.outcome))}, streams {log.streams_open}, "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )

    side.append(asyncio.create_task(progress()))
    await asyncio.gather(*tasks)
    for task in side[1:]:
        task.cancel()
    await asyncio.gather(*side, return_exceptions=True)
    for b in browsers:
        b.close()
    ended = log.now()

    print("checking items…", flush=True)
    items = check_items(log, since)
    windows = fault_windows(log)

    def outside(r: Record) -> bool:
        return not any(start <= r.at <= end for start, end, _ in windows)

    calm = [r for r in log.records if outside(r)]
    errors_outside = collections.Counter(
        f"{r.kind}: {r.outcome}" for r in calm if failed(r.outcome)
    )
    errors_all = collections.Counter(
        f"{r.kind}: {r.outcome}" for r in log.records if failed(r.outcome)
    )
    return {
        "when": since.isoformat(timespec="seconds"),
        "minutes": round(ended / 60, 1),
        "professionals": len(browsers),
        "delivery_rate": args.rate,
        "outside_faults": summarise(calm),
        "overall": summarise(log.records),
        "errors_outside_faults": dict(errors_outside.most_common()),
        "errors_overall": dict(errors_all.most_common()),
        "faults": log.faults,
        "items": items,
        "intake_lag": intake_lag(since, windows),
        "stream": {"messages_received": log.stream_messages, "drops": log.stream_drops},
        "over_time": over_time(log),
        "samples": log.samples,
        "windows": windows,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--professionals", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=DELIVERY_RATE, help="deliveries a second")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument(
        "--ramp", type=float, default=300, help="seconds over which the professionals arrive"
    )
    parser.add_argument("--no-faults", action="store_true")
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.professionals * 3:
        sys.exit(f"open files: {hard} allowed, {args.professionals * 3} needed")
    result = asyncio.run(soak(args))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    GRAPH.write_text(
        svg(
            result["over_time"],
            result["windows"],
            f"Soak: {result['professionals']} professionals, {result['delivery_rate']} "
            f"deliveries/s, {result['minutes']} min: latency of pages and actions (15 s buckets)",
        )
    )
    print(
        json.dumps(
            {
                k: result[k]
                for k in ("outside_faults", "errors_outside_faults", "faults", "items", "stream")
            },
            indent=1,
        )
    )
    print(f"written: {RESULTS}, {GRAPH}")


if __name__ == "__main__":
    main()
