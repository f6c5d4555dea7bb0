"""The live stream (`/events`) carries the real desk's changes to the real desk's pages only: a
trainee's stream receives nothing of a real emergency, the training pages and the auditor's
pages never open it, and whether a page opens it follows the route policy."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.orm import Session

from desk import live
from desk.extensions import db
from desk.models import Role
from desk.policy import ACCESS
from tests.conftest import _migrated_app
from tests.factories import PASSWORD, make_user, p0_delivery
from tests.live import deliver
from tests.web import Browser, text


@pytest.fixture
def live_app(tmp_path_factory, redis_url):
    """The desk with Redis (so with live updates) on a real SQLite database, with its training
    database beside it."""
    real = tmp_path_factory.mktemp("real") / "desk.db"
    app = _migrated_app(f"sqlite:///{real}", tmp_path_factory, REDIS_URL=redis_url)
    yield app
    # Its subscription ends with it: channels are server-wide, and other tests count them.
    app.extensions["desk_live"].close()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def _account(app, **kw):
    with app.app_context(), Session(db.engine, expire_on_commit=False) as session:
        user = make_user(session, **kw)
        session.commit()
        return user


class Stream:
    """Reads one page's `/events` answer in the background, as a browser's EventSource does."""

    def __init__(self, browser: Browser) -> None:
        self.answer = browser.client.get("/events", buffered=False)
        self.chunks: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for chunk in self.answer.response:
            self.chunks.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if self.stop.is_set():
                break

    def received(self) -> str:
        return "".join(self.chunks)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.answer.close()


def _publish_a_real_p0(app) -> None:
    """An Omaolo P0 for Sipoo, received and routed in the real desk as the API and intake do."""
    with app.app_context():
        deliver(db.session, "omaolo", p0_delivery("p0-while-training"))
        db.session.commit()
        db.session.remove()


def test_a_trainees_stream_receives_nothing_of_a_real_emergency(live_app, monkeypatch):
    # Heartbeats often, so that every stream reader notices soon that it is asked to stop.
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.2)
    nurse = _account(live_app, queues=["omaolo-sipoo"])
    trainee = _account(live_app, role="trainee", queues=[])
    professional = Browser(live_app.test_client()).login(nurse)
    learner = Browser(live_app.test_client()).login(trainee)
    assert "training-banner" in text(learner.get("/work"))  # the trainee is in training

    real_page, training_page = Stream(professional), Stream(learner)
    try:
        deadline = time.monotonic() + 5
        while ": connected" not in real_page.received():
            assert time.monotonic() < deadline, "the real desk's page never connected"
            time.sleep(0.05)
        _publish_a_real_p0(live_app)
        deadline = time.monotonic() + 5
        while "omaolo-sipoo" not in real_page.received():
            assert time.monotonic() < deadline, "the real page never heard of the P0"
            time.sleep(0.05)
        time.sleep(0.5)  # as long again for the trainee's stream, had it been listening
    finally:
        real_page.close()
        training_page.close()
    assert '"emergencies": ["omaolo-sipoo"]' in real_page.received()
    heard = training_page.received()
    assert "omaolo-sipoo" not in heard and "event:" not in heard, heard
    assert training_page.answer.status_code == 403
    assert training_page.answer.mimetype != "text/event-stream"


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_a_page_opens_the_stream_only_where_the_policy_allows_it(live_app, role):
    """Every role's start page, in its own space: the SSE connection is there exactly when the
    route policy lets the role call `/events` (never in training, never for an auditor)."""
    queues = ["omaolo-porvoo"] if role in ("professional", "team_lead", "admin") else []
    user = _account(live_app, role=role, queues=queues)
    browser = Browser(live_app.test_client())
    browser.get("/login")
    signed_in = browser.client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": browser.token},
    )
    start = browser.get(signed_in.headers["Location"])  # the role's start page
    assert start.status_code == 200
    page = text(start)
    opens = "sse-connect" in page
    assert opens == (role in ACCESS["live.events"]), (role, opens)
    answer = browser.client.get("/events", buffered=False)
    try:
        assert (answer.status_code == 200) == opens, (role, answer.status_code)
    finally:
        answer.close()


def test_no_account_gets_the_stream_in_the_training_space(live_app):
    """The space decides, not only the role: even an account that the training database calls
    a team lead (a role the stream is open to) gets none there."""
    from desk.training.spaces import TRAINING

    lead = _account(live_app, role="team_lead", queues=["omaolo-porvoo"])
    with live_app.app_context(), Session(db.engine) as real:
        real.get(type(lead), lead.id).training_role = "trainer"
        real.commit()
    browser = Browser(live_app.test_client()).login(lead)
    assert "sse-connect" in text(browser.get("/work"))  # the real desk: live
    assert browser.post("/training/enter", htmx=False).status_code == 302
    with live_app.app_context(), Session(db.engines[TRAINING]) as training:
        training.get(type(lead), lead.id).role = "team_lead"
        training.commit()
    assert "sse-connect" not in text(browser.get("/work"))
    answer = browser.client.get("/events", buffered=False)
    try:
        assert answer.status_code == 403 and answer.mimetype != "text/event-stream"
    finally:
        answer.close()
