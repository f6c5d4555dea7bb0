"""Redis and the database failing under the production configuration: rate limits and
presence on, Redis, an rq worker and the scheduler as real processes (`flask desk worker`,
`flask desk scheduler`). Each test starts its own redis-server, so killing it disturbs nobody,
and cuts the database only behind a proxy of its own (the shared PostgreSQL stays up)."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import func, make_url, select, text
from sqlalchemy.orm import Session

from desk import create_app
from desk.config import from_environment
from desk.extensions import db
from desk.inbound import tokens
from desk.inbound.receive import receive
from desk.models import InboundDelivery, Role, WorkItem
from desk.ratelimit import FallbackLimiter, Limit, MemoryLimiter, RedisLimiter
from desk.tasks import PAUSE_SECONDS, Breaker, RedisSkipped, enqueue, redis_client
from desk.tasks.inbound import process_delivery
from tests.conftest import PG_URL
from tests.factories import CHANNELS, make_item, make_user
from tests.test_faults import _free_port, _start_redis, _wait_for_lock_waiter, delivery
from tests.web import Browser
from tests.web import text as page_text

ROOT = Path(__file__).resolve().parents[1]


# --- the production shape, in a test ----------------------------------------------------------


class RedisServer:
    """A redis-server of this test's own, on a free port, that the test kills and restarts."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = _start_redis(self.port)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def restart(self) -> None:
        self.process = _start_redis(self.port)  # empty: the queued jobs are gone too

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


@contextmanager
def production_app(app, database_url: str, redis_url: str):
    """The desk as configured in production (the environment's defaults: rate limits and
    presence on, jobs on Redis), on `database_url`; only the sign-in is local."""
    production = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "faults",
            "REDIS_URL": redis_url,
            "DESK_JOBS_INLINE": False,
            # The training space's database that the session's app has already migrated.
            "DESK_TRAINING_DATABASE_URL": app.config["DESK_TRAINING_DATABASE_URL"],
        }
    )
    defaults = from_environment(production.instance_path)["DESK_RATE_LIMITS"]
    assert production.config["DESK_RATE_LIMITS"] == defaults
    assert all(not limit.startswith("0/") for limit in defaults.values())
    try:
        yield production
    finally:
        with production.app_context():
            db.engine.dispose()


class DeskProcess:
    """`flask desk <command>` as its own process (a new session, so it is killed whole)."""

    def __init__(self, command: list[str], database_url: str, redis_url: str, log: Path):
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "desk", *command],
                cwd=ROOT,
                env={
                    **os.environ,
                    "FLASK_APP": "desk",
                    "DATABASE_URL": database_url,
                    "REDIS_URL": redis_url,
                    "DESK_SECRET_KEY": "faults",
                },
                start_new_session=True,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.running:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextmanager
def worker_and_scheduler(database_url: str, redis_url: str, logs: Path):
    """The production worker and scheduler, started and waited for (their Redis keys)."""
    worker = DeskProcess(["worker"], database_url, redis_url, logs / "worker.log")
    scheduler = DeskProcess(["scheduler"], database_url, redis_url, logs / "scheduler.log")
    try:
        redis = Redis.from_url(redis_url)
        wait_until(
            lambda: redis.exists("desk:scheduler") and redis.scard("rq:workers"),
            60,  # a loaded 2-core machine starts Flask slowly
            lambda: f"worker or scheduler never started:\n{worker.output()}\n{scheduler.output()}",
        )
        redis.close()
        yield worker, scheduler
    finally:
        worker.stop()
        scheduler.stop()


def wait_until(condition: Callable[[], object], timeout: float, message) -> float:
    """Poll `condition` until it holds; the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(0.2)
    return time.monotonic() - started


class Traffic:
    """Deliveries posted at a steady rate from several threads, as source systems send them;
    a `503` is sent again after its Retry-After, as the contract asks of them."""

    def __init__(self, app, secret: str, prefix: str, rate: float, retry: bool = False):
        self.app, self.secret, self.prefix, self.rate, self.retry = app, secret, prefix, rate, retry
        self.answers: list[tuple[float, str, int, str | None]] = []
        self.sent = 0
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(6)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._retries: list[threading.Timer] = []

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        while any(timer.is_alive() for timer in list(self._retries)):  # the retries still due
            time.sleep(0.1)
        self._pool.shutdown(wait=True)

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set():
            self._pool.submit(self._post, f"{self.prefix}-{self.sent}")
            self.sent += 1
            self._stop.wait(max(0.0, started + self.sent / self.rate - time.monotonic()))

    def _post(self, external_id: str) -> None:
        payload = delivery(external_id)
        payload["external_id"] = external_id
        response = self.app.test_client().post(
            "/api/v1/inbound/help-request",
            json=payload,
            headers={"Authorization": f"Bearer {self.secret}"},
        )
        retry_after = response.headers.get("Retry-After")
        self.answers.append((time.monotonic(), external_id, response.status_code, retry_after))
        if response.status_code == 503 and self.retry:
            timer = threading.Timer(int(retry_after), self._pool.submit, (self._post, external_id))
            self._retries.append(timer)
            timer.start()

    def final(self) -> dict[str, int]:
        """Each delivery's last answer."""
        return {external_id: status for _, external_id, status, _ in self.answers}


def stored(engine) -> dict[str, int]:
    """Deliveries stored, items made, deliveries still without an item, and items that more
    than one delivery points to."""
    with Session(engine) as s:
        return {
            "stored": s.scalar(select(func.count()).select_from(InboundDelivery)),
            "items": s.scalar(select(func.count()).select_from(WorkItem)),
            "pending": s.scalar(
                select(func.count())
                .select_from(InboundDelivery)
                .where(InboundDelivery.item_id.is_(None))
            ),
            "shared": s.scalar(
                text(
                    "SELECT count(*) FROM (SELECT item_id FROM inbound_delivery "
                    "WHERE item_id IS NOT NULL GROUP BY item_id HAVING count(*) > 1) x"
                )
            ),
        }


@pytest.fixture
def secret(app, committed) -> str:
    with app.app_context():
        _, value = tokens.create(db.session, "Redis fault tests", ["help-request"])
        db.session.commit()
    return value


# --- Redis killed while deliveries arrive -----------------------------------------------------


def test_deliveries_during_a_redis_outage_are_all_accepted_and_each_becomes_one_item(
    app, committed, secret, redis_server, tmp_path, capsys
):
    with (
        production_app(app, PG_URL, redis_server.url) as production,
        worker_and_scheduler(PG_URL, redis_server.url, tmp_path) as (worker, scheduler),
    ):
        with Traffic(production, secret, "outage", rate=30) as traffic:
            time.sleep(3)
            redis_server.kill()
            down = time.monotonic()
            time.sleep(8)
            redis_server.restart()
            back = time.monotonic()
        # No delivery after Redis is back: what arrived before and during the outage is
        # routed without waiting for new traffic (or for the sweep's 30-second grace).
        answers = traffic.final()
        accepted = [e for e, status in answers.items() if status in (200, 202)]
        during = [s for t, _, s, _ in traffic.answers if down <= t <= back]
        wait_until(
            lambda: stored(committed)["items"] >= len(accepted),
            30,
            lambda: f"not routed: {stored(committed)}\n{worker.output()}",
        )
        routed_after = time.monotonic() - back
        figures = {"sent": traffic.sent, "accepted": len(accepted), **stored(committed)}
        with capsys.disabled():
            print(
                f"\nRedis down 8 s, 30 deliveries/s: {figures}, {len(during)} during the "
                f"outage; all routed {routed_after:.1f} s after Redis returned"
            )
        assert len(during) > 100, "the outage saw too few deliveries to mean anything"
        assert sorted(set(answers.values())) == [202], figures
        assert len(answers) == traffic.sent
        assert figures["stored"] == figures["items"] == figures["accepted"] == traffic.sent
        assert figures["pending"] == 0 and figures["shared"] == 0
        # The worker and scheduler started before the outage did it: nobody restarted them.
        assert worker.running, worker.output()
        assert scheduler.running, scheduler.output()


def test_a_worker_caught_mid_job_by_a_redis_outage_keeps_running_and_works_after_it(
    app, committed, redis_server, tmp_path
):
    def stored_delivery(name: str) -> str:
        delivery_id = receive(db.session, CHANNELS.get("help-request"), delivery(name)).delivery_id
        db.session.commit()
        return delivery_id

    with production_app(app, PG_URL, redis_server.url) as production:
        with production.app_context():
            caught = stored_delivery("caught")
            enqueue(process_delivery, caught, job_id=f"delivery-{caught}")
        worker = DeskProcess(["worker"], PG_URL, redis_server.url, tmp_path / "worker.log")
        try:
            # The job waits for the delivery's row; Redis dies under it; then the job ends
            # and rq cannot record it.
            with committed.connect() as blocker:
                blocker.execute(
                    text("SELECT id FROM inbound_delivery WHERE id = :id FOR UPDATE"),
                    {"id": caught},
                )
                _wait_for_lock_waiter(committed, timeout=60)
                redis_server.kill()
                blocker.rollback()
            time.sleep(3)
            assert worker.running, worker.output()
            redis_server.restart()
            with production.app_context():
                after = stored_delivery("after")
                enqueue(process_delivery, after, job_id=f"delivery-{after}")
            wait_until(
                lambda: stored(committed)["items"] == 2,
                30,
                lambda: f"{stored(committed)}\n{worker.output()}",
            )
            assert worker.running, worker.output()
        finally:
            worker.stop()


# --- Redis killed while people use the pages --------------------------------------------------


def presence_of(page: str) -> str:
    return re.search(r'<div id="presence".*?</div>', page, re.S).group(0)


def test_pages_answer_while_redis_is_down_and_only_the_collision_warning_goes_quiet(
    app, committed, redis_server, tmp_path
):
    with Session(committed, expire_on_commit=False) as s:
        item = make_item(s, queue="omaolo-porvoo", title="Kuumetta")
        anna = make_user(s, queues=["omaolo-porvoo"], name="Anna Aalto")
        bertil = make_user(s, queues=["omaolo-porvoo"], name="Bertil Berg")
        lead = make_user(s, role=Role.TEAM_LEAD.value, queues=["omaolo-porvoo"], name="Tiina")
        s.commit()
        item_id = item.id
    page = f"/items/{item_id}"
    with (
        production_app(app, PG_URL, redis_server.url) as production,
        worker_and_scheduler(PG_URL, redis_server.url, tmp_path),
    ):
        first = Browser(production.test_client()).login(anna)
        second = Browser(production.test_client()).login(bertil)
        first.get(page)
        assert "Anna Aalto" in presence_of(page_text(second.get(page)))

        redis_server.kill()
        # Signing in: the limits count in this process's memory meanwhile.
        third = Browser(production.test_client()).login(lead)
        answers = {
            "My work": first.get("/work"),
            "the item page": second.get(page),
            "the presence check": first.get(f"{page}/presence"),
            "the situation": first.get("/situation"),
            "the team board": third.get("/team"),
            "taking the item": second.post(f"{page}/take"),
        }
        assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 200)
        # Nobody is reported rather than an error: the page shows no warning.
        assert "Anna Aalto" not in presence_of(page_text(answers["the item page"]))
        assert first.post(f"{page}/presence/leave", htmx=False).status_code == 204
        with Session(committed) as s:
            assert s.get(WorkItem, item_id).assignee_id == bertil.id
        # The limits still hold (not failing open): the eleventh guess for one name waits.
        guesser = Browser(production.test_client())
        guesser.get("/login")
        guess = {"username": anna.username, "password": "x", "csrf_token": guesser.token}
        guesses = [guesser.client.post("/login", data=guess).status_code for _ in range(11)]
        assert guesses == [401] * 10 + [429]

        redis_server.restart()
        # Anna's page keeps reporting; once Redis answers, Bertil sees her again.
        wait_until(
            lambda: (
                first.get(f"{page}/presence")
                and "Anna Aalto" in presence_of(page_text(second.get(page)))
            ),
            15,
            "the collision warning never came back",
        )


# --- the live broadcaster, the scheduler and the short circuit --------------------------------


def test_the_scheduler_outlives_a_redis_restart_and_never_takes_anothers_lock(
    redis_server, tmp_path
):
    scheduler = DeskProcess(
        ["scheduler", "--interval", "1"], PG_URL, redis_server.url, tmp_path / "scheduler.log"
    )
    try:
        redis = Redis.from_url(redis_server.url)
        wait_until(lambda: redis.get("desk:scheduler"), 60, scheduler.output)
        name = redis.get("desk:scheduler")
        redis.close()
        redis_server.kill()
        time.sleep(3)  # ticks every second: it meets the outage
        redis_server.restart()
        redis = Redis.from_url(redis_server.url)
        # Back, it holds its lock again and sweeps.
        wait_until(
            lambda: redis.get("desk:scheduler") == name and redis.llen("rq:queue:desk"),
            20,
            lambda: f"no lock or sweep after Redis returned:\n{scheduler.output()}",
        )
        assert scheduler.running, scheduler.output()

        # Its lock expired while it was stalled and another scheduler took it: it stands down
        # instead of taking the lock back.
        redis.set("desk:scheduler", "another", ex=30)
        wait_until(lambda: not scheduler.running, 20, "the scheduler kept running beside another")
        assert scheduler.process.returncode != 0
        assert "another scheduler took over" in scheduler.output()
        assert redis.get("desk:scheduler") == b"another"
        redis.close()
    finally:
        scheduler.stop()


def test_after_a_failure_redis_is_left_alone_for_a_pause_then_one_call_tries_it():
    now = [100.0]
    breaker = Breaker("test", pause=3, clock=lambda: now[0])

    def elsewhere() -> str:
        # Another request, in another thread, at the same moment.
        outcome = []

        def attempt():
            try:
                breaker.check()
                outcome.append("tries Redis")
            except RedisSkipped:
                outcome.append("skips Redis")

        thread = threading.Thread(target=attempt)
        thread.start()
        thread.join()
        return outcome[0]

    assert elsewhere() == "tries Redis"  # healthy
    breaker.failed(TimeoutError("no answer"))
    now[0] += 2.9
    with pytest.raises(RedisSkipped):
        breaker.check()
    assert elsewhere() == "skips Redis"
    now[0] += 0.2
    breaker.check()  # the pause is over: this call tries Redis...
    assert elsewhere() == "skips Redis"  # ...and nobody else waits for it meanwhile
    breaker.watch(lambda: "answered")
    assert elsewhere() == "tries Redis"


def test_with_redis_silent_behind_a_firewall_deliveries_do_not_wait_for_its_timeouts(
    app, committed, secret
):
    # A port that completes the TCP handshake and then never answers: commands time out (5 s).
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"

    def deliver(production, name: str) -> tuple[int, float]:
        started = time.monotonic()
        answer = production.test_client().post(
            "/api/v1/inbound/help-request",
            json=delivery(name),
            headers={"Authorization": f"Bearer {secret}"},
        )
        return answer.status_code, time.monotonic() - started

    try:
        with production_app(app, PG_URL, url) as production:
            status, first_took = deliver(production, "silent-first")
            assert status == 202 and first_took < 8  # this one meets the timeout
            after = [deliver(production, f"silent-{n}") for n in range(3)]
            # After the pause one delivery tries Redis again, and waits; the others do not.
            time.sleep(PAUSE_SECONDS)
            with ThreadPoolExecutor(1) as pool:
                probe = pool.submit(deliver, production, "silent-probe")
                time.sleep(0.5)
                meanwhile = [deliver(production, f"silent-meanwhile-{n}") for n in range(3)]
                probing = probe.result()
        assert {status for status, _ in after + meanwhile + [probing]} == {202}
        assert max(took for _, took in after + meanwhile) < 1, (after, meanwhile)
    finally:
        silent.close()
        redis_client(url).close()


def test_rate_limits_count_in_memory_while_redis_is_down_and_say_so_once(redis_server, caplog):
    limiter = FallbackLimiter(RedisLimiter(Redis.from_url(redis_server.url)))
    five = Limit(5, 60)
    assert limiter.hit("login:user:anna", five) is None
    redis_server.kill()
    with caplog.at_level(logging.WARNING, logger="desk.ratelimit"):
        answers = [limiter.hit("login:user:bertil", five) for _ in range(6)]
        assert answers[:5] == [None] * 5 and answers[5] >= 1
        assert limiter.peek("login:user:bertil", five) >= 1
        limiter.reset("login:user:bertil")
        assert limiter.peek("login:user:bertil", five) is None
        assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
        assert len(caplog.records) == 1 and "memory" in caplog.records[0].message
        redis_server.restart()
        assert limiter.hit("login:user:anna", five) is None  # a fresh Redis: counting again
        assert "answers again" in caplog.records[-1].message


def test_the_memory_limiter_holds_a_bounded_number_of_keys_and_keeps_the_busy_ones():
    limiter = MemoryLimiter(max_keys=100)
    one = Limit(1, 300)
    assert limiter.hit("login:address:attacker", one) is None
    for n in range(10_000):
        limiter.hit(f"login:user:guess-{n}", one)
        if n % 50 == 0:  # the address being hammered stays counted
            assert limiter.hit("login:address:attacker", one) >= 1
    assert len(limiter) <= 100


# --- the database cut and restored ------------------------------------------------------------


class Proxy:
    """A TCP proxy in front of PostgreSQL that the test cuts (every connection closed, new
    ones closed at once) and restores, standing for a database restart that does not disturb
    the others using the shared server."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut = threading.Event()
        self.closed = threading.Event()
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets |= {client, server}
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source, target)

    def _drop(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with self.lock:
                self.sockets.discard(sock)
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def cut_off(self) -> None:
        self.cut.set()
        with self.lock:
            sockets = list(self.sockets)
        self._drop(*sockets)

    def restore(self) -> None:
        self.cut.clear()

    def close(self) -> None:
        self.closed.set()
        self.cut_off()
        self.listener.close()


def test_deliveries_during_a_database_cut_get_503_and_nothing_accepted_is_lost(
    app, committed, secret, redis_server, tmp_path, capsys
):
    url = make_url(PG_URL)
    proxy = Proxy((url.host, url.port or 5432))
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        with (
            production_app(app, through_proxy, redis_server.url) as production,
            worker_and_scheduler(through_proxy, redis_server.url, tmp_path) as (worker, _),
        ):
            with Traffic(production, secret, "cut", rate=20, retry=True) as traffic:
                time.sleep(2)
                proxy.cut_off()
                cut = time.monotonic()
                time.sleep(4)
                proxy.restore()
                restored = time.monotonic()
                time.sleep(2)
            # Deliveries refused during the cut were sent again after Retry-After.
            during = [a for a in traffic.answers if cut + 0.5 <= a[0] <= restored]
            assert during and {a[2] for a in during} == {503}
            assert {a[3] for a in traffic.answers if a[2] == 503} == {"5"}
            assert {a[2] for a in traffic.answers} <= {200, 202, 503}
            answers = traffic.final()
            assert set(answers.values()) <= {200, 202} and len(answers) == traffic.sent
            wait_until(
                lambda: stored(committed)["items"] >= traffic.sent,
                30,
                lambda: f"not routed: {stored(committed)}\n{worker.output()}",
            )
            figures = {"sent": traffic.sent, **stored(committed)}
            with capsys.disabled():
                refused = sum(1 for a in traffic.answers if a[2] == 503)
                print(f"\nDatabase cut for 4 s at 20 deliveries/s: {figures}, {refused} 503s")
            assert figures["stored"] == figures["items"] == traffic.sent
            assert figures["pending"] == 0 and figures["shared"] == 0
            assert worker.running, worker.output()
    finally:
        proxy.close()


def test_a_database_cut_shows_unavailable_and_signs_nobody_out(
    app, committed, redis_server, monkeypatch
):
    """The soak's PostgreSQL restart sent people to the sign-in page (the desk could not say
    who they were, so it said nobody) and drew some error pages with a 500 (the page asked the
    database for the user's language again)."""
    from desk.views import work

    with Session(committed, expire_on_commit=False) as s:
        anna = make_user(s, queues=["omaolo-porvoo"], name="Anna Aalto")
        s.commit()
    url = make_url(PG_URL)
    proxy = Proxy((url.host, url.port or 5432))
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        with production_app(app, through_proxy, redis_server.url) as production:
            browser = Browser(production.test_client()).login(anna)
            assert browser.get("/work").status_code == 200

            proxy.cut_off()  # before the request: who is signed in cannot be read
            page, poll = browser.get("/work"), browser.get("/work", headers={"HX-Request": "true"})
            for answer in (page, poll):
                assert answer.status_code == 503, answer.status_code
                assert answer.headers["Retry-After"] == "5"
                assert "HX-Redirect" not in answer.headers
            assert "tietokanta" in page_text(page)  # the desk cannot reach its database
            proxy.restore()

            # Cut in the middle of a request, after the user was read.
            show = work._my_work

            def cut_then_show(*args, **kwargs):
                proxy.cut_off()
                return show(*args, **kwargs)

            monkeypatch.setattr(work, "_my_work", cut_then_show)
            midway = browser.get("/work")
            assert midway.status_code == 503 and "tietokanta" in page_text(midway)
            monkeypatch.setattr(work, "_my_work", show)
            proxy.restore()

            # The database is back: Anna is still signed in, on the same session.
            again = browser.get("/work")
            assert again.status_code == 200 and "Anna Aalto" in page_text(again)
    finally:
        proxy.close()
