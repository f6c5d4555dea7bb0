"""Every redirect that follows a value from the request (a form's `back`, sign-in's and the
language switch's `next`) stays on the desk: a hostile value ends on the desk's own page."""

from __future__ import annotations

import re

import pytest

from desk.security import same_site_path
from tests.factories import PASSWORD, make_user
from tests.web import Browser

CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: values that lead a browser to another site, or to script, or break the header
HOSTILE = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example/x",
    "///evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "https:/\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/\t/evil.example",  # browsers drop tabs and line breaks inside a URL: //evil.example
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\x00/evil.example",
    " //evil.example",
    "\x01//evil.example",
    "/\u200b/evil.example",
    "evil.example",
    "",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_target_falls_back(value):
    assert same_site_path(value, "/work") == "/work"


@pytest.mark.parametrize(
    "value",
    ["/team", "/team/people/12", "/situation/items?queue=chat-regional&state=waiting", "/"],
)
def test_a_path_of_the_desk_is_kept(value):
    assert same_site_path(value, "/work") == value


def test_nothing_at_all_falls_back():
    assert same_site_path(None, "/team") == "/team"


def _refused_at_the_door(value: str, answer) -> bool:
    """A control character in a field is refused before any view reads it (desk/views/guard.py):
    a 400 page of the desk's own, following nothing."""
    return answer.status_code == 400 and "Location" not in answer.headers and CONTROL.search(value)


def _each_lands_on(answer_for, expected: str) -> None:
    for value in HOSTILE:
        answer = answer_for(value)
        if _refused_at_the_door(value, answer):
            continue
        assert answer.status_code in (302, 303), (value, answer.status_code)
        assert answer.headers["Location"] == expected, value


def test_availability_goes_back_only_within_the_desk(app, app_session):
    nurse = Browser(app.test_client()).login(make_user(app_session))
    _each_lands_on(
        lambda value: nurse.post("/me/status", {"status": "available", "back": value}, htmx=False),
        "/work",
    )
    kept = nurse.post("/me/status", {"status": "busy", "back": "/situation"}, htmx=False)
    assert kept.headers["Location"] == "/situation"


def test_reassigning_goes_back_only_within_the_desk(app, app_session):
    lead = make_user(app_session, role="team_lead", queues=["omaolo-porvoo"])
    boss = Browser(app.test_client()).login(lead)
    _each_lands_on(
        lambda value: boss.post("/team/reassign", {"to": "queue", "back": value}, htmx=False),
        "/team",
    )
    back = f"/team/people/{lead.id}"
    assert boss.post("/team/reassign", {"to": "queue", "back": back}).headers["Location"] == back


def test_signing_in_goes_on_only_within_the_desk(app, app_session):
    nurse = make_user(app_session)
    for value in HOSTILE:
        browser = Browser(app.test_client())
        browser.get("/login")
        answer = browser.client.post(
            "/login",
            query_string={"next": value},
            data={"username": nurse.username, "password": PASSWORD, "csrf_token": browser.token},
        )
        if _refused_at_the_door(value, answer):
            continue
        assert answer.status_code == 302, value
        assert answer.headers["Location"] == "/work", value


def test_the_language_switch_goes_back_only_within_the_desk(app, app_session):
    auditor = Browser(app.test_client()).login(make_user(app_session, role="auditor", queues=[]))
    _each_lands_on(
        lambda value: auditor.post("/language", {"language": "fi", "next": value}, htmx=False),
        "/audit",
    )
