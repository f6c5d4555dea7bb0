"""What operations rely on: health and readiness for the load balancer, metrics for
Prometheus, JSON logs with request ids and no resident's data, and production's refusals."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from desk import config, create_app, logs
from desk.inbound import tokens
from desk.models import OPEN_STATUSES, AccessLog, WorkItem
from desk.outbound import endpoints
from tests.contract import example
from tests.factories import CHANNELS, make_user
from tests.receiver import Receiver
from tests.web import Browser
from tests.web import text as page_text

# -- health and readiness ------------------------------------------------------------------


def test_health_and_readiness_answer_without_a_session(client, app_session):
    for path in ("/healthz", "/readyz"):
        answer = client.get(path)
        assert answer.status_code == 200, answer.json
        assert "Set-Cookie" not in answer.headers
        assert answer.headers["Cache-Control"] == "no-store"
    assert client.get("/healthz").json == {"status": "ok"}
    checks = client.get("/readyz").json["checks"]
    assert checks == {"database": "ok", "training_database": "ok"}
    # Nobody looked at a resident's data.
    assert app_session.scalar(select(func.count()).select_from(AccessLog)) == 0
    assert client.post("/healthz").status_code == 405


def test_readiness_names_what_is_missing(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}",
            "DESK_TRAINING_DATABASE_URL": f"sqlite:///{tmp_path / 'training.db'}",
            "SECRET_KEY": "t",
            # nothing listens there
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "DESK_JOBS_INLINE": False,
        }
    )
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # the process answers all the same
    answer = client.get("/readyz")
    assert answer.status_code == 503
    checks = answer.json["checks"]
    assert checks["database"] == "not migrated: run `flask desk init`"
    assert checks["redis"].startswith("unreachable")
    with app.app_context():
        from desk.extensions import db

        db.engines[None].dispose()


# -- metrics -------------------------------------------------------------------------------


def scrape(client, **kw) -> dict[str, float]:
    answer = client.get("/metrics", **kw)
    assert answer.status_code == 200
    assert answer.content_type.startswith("text/plain; version=")
    samples = {}
    for line in answer.get_data(as_text=True).splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_are_for_loopback_or_the_token(app, client, app_session, monkeypatch):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 404
    monkeypatch.setitem(app.config, "DESK_METRICS_TOKEN", "scrape-secret")
    outside = {"REMOTE_ADDR": "10.1.2.3"}
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/metrics", environ_base=outside, headers=wrong).status_code == 404
    right = {"Authorization": "Bearer scrape-secret"}
    assert client.get("/metrics", environ_base=outside, headers=right).status_code == 200
    assert client.get("/metrics").status_code == 200  # loopback


def test_metrics_count_deliveries_requests_and_open_items(app, client, app_session, monkeypatch):
    from desk import metrics

    monkeypatch.setitem(metrics._local, "state", None)
    _row, secret = tokens.create(app_session, "Metrics", list(CHANNELS.names()))
    app_session.commit()
    before = scrape(client)
    payload = example("chat-anonymous.json")
    payload["external_id"] += "-metrics"
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.post("/api/v1/inbound/chat", json=payload, headers=auth).status_code == 202
    assert client.post("/api/v1/inbound/chat", json=payload, headers=auth).status_code == 200
    assert client.post("/api/v1/inbound/chat", json={"x": 1}, headers=auth).status_code == 422
    monkeypatch.setitem(metrics._local, "state", None)  # count again, not 30 s from now
    after = scrape(client)

    def grew(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert grew('desk_deliveries_total{channel="chat",outcome="accepted"}') == 1
    assert grew('desk_deliveries_total{channel="chat",outcome="duplicate"}') == 1
    assert grew('desk_deliveries_total{channel="chat",outcome="invalid"}') == 1
    assert grew('desk_deliveries_routed_total{channel="chat"}') == 1
    assert grew('desk_intake_lag_seconds_count{channel="chat"}') == 1
    latency = 'desk_http_request_duration_seconds_count{endpoint="api.deliver",method="POST",'
    assert grew(latency + 'status="202"}') == 1 and grew(latency + 'status="422"}') == 1
    # The open items per queue are the database's.
    item = app_session.scalar(
        select(WorkItem).where(WorkItem.external_id == payload["external_id"])
    )
    open_in_queue = app_session.scalar(
        select(func.count())
        .select_from(WorkItem)
        .where(WorkItem.queue_code == item.queue_code, WorkItem.status.in_(OPEN_STATUSES))
    )
    assert after[f'desk_open_items{{queue="{item.queue_code}"}}'] == open_in_queue >= 1
    assert 'desk_overdue_items{queue="chat-regional"}' in after
    assert "desk_outbox_backlog" in after
    # Without Redis there is no rq to report on.
    assert "desk_rq_workers" not in after


def test_a_request_that_waited_too_long_in_the_queue_is_refused_and_changes_nothing(
    app, client, app_session, monkeypatch
):
    """Under overload nginx's requests wait for a worker; one whose client has most likely
    given up gets 503 at once (the soak found the desk otherwise overloaded for minutes)."""
    import time

    from desk.models import InboundDelivery

    _row, secret = tokens.create(app_session, "Queue", ["chat"])
    app_session.commit()
    payload = example("chat-anonymous.json")
    payload["external_id"] += "-queued"
    auth = {"Authorization": f"Bearer {secret}"}
    long_ago = {**auth, "X-Request-Start": f"t={time.time() - 45:.3f}"}
    # Without a trusted proxy nobody's stamp is believed.
    assert client.get("/login", headers=long_ago).status_code == 200
    monkeypatch.setitem(app.config, "DESK_TRUSTED_PROXIES", 1)
    before = scrape(client).get("desk_http_requests_shed_total", 0)

    refused = client.post("/api/v1/inbound/chat", json=payload, headers=long_ago)
    assert refused.status_code == 503 and refused.json["error"] == "unavailable"
    assert refused.headers["Retry-After"] == "5"
    stored = select(func.count()).where(InboundDelivery.external_id == payload["external_id"])
    assert app_session.scalar(stored) == 0
    page = client.get("/login", headers=long_ago)
    assert page.status_code == 503
    assert "hyvin kuormittunut" in page_text(page)  # in the default language, Finnish
    assert scrape(client)["desk_http_requests_shed_total"] == before + 2

    # A request that waited a moment, and one without a readable stamp, are served.
    moment = {**auth, "X-Request-Start": f"t={time.time() - 1:.3f}"}
    assert client.post("/api/v1/inbound/chat", json=payload, headers=moment).status_code == 202
    assert client.get("/login", headers={"X-Request-Start": "t=soon"}).status_code == 200
    monkeypatch.setitem(app.config, "DESK_QUEUE_DEADLINE_SECONDS", 0)  # off
    assert client.get("/login", headers=long_ago).status_code == 200


def test_the_state_is_counted_once_for_many_scrapes(app, client, monkeypatch):
    from desk import metrics

    monkeypatch.setitem(metrics._local, "state", None)
    counted = []
    real = metrics.count_state

    def counting():
        counted.append(1)
        return real()

    monkeypatch.setattr(metrics, "count_state", counting)
    for _ in range(5):
        scrape(client)
    assert len(counted) == 1


def test_processes_are_added_up_in_multiprocess_mode(tmp_path, monkeypatch):
    """Under gunicorn each worker counts in its own files; any worker's scrape adds them."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    count = textwrap.dedent(
        """
        import os
        from desk import metrics
        metrics.DELIVERIES.labels("chat", "accepted").inc(3)
        metrics.SSE_CLIENTS.inc()
        print(os.getpid())
        """
    )
    pids = [
        int(
            subprocess.run(
                *[[sys.executable, "-c", count]],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for _ in range(2)
    ]
    read = textwrap.dedent(
        f"""
        from desk import create_app
        app = create_app({{"TESTING": True, "SECRET_KEY": "t", "REDIS_URL": None,
            "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path / "m.db"}",
            "DESK_TRAINING_DATABASE_URL": None}})
        with app.app_context():
            from flask_migrate import upgrade
            upgrade()
        print(app.test_client().get("/metrics").get_data(as_text=True))
        """
    )
    shown = subprocess.run(
        [sys.executable, "-c", read], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert 'desk_deliveries_total{channel="chat",outcome="accepted"} 6.0' in shown
    assert "desk_sse_clients 2.0" in shown
    # One of them ends, and gunicorn tells (desk.gunicorn): its open streams no longer count.
    from desk import gunicorn

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    gunicorn.child_exit(None, SimpleNamespace(pid=pids[0]))
    shown = subprocess.run(
        [sys.executable, "-c", read], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert "desk_sse_clients 1.0" in shown
    assert 'desk_deliveries_total{channel="chat",outcome="accepted"} 6.0' in shown


# -- production's refusals -----------------------------------------------------------------

GOOD = {
    "DESK_PRODUCTION": True,
    "SECRET_KEY": "k" * 64,
    "DESK_SECRET_KEY_GENERATED": False,
    "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://desk@db/desk",
    "DESK_TRAINING_DATABASE_URL": "postgresql+psycopg://desk@db/desk_training",
    "REDIS_URL": "redis://redis:6379/0",
    "SESSION_COOKIE_SECURE": True,
    "DESK_KEYCLOAK": {"server_url": "https://sso.example.fi/"},
}


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"DESK_SECRET_KEY_GENERATED": True}, "set DESK_SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "DESK_SECRET_KEY is 5 characters"),
        ({"SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"}, "set DATABASE_URL=postgresql://"),
        ({"DESK_TRAINING_DATABASE_URL": "sqlite:///t.db"}, "set DESK_TRAINING_DATABASE_URL"),
        (
            {"DESK_TRAINING_DATABASE_URL": GOOD["SQLALCHEMY_DATABASE_URI"]},
            "DESK_TRAINING_DATABASE_URL is the real database",
        ),
        ({"REDIS_URL": None}, "set REDIS_URL"),
        ({"SESSION_COOKIE_SECURE": False}, "set DESK_SECURE_COOKIES=1"),
        ({"DESK_KEYCLOAK": {"server_url": ""}}, "set DESK_KEYCLOAK_URL"),
    ],
)
def test_production_refuses_what_is_not_for_production(change, says):
    assert config.production_problems(GOOD) == []
    problems = config.production_problems({**GOOD, **change})
    assert len(problems) == 1 and says in problems[0]
    assert config.production_problems({**GOOD, **change, "DESK_PRODUCTION": False}) == []


def test_a_production_start_lists_every_refusal(tmp_path, monkeypatch):
    monkeypatch.delenv("DESK_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError) as refused:
        create_app(
            {
                "DESK_PRODUCTION": True,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                "REDIS_URL": None,
            }
        )
    said = str(refused.value)
    assert said.startswith("DESK_PRODUCTION=1, and the desk refuses to start:")
    for setting in ("DESK_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DESK_SECURE_COOKIES"):
        assert setting in said


# -- logs ----------------------------------------------------------------------------------


@pytest.fixture
def log_lines():
    """Every line any logger writes during the test, as production writes it (JSON)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


#: the resident of the story: a valid personal identity code, a name, a phone, an e-mail
RESIDENT = {
    "identification": "strong",
    "personal_id": "010594-9973",
    "name": "Saimi Lokinen-Vartiainen",
    "phone": "+358407654321",
}
WORDS = "Polveni turposi eilen Kuutinkujalla"
NOTE = "Soitin Saimille, sovittiin vastaanotto"
REPLY = "Hei Saimi, varaan sinulle ajan huomiselle"


def test_a_day_at_the_desk_leaves_no_resident_data_in_the_logs(
    app, client, app_session, log_lines, monkeypatch, request
):
    _row, secret = tokens.create(app_session, "Logs", list(CHANNELS.names()))
    receiver = Receiver()  # the chat platform, which takes the desk's reply
    request.addfinalizer(receiver.close)
    endpoints.register(app_session, "Logs", receiver.url, CHANNELS.names(), CHANNELS.names())
    app_session.commit()
    payload = example("chat-identified-sv.json")
    payload["external_id"] += "-logs"
    payload["resident"] = RESIDENT
    payload["conversation"][0]["text"] = WORDS
    auth = {"Authorization": f"Bearer {secret}", "X-Request-ID": "delivery-from-source-1"}
    assert client.post("/api/v1/inbound/chat", json=payload, headers=auth).status_code == 202
    # A bad delivery quoting the resident: refused, and the refusal's log quotes nothing.
    bad = {**payload, "submitted_at": f"{RESIDENT['name']} {RESIDENT['personal_id']}"}
    assert client.post("/api/v1/inbound/chat", json=bad, headers=auth).status_code == 422
    item = app_session.scalar(
        select(WorkItem).where(WorkItem.external_id == payload["external_id"])
    )
    nurse = make_user(app_session, name="Hanna Hoitaja", queues=[item.queue_code])

    browser = Browser(client).login(nurse)
    found = browser.get(f"/search?q={RESIDENT['personal_id']}")
    assert found.status_code == 200 and f"/items/{item.id}" in page_text(found)
    browser.get(f"/search?q={RESIDENT['name'].split()[1]}")
    assert browser.get(f"/items/{item.id}").status_code == 200
    assert browser.post(f"/items/{item.id}/take").status_code == 200
    assert browser.post(f"/items/{item.id}/reveal").status_code == 200
    assert browser.post(f"/items/{item.id}/note", {"text": NOTE}).status_code == 200
    page = page_text(browser.get(f"/items/{item.id}"))
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    sent = browser.post(f"/items/{item.id}/messages", {"kind": "reply", "text": REPLY, "key": key})
    assert sent.status_code == 200
    assert [r.document["data"].get("text") for r in receiver.received][-1] == REPLY

    # An error that quotes the resident, as a bug might: the page is the 500 page, and the
    # line names the error's type and where, not what it said.
    from desk.views import items as item_views

    def failing(*args, **kwargs):
        raise ValueError(f"cannot summarise {RESIDENT['name']} ({RESIDENT['personal_id']})")

    monkeypatch.setattr(item_views, "render_template", failing)
    failed = browser.get(f"/items/{item.id}/summary", headers={"X-Request-ID": "summary-fails-1"})
    monkeypatch.undo()
    assert failed.status_code == 500
    # The page gives the reference an administrator finds the line by.
    assert "kerro tukipalvelulle tämä tunniste: summary-fails-1" in page_text(failed)
    # A database error on a statement carrying the resident's data: parameters are hidden.
    with app.app_context():
        from desk.extensions import db

        with pytest.raises(Exception) as raised:
            db.session.execute(
                text("INSERT INTO work_item (id, title) VALUES (:id, :title)"),
                {"id": item.id, "title": RESIDENT["name"]},
            )
        db.session.rollback()
        logging.getLogger("desk.test").error("insert failed", exc_info=raised.value)

    lines = log_lines()
    written = json.dumps(lines, ensure_ascii=False)
    secrets_ = [
        RESIDENT["personal_id"],
        RESIDENT["personal_id"].replace("-", ""),
        *RESIDENT["name"].replace("-", " ").split(),
        RESIDENT["phone"],
        RESIDENT["phone"].removeprefix("+358"),
        *WORDS.split(),
        *NOTE.split()[1:],
        *REPLY.split()[1:],
    ]
    assert [s for s in secrets_ if s.lower() in written.lower()] == []
    # What the lines do say: each request's access line with its route, status and time,
    # under the request id the source system sent or a new one.
    access = [line for line in lines if line["logger"] == "desk.access"]
    delivered = next(line for line in access if line.get("endpoint") == "api.deliver")
    assert delivered["request_id"] == "delivery-from-source-1"
    assert delivered["route"] == "/api/v1/inbound/<channel>" and delivered["status"] == 202
    search = next(line for line in access if line.get("endpoint") == "search.index")
    assert search["route"] == "/search" and search["user_id"] == nurse.id
    given = {"delivery-from-source-1", "summary-fails-1"}
    made = [line["request_id"] for line in access if line["request_id"] not in given]
    assert len(made) == len(access) - 3 and all(re.fullmatch(r"[0-9a-f]{32}", r) for r in made)
    failure = next(
        line for line in lines if line.get("error", {}).get("type") == "builtins.ValueError"
    )
    assert failure["level"] == "error" and failure["request_id"]
    assert any("in failing" in frame for frame in failure["error"]["stack"])
    insert = next(line for line in lines if line["message"] == "insert failed")
    assert insert["error"]["sqlstate"] == "23502"  # NOT NULL: the statement, without its values


def test_a_job_logs_under_the_id_of_the_request_that_asked_for_it(
    app, committed, redis_url, log_lines
):
    from redis import Redis
    from rq import SimpleWorker

    from desk.tasks import QUEUE_NAME, JobContext, enqueue

    app.config.update(DESK_JOBS_INLINE=False, REDIS_URL=redis_url)
    try:
        with app.test_request_context("/", headers={"X-Request-ID": "the-asking-request"}):
            app.preprocess_request()
            enqueue(_log_something)
            logs.request_id.set(None)
        worker = type("Worker", (JobContext, SimpleWorker), {})  # as `flask desk worker`
        with app.app_context():
            worker([QUEUE_NAME], connection=Redis.from_url(redis_url)).work(burst=True)
    finally:
        app.config.update(DESK_JOBS_INLINE=True, REDIS_URL=None)
    said = [line for line in log_lines() if line["message"] == "a job's own line"]
    assert said and said[0]["request_id"] == "the-asking-request"


def _log_something() -> None:
    logging.getLogger("desk.tasks.test").info("a job's own line")


def test_masks_what_looks_like_personal_data():
    said = logs.scrub("id 010594-9977, 131052A308T; tel 040 765 4321 or +358407654321; a@b.fi")
    assert said == "id [hidden], [hidden]; tel [hidden] or [hidden]; [hidden]"
    kept = "item 1234567 at 2026-12-05T10:00:00+02:00 took 0.25 s, delivery 3f2a-11"
    assert logs.scrub(kept) == kept


def test_a_line_is_plain_json_without_terminal_colours():
    record = logging.LogRecord(
        "werkzeug", logging.INFO, "", 0, "\x1b[33mPress CTRL+C\x1b[0m", (), None
    )
    assert json.loads(logs.JsonFormatter().format(record))["message"] == "Press CTRL+C"
