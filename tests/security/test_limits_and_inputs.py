"""Attacks on the forms and the inbound API: every one gets a clear refusal and changes
nothing. Rate limits, CSRF on every state-changing route, SQL metacharacters in every
filter, oversized and malformed bodies, path traversal."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from redis import Redis
from sqlalchemy import func, select

from desk.inbound import tokens
from desk.models import AccessLog, InboundDelivery, ItemEvent, User, WorkItem
from desk.ratelimit import Limit, MemoryLimiter, RedisLimiter
from tests.contract import example
from tests.factories import PASSWORD, make_item, make_user
from tests.web import Browser, text

METACHARACTERS = [
    "' OR '1'='1",
    "'; DROP TABLE work_item; --",
    '" OR ""="',
    "%",
    "_",
    "\\",
    "porvoo' --",
    "1; SELECT pg_sleep(5)",
]


@pytest.fixture(params=["memory", "redis"])
def limiter(request):
    if request.param == "memory":
        now = [0.0]
        limiter = MemoryLimiter(clock=lambda: now[0])
        limiter.advance = lambda seconds: now.__setitem__(0, now[0] + seconds)
        return limiter
    return RedisLimiter(Redis.from_url(request.getfixturevalue("redis_url")))


def test_peek_says_whether_a_key_is_used_up_without_counting(limiter):
    limit = Limit.parse("2/60")
    assert [limiter.peek("k", limit) for _ in range(5)] == [None] * 5
    assert limiter.hit("k", limit) is None
    assert limiter.peek("k", limit) is None and limiter.peek("k", limit) is None
    assert limiter.hit("k", limit) is None, "peeking did not count"
    wait = limiter.peek("k", limit)
    assert wait is not None and 1 <= wait <= 60
    assert limiter.peek("other", limit) is None
    assert limiter.peek("k", Limit.parse("0/60")) is None
    limiter.reset("k")
    assert limiter.peek("k", limit) is None
    if hasattr(limiter, "advance"):
        limiter.hit("k", limit), limiter.hit("k", limit)
        limiter.advance(61)
        assert limiter.peek("k", limit) is None, "a new window starts afresh"


def test_a_limit_counts_hits_in_a_window_and_says_how_long_to_wait(limiter):
    limit = Limit.parse("3/60")
    assert [limiter.hit("k", limit) for _ in range(3)] == [None, None, None]
    wait = limiter.hit("k", limit)
    assert wait is not None and 1 <= wait <= 60
    assert limiter.hit("other", limit) is None, "each key has its own count"
    assert limiter.hit("k", Limit.parse("0/60")) is None, "0 switches a limit off"
    if hasattr(limiter, "advance"):
        limiter.advance(61)
        assert limiter.hit("k", limit) is None, "a new window starts afresh"


@pytest.fixture
def limits(app):
    """The limits switched on (the suite runs with them off)."""
    app.config["DESK_RATE_LIMITS"] = {
        "login_address": "5/300",
        "login_user": "3/900",
        "api_token": "4/60",
        "api_refused": "3/60",
    }
    app.extensions["desk_limiter"] = MemoryLimiter()
    yield
    app.config["DESK_RATE_LIMITS"] = {}


def test_guessing_passwords_is_slowed_down(app, app_session, limits):
    user = make_user(app_session)
    browser = Browser(app.test_client())
    browser.get("/login")
    answers = [
        browser.client.post(
            "/login",
            data={"username": user.username, "password": "wrong", "csrf_token": browser.token},
        )
        for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert "Liian monta kirjautumisyritystä" in text(answers[-1])
    # Even the right password waits now: the limit is on the attempts, not on the guesses.
    right = browser.client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": browser.token},
    )
    assert right.status_code == 429


def test_the_inbound_api_is_limited_per_token_and_per_address(app, client, app_session, limits):
    _, secret = tokens.create(app_session, "limit test", ["help-request"])
    payload = example("help-request.json")
    answers = []
    for n in range(5):
        body = {**payload, "external_id": f"limit-{n}"}
        answers.append(
            client.post(
                "/api/v1/inbound/help-request",
                data=json.dumps(body),
                headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
            )
        )
    assert [a.status_code for a in answers] == [202, 202, 202, 202, 429]
    assert answers[-1].get_json()["error"] == "too_many_requests"
    assert int(answers[-1].headers["Retry-After"]) > 0
    stored = app_session.scalar(
        select(func.count()).where(InboundDelivery.external_id.like("limit-%"))
    )
    assert stored == 4, "the refused delivery was not stored"
    refused = [
        client.get(
            "/api/v1/inbound/help-request/x", headers={"Authorization": "Bearer wrong"}
        ).status_code
        for _ in range(4)
    ]
    assert refused == [401, 401, 401, 429]


#: server-to-server POSTs that carry their own proof instead of a CSRF token: the inbound API
#: (a bearer token) and Keycloak's back-channel logout (a signed token; tests/test_sso.py)
SERVER_TO_SERVER = ("/api/", "/login/backchannel-logout")


def _post_routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "POST" in rule.methods and not rule.rule.startswith(SERVER_TO_SERVER):
            yield rule


def test_no_form_or_htmx_post_works_without_its_csrf_token(app, app_session):
    lead = make_user(app_session, role="team_lead", queues=["omaolo-porvoo"])
    item = make_item(app_session, queue="omaolo-porvoo")
    browser = Browser(app.test_client()).login(lead)
    values = {
        "item_id": item.id,
        "instruction_id": 1,
        "template_id": 1,
        "view_id": 1,
        "user_id": lead.id,
        "code": "omaolo-porvoo",
        "run_id": 1,
        "pack_id": 1,
        "scenario_id": 1,
        "service_id": 1,
    }
    events = app_session.scalar(select(func.count()).select_from(ItemEvent))
    checked = 0
    for rule in _post_routes(app):
        url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
        for headers in ({}, {"HX-Request": "true"}, {"X-CSRFToken": "forged"}):
            answer = browser.client.post(
                url, data={"text": "x", "queue": "chat-regional"}, headers=headers
            )
            assert answer.status_code == 400, (rule.rule, headers, answer.status_code)
        checked += 1
    assert checked >= 15
    assert app_session.scalar(select(func.count()).select_from(ItemEvent)) == events
    assert app_session.get(WorkItem, item.id).assignee_id is None


def test_sql_metacharacters_in_every_filter_are_just_text(app, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    auditor = make_user(app_session, role="auditor", queues=[])
    make_item(app_session, queue="omaolo-porvoo", municipality="porvoo")
    pages = {
        nurse: [
            "/situation?municipality={v}&channel={v}&service_area={v}&identification={v}",
            "/situation/items?queue={v}&state={v}&municipality={v}&after={v}",
            "/instructions?municipality={v}&on={v}",
            "/instructions/preview?municipality={v}&channel={v}&topic={v}&on={v}&requested={v}",
            "/services?on={v}&compare={v}",
            "/templates?q={v}",
        ],
        auditor: ["/audit?resident={v}&professional={v}&from={v}&to={v}"],
    }
    items = app_session.scalar(select(func.count()).select_from(WorkItem))
    for user, urls in pages.items():
        browser = Browser(app.test_client()).login(user)
        for url in urls:
            for value in METACHARACTERS:
                answer = browser.get(url.format(v=quote(value)))
                # 400: a control character, or a paging cursor that is no item number.
                assert answer.status_code in (200, 400, 404, 422), (url, value, answer.status_code)
    assert app_session.scalar(select(func.count()).select_from(WorkItem)) == items
    assert app_session.scalar(select(func.count()).select_from(User)) >= 2


def test_oversized_and_malformed_bodies_are_refused(app, client, app_session):
    _, secret = tokens.create(app_session, "bodies", ["chat"])
    auth = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    big = json.dumps({"external_id": "big", "padding": "x" * (300 * 1024)})
    assert client.post("/api/v1/inbound/chat", data=big, headers=auth).status_code == 413
    for body in (b"{", b"[]", b"null", b"\xff\xfe", b'{"external_id": 1e999}'):
        answer = client.post("/api/v1/inbound/chat", data=body, headers=auth)
        assert answer.status_code in (400, 422), body
        assert answer.get_json()["error"]
    nurse = make_user(app_session, queues=["chat-regional"])
    item = make_item(app_session, queue="chat-regional")
    browser = Browser(app.test_client()).login(nurse)
    answer = browser.post(f"/items/{item.id}/note", {"text": "x" * (300 * 1024)})
    assert answer.status_code == 413
    answer = browser.post(f"/items/{item.id}/note", {"text": "x" * 4001})
    assert answer.status_code == 409 and "liian pitkä" in text(answer)
    assert app_session.scalar(select(func.count()).where(ItemEvent.kind == "noted")) == 0
    assert app_session.scalar(select(func.count()).select_from(InboundDelivery)) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/static/../desk/config.py",
        "/static/%2e%2e/desk/config.py",
        "/static/..%2fdesk%2fconfig.py",
        "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/vendor/../../pyproject.toml",
    ],
)
def test_no_path_leaves_the_static_folder(client, path):
    answer = client.get(path, follow_redirects=True)  # "//" is merged into "/" first
    assert answer.status_code in (400, 404), path
    assert (
        b"SECRET" not in answer.data
        and b"root:" not in answer.data
        and b"[project]" not in answer.data
    )
    answer.close()


def test_exports_take_no_path_from_the_request(app, app_session):
    auditor = make_user(app_session, role="auditor", queues=[])
    browser = Browser(app.test_client()).login(auditor)
    for resident in ("../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "/etc/passwd", "010101-123\x00"):
        for url in ("/audit/export.csv", "/audit/export.json"):
            answer = browser.get(url, query_string={"resident": resident})
            assert answer.status_code == 400 and b"root:" not in answer.data
    assert app_session.scalar(select(func.count()).select_from(AccessLog)) == 0
