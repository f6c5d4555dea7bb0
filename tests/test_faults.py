"""Faults against real PostgreSQL and Redis: nothing accepted is lost, nothing is doubled."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from desk import create_app
from desk.extensions import db
from desk.inbound import tokens
from desk.inbound.receive import receive
from desk.models import InboundDelivery, WorkItem
from desk.tasks import PAUSE_SECONDS, QUEUE_NAME, enqueue
from desk.tasks.inbound import process_delivery
from desk.tasks.sweep import sweep_pending
from tests import contract
from tests.conftest import PG_URL
from tests.factories import CHANNELS


def delivery(n: int | str) -> dict:
    payload = contract.example("help-request.json")
    payload["external_id"] = f"fault-{n}"
    return payload


def counts(engine) -> tuple[int, int]:
    with Session(engine) as s:
        return (
            s.scalar(select(func.count()).select_from(InboundDelivery)),
            s.scalar(select(func.count()).select_from(WorkItem)),
        )


@pytest.fixture
def secret(app, committed) -> str:
    with app.app_context():
        _, value = tokens.create(db.session, "Fault tests", ["help-request", "chat"])
        db.session.commit()
    return value


def post(client, secret, payload):
    return client.post(
        "/api/v1/inbound/help-request", json=payload, headers={"Authorization": f"Bearer {secret}"}
    )


def test_fifty_simultaneous_copies_make_one_item(app, committed, secret):
    payload = delivery("fifty")

    def send(_):
        return post(app.test_client(), secret, payload)

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(send, range(50)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 49 + [202]
    assert {a.json["delivery_id"] for a in answers} == {answers[0].json["delivery_id"]}
    assert counts(committed) == (1, 1)


def test_database_unreachable_answers_503_with_retry_after(secret):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/x",
            "SECRET_KEY": "t",
            "REDIS_URL": None,
            "DESK_JOBS_INLINE": True,
        }
    )
    response = post(app.test_client(), secret, delivery("no-db"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json["error"] == "unavailable"
    with app.app_context():
        db.engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_redis(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(50):
        try:
            Redis(port=port).ping()
            return process
        except Exception:
            time.sleep(0.1)
    raise RuntimeError("redis-server did not start")


def test_deliveries_are_accepted_while_redis_is_down_and_routed_once_it_is_back(
    app, committed, secret
):
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis = _start_redis(port)
    app.config.update(DESK_JOBS_INLINE=False, REDIS_URL=url)
    client = app.test_client()
    try:
        before = [post(client, secret, delivery(f"redis-{n}")) for n in range(3)]
        redis.kill()
        redis.wait()
        during = [post(client, secret, delivery(f"redis-down-{n}")) for n in range(3)]
        assert [r.status_code for r in before + during] == [202] * 6
        assert counts(committed) == (6, 0)
        # Redis comes back empty: the jobs enqueued before it went down are gone too. (The app
        # leaves Redis alone for a moment after a failure: PAUSE_SECONDS.)
        redis = _start_redis(port)
        time.sleep(PAUSE_SECONDS)
        with app.app_context():
            assert sweep_pending(0) == 6
            SimpleWorker([QUEUE_NAME], connection=Redis.from_url(url)).work(burst=True)
            assert sweep_pending(0) == 0
        assert counts(committed) == (6, 6)
    finally:
        app.config.update(DESK_JOBS_INLINE=True, REDIS_URL=None)
        redis.kill()
        redis.wait()


def test_a_worker_killed_mid_job_leaves_the_item_to_appear_exactly_once(app, committed, redis_url):
    app.config.update(DESK_JOBS_INLINE=False, REDIS_URL=redis_url)
    try:
        with app.app_context():
            delivery_id = receive(
                db.session, CHANNELS.get("help-request"), delivery("killed")
            ).delivery_id
            db.session.commit()
            enqueue(process_delivery, delivery_id, job_id=f"delivery-{delivery_id}")
        # Hold the delivery's row so that the job is caught in the middle, then kill it.
        with committed.connect() as blocker:
            blocker.execute(
                text("SELECT id FROM inbound_delivery WHERE id = :id FOR UPDATE"),
                {"id": delivery_id},
            )
            worker = subprocess.Popen(
                [sys.executable, "-m", "flask", "desk", "worker"],
                env={
                    **os.environ,
                    "FLASK_APP": "desk",
                    "DATABASE_URL": PG_URL,
                    "REDIS_URL": redis_url,
                    "DESK_SECRET_KEY": "t",
                },
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                _wait_for_lock_waiter(committed)
            finally:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
            blocker.rollback()
        assert counts(committed) == (1, 0)
        with app.app_context():
            assert sweep_pending(0) == 1
            SimpleWorker([QUEUE_NAME], connection=Redis.from_url(redis_url)).work(burst=True)
            sweep_pending(0)
            SimpleWorker([QUEUE_NAME], connection=Redis.from_url(redis_url)).work(burst=True)
        assert counts(committed) == (1, 1)
    finally:
        app.config.update(DESK_JOBS_INLINE=True, REDIS_URL=None)


def _wait_for_lock_waiter(engine, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.1)
    raise AssertionError("the worker never reached the delivery")


def test_token_commands_show_the_secret_once_and_store_only_a_hash(app, committed):
    runner = app.test_cli_runner()
    created = runner.invoke(
        args=["desk", "token", "create", "--name", "Omaolo production", "--channel", "omaolo"]
    )
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("desk_")
    listed = runner.invoke(args=["desk", "token", "list"])
    assert "Omaolo production" in listed.output and secret not in listed.output
    with Session(committed) as s:
        stored = s.execute(text("SELECT token_hash FROM api_token")).scalars().all()
        assert secret not in stored and len(stored) == 1
    bad = runner.invoke(args=["desk", "token", "create", "--name", "x", "--channel", "fax"])
    assert bad.exit_code != 0
    token_id = listed.output.split()[0]
    assert runner.invoke(args=["desk", "token", "revoke", token_id]).exit_code == 0
    with app.app_context():
        assert tokens.find(db.session, secret) is None


def test_exactly_one_scheduler_runs_and_it_enqueues_the_sweep(app, redis_url):
    env = {
        **os.environ,
        "FLASK_APP": "desk",
        "DATABASE_URL": PG_URL,
        "REDIS_URL": redis_url,
        "DESK_SECRET_KEY": "t",
    }
    command = [sys.executable, "-m", "flask", "desk", "scheduler", "--interval", "1"]
    first = subprocess.Popen(
        command,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    redis = Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 60  # a loaded 2-core machine starts Flask slowly
        while not redis.exists("desk:scheduler") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert redis.exists("desk:scheduler"), "the first scheduler never took the lock"
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
        assert second.returncode != 0
        assert "another scheduler is running" in second.stderr
        from rq import Queue

        queue = Queue(QUEUE_NAME, connection=redis)
        # The deliveries' sweep, and the phone calls' retries.
        wanted = {"sweep_pending", "return_retries"}
        while time.monotonic() < deadline:
            if wanted <= {job.func_name.rsplit(".", 1)[-1] for job in queue.jobs}:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the scheduler enqueued no sweep or no retries")
    finally:
        os.killpg(first.pid, signal.SIGTERM)
        first.wait(timeout=30)
        redis.close()
