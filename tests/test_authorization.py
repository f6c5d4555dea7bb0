"""Every route, for every role, for someone signed out and for a professional of another
municipality: allowed or refused as `desk.policy` says. A new route without a rule fails here
(and is closed at runtime)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desk.models import Instruction, ResponseTemplate, Role, SavedView
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
        sent_to_login = answer.status_code == 302 and "/login" in answer.headers["Location"]
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
