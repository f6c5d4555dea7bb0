"""Every route, for every role, for someone signed out and for a professional of another
municipality: allowed or refused as `desk.policy` says. A new route without a rule fails here
(and is closed at runtime)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desk.models import Instruction, Queue, ResponseTemplate, Role, SavedView, User, WorkItem
from desk.policy import ACCESS, PUBLIC, SOURCE_SYSTEM, SWITCHERS
from tests.factories import make_item, make_user
from tests.web import Browser

ROLES = [role.value for role in Role]


def _routes(app) -> list:
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule))


def test_every_route_has_a_rule_and_every_rule_a_route(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(ACCESS) == set(), "routes without a rule in desk/policy.py"
    assert set(ACCESS) - endpoints == set(), "rules for routes that no longer exist"


@pytest.fixture
def world(app_session):
    """An item in Porvoo's Omaolo queue and one of everything else a route may name."""
    item = make_item(app_session, queue="omaolo-porvoo", municipality="porvoo")
    owner = make_user(app_session, queues=["omaolo-porvoo"])
    view = SavedView(user_id=owner.id, name="Oma näkymä", params={})
    app_session.add(view)
    app_session.flush()
    return {
        "item_id": item.id,
        "instruction_id": app_session.scalar(select(Instruction.id).limit(1)),
        "template_id": app_session.scalar(select(ResponseTemplate.id).limit(1)),
        "view_id": view.id,
        "user_id": owner.id,
        "code": "omaolo-porvoo",
        "run_id": 1,
        "pack_id": 1,
        "scenario_id": 1,
        "service_id": 1,
        "channel": "chat",
        "external_id": "nothing-here",
        "filename": "css/desk.css",
    }


def _call(browser: Browser, rule, values: dict):
    url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
    if "GET" in rule.methods:
        return browser.get(url)
    return browser.post(url, {"text": "x"})


def _signed_in_as(app, session, role: str | None) -> Browser:
    browser = Browser(app.test_client())
    if role is None:
        browser.get("/login")  # a CSRF token, so that refusals are about the rule
        return browser
    queues = ["omaolo-porvoo"] if role in ("professional", "team_lead", "admin") else []
    return browser.login(make_user(session, role=role, queues=queues))


@pytest.mark.parametrize("role", [None, *ROLES])
def test_each_role_reaches_exactly_what_the_policy_allows(app, app_session, world, role):
    browser = _signed_in_as(app, app_session, role)
    for rule in _routes(app):
        if rule.endpoint in ("live.events", "auth.logout"):
            continue  # a stream that never ends, and the end of the session: below
        allowed = ACCESS[rule.endpoint]
        answer = _call(browser, rule, world)
        answer.close()
        where = (role, rule.endpoint, answer.status_code)
        # A page is redirected; an htmx request takes the whole page there (HX-Redirect).
        sent_to_login = (answer.status_code == 302 and "/login" in answer.headers["Location"]) or (
            answer.status_code == 401 and answer.headers.get("HX-Redirect", "").startswith("/login")
        )
        if allowed == PUBLIC:
            assert answer.status_code != 403 and not sent_to_login, where
        elif allowed == SOURCE_SYSTEM:
            assert answer.status_code == 401, where  # no bearer token here
        elif role is None:
            assert sent_to_login, where
        elif allowed == SWITCHERS:
            # nobody here holds a training role beside a real one (tests/test_training_space.py)
            assert answer.status_code == 403, where
        elif role in allowed:
            assert answer.status_code not in (401, 403) and not sent_to_login, where
        else:
            assert answer.status_code == 403, where
    # Last, signing out: everyone signed in may; then the pages send them to sign in.
    answer = browser.post("/logout", htmx=False)
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    after = browser.get("/work")
    assert after.status_code == 302 and "/login" in after.headers["Location"]


@pytest.mark.parametrize("role", [None, *ROLES])
def test_the_event_stream_follows_its_rule(app, app_session, role):
    browser = _signed_in_as(app, app_session, role)
    answer = browser.get("/events")  # without Redis: 404 for the allowed, refusals as usual
    if role is None:
        assert answer.status_code == 302
    elif role in ACCESS["live.events"]:
        assert answer.status_code == 404
    else:
        assert answer.status_code == 403


def test_a_professional_of_another_municipality_finds_no_item(app, app_session, world):
    """Same queue, but Porvoo outside their municipalities: every item route answers 404, as
    if the item did not exist, and the item is in none of their lists."""
    outsider = make_user(app_session, queues=["omaolo-porvoo"], municipalities=["sipoo"])
    browser = Browser(app.test_client()).login(outsider)
    for rule in _routes(app):
        if "item_id" in rule.arguments:
            assert _call(browser, rule, world).status_code == 404, rule.endpoint
    for url in ("/work", "/situation/items?queue=omaolo-porvoo"):
        assert f'id="item-link-{world["item_id"]}"' not in browser.get(url).get_data(as_text=True)
    # Another's saved view is not theirs to remove.
    assert browser.post(f"/situation/views/{world['view_id']}/delete").status_code == 404


# --- a team lead's reach: the people of their own queues and municipalities ------------------


def _social_team(session) -> dict:
    """The review's case: a lead of two social-services queues, the people around them, and an
    item of the lead's in the hands of one of their team."""
    lead = make_user(
        session,
        role="team_lead",
        queues=["social-porvoo", "social-sipoo"],
        municipalities=["porvoo", "sipoo"],
    )
    holder = make_user(session, queues=["social-porvoo"], municipalities=["porvoo"])
    gone = make_user(session, queues=["social-porvoo"], municipalities=["porvoo"])
    gone.active = False
    item = make_item(session, queue="social-porvoo", municipality="porvoo")
    item.assignee, item.status = holder, "in_progress"
    session.flush()
    return {
        "lead": lead,
        "holder": holder,
        "item": item,
        "gone": gone,
        "chief": make_user(session, role="admin", queues=[]),
        "worker": make_user(session, queues=["social-porvoo"], municipalities=["porvoo"]),
        "co_lead": make_user(
            session, role="team_lead", queues=["social-porvoo", "health-sipoo"], municipalities=None
        ),
        # serves Porvoo, as the lead does, in a queue of someone else's
        "nearby": make_user(session, queues=["health-porvoo"], municipalities=["porvoo"]),
        "health": make_user(session, queues=["health-askola"], municipalities=["askola"]),
        "admin": make_user(session, role="admin", queues=[]),
        # already in the lead's queue, but none of them works items in the real desk
        "trainee": make_user(session, role="trainee", queues=["social-porvoo"]),
        "trainer": make_user(session, role="trainer", queues=["social-porvoo"]),
        "auditor": make_user(session, role="auditor", queues=["social-porvoo"]),
    }


REACH = [
    # who manages, whom: their page, setting their capacity, adding them to a queue, giving
    # them the lead's item (302 done; 403 or 404 refused, and nothing changed)
    ("lead", "lead", 200, 302, 302, 302),
    ("lead", "worker", 200, 302, 302, 302),
    ("lead", "co_lead", 200, 302, 302, 302),
    ("lead", "nearby", 200, 403, 302, 403),
    ("lead", "health", 404, 404, 404, 403),
    ("lead", "admin", 404, 404, 404, 403),
    ("lead", "trainee", 404, 404, 404, 403),
    ("lead", "trainer", 404, 404, 404, 403),
    ("lead", "auditor", 404, 404, 404, 403),
    ("lead", "gone", 404, 404, 404, 403),
    ("chief", "worker", 200, 302, 302, 302),
    ("chief", "health", 200, 302, 302, 403),  # not in the item's queue
    ("chief", "admin", 200, 302, 302, 403),
    ("chief", "trainee", 404, 404, 404, 403),
    ("chief", "trainer", 404, 404, 404, 403),
    ("chief", "auditor", 404, 404, 404, 403),
    ("chief", "gone", 404, 404, 404, 403),
]


@pytest.mark.parametrize(("manager", "whom", "page", "capacity", "join", "give"), REACH)
def test_a_lead_manages_only_the_people_of_their_queues_and_municipalities(
    app, app_session, manager, whom, page, capacity, join, give
):
    team = _social_team(app_session)
    boss = Browser(app.test_client()).login(team[manager])
    person_id, item_id, holder_id = team[whom].id, team["item"].id, team["holder"].id
    managed = (
        {q.code for q in app_session.scalars(select(Queue).where(Queue.active))}
        if manager == "chief"
        else team["lead"].queue_codes
    )

    def person() -> User:
        app_session.expire_all()
        return app_session.get(User, person_id)

    before = person()
    queues, kept_capacity = before.queue_codes, before.capacity
    url = f"/team/people/{person_id}"
    assert boss.get(url).status_code == page

    answer = boss.post(url, {"capacity": "0", "queues": sorted(queues & managed)}, htmx=False)
    assert answer.status_code == capacity, "capacity"
    after = person()
    assert after.capacity == (0 if capacity == 302 else kept_capacity)
    assert after.queue_codes == queues
    kept_capacity = after.capacity

    chosen = sorted((queues & managed) | {"social-sipoo"})
    assert boss.post(url, {"queues": chosen}, htmx=False).status_code == join, "joining"
    after = person()
    assert after.queue_codes == (queues | {"social-sipoo"} if join == 302 else queues)
    assert after.capacity == kept_capacity

    answer = boss.post(
        # Confirmed: whether the person is available is asked first, and is not the point here.
        "/team/reassign",
        {"items": [str(item_id)], "to": str(person_id), "confirm": "1"},
        htmx=False,
    )
    assert answer.status_code == give, "giving the item"
    item = app_session.get(WorkItem, item_id)
    app_session.refresh(item)
    assert item.assignee_id == (person_id if give == 302 else holder_id)


def test_a_lead_moves_nothing_of_another_queue(app, app_session):
    team = _social_team(app_session)
    health_item = make_item(app_session, queue="health-porvoo", municipality="porvoo")
    health_item.assignee, health_item.status = team["nearby"], "in_progress"
    app_session.flush()
    boss = Browser(app.test_client()).login(team["lead"])
    for to in ("queue", str(team["worker"].id)):
        answer = boss.post(
            "/team/reassign",
            {"items": [str(team["item"].id), str(health_item.id)], "to": to},
            htmx=False,
        )
        assert answer.status_code == 404
    app_session.expire_all()
    assert app_session.get(WorkItem, health_item.id).assignee_id == team["nearby"].id
    assert app_session.get(WorkItem, team["item"].id).assignee_id == team["holder"].id, (
        "nothing of the request was done"
    )
