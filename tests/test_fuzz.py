"""Hostile addresses, query strings and form fields: refused (4xx), never a server error.

The cases a security review found come first; then every route of the app, signed in as a role
that may call it, gets hostile values in its path parameters and in every field the desk's pages
and views know of, once as a fixed sweep and then as hypothesis draws.
"""

from __future__ import annotations

import importlib
import io
import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.routing import Rule

import desk
from desk import training
from desk.inbound import tokens
from desk.models import DigitalService, Instruction, ResponseTemplate, SavedView
from desk.policy import ACCESS
from tests.factories import CHANNELS, make_item, make_user
from tests.web import Browser

BEYOND_32_BITS = str(2**32)


@pytest.mark.parametrize(
    ("role", "method", "url"),
    [
        ("admin", "GET", "/situation?municipality=%00"),
        ("admin", "GET", "/situation/items?queue=%00"),
        ("auditor", "GET", "/audit?professional=%00"),
        ("team_lead", "GET", "/team/queues/%00"),
        ("admin", "GET", f"/items/{BEYOND_32_BITS}"),
        ("admin", "GET", f"/instructions/{BEYOND_32_BITS}"),
        ("team_lead", "GET", f"/team/people/{BEYOND_32_BITS}"),
        ("admin", "GET", f"/situation/items?after={BEYOND_32_BITS}"),
        ("admin", "POST", f"/situation/views/{BEYOND_32_BITS}/delete"),
    ],
)
def test_what_the_review_found_is_refused_not_a_server_error(app, app_session, role, method, url):
    browser = Browser(app.test_client()).login(
        make_user(app_session, role=role, queues=["omaolo-porvoo"])
    )
    answer = browser.get(url) if method == "GET" else browser.post(url)
    assert answer.status_code in (400, 404), (url, answer.status_code)


def test_a_text_areas_line_breaks_and_tabs_pass_and_a_nul_is_refused(app, app_session):
    """The guard refuses control characters, but not the ones a person types in a note."""
    nurse = make_user(app_session, queues=["chat-regional"])
    item = make_item(app_session, queue="chat-regional")
    browser = Browser(app.test_client()).login(nurse)
    browser.post(f"/items/{item.id}/take")
    typed = "Soitin kahdesti.\r\nEi vastausta:\tyritän huomenna."
    answer = browser.post(f"/items/{item.id}/note", {"text": typed})
    assert answer.status_code == 200
    assert "yritän huomenna." in answer.get_data(as_text=True)
    answer = browser.post(f"/items/{item.id}/note", {"text": "nolla\x00merkki"})
    assert answer.status_code == 400
    assert "nolla" not in browser.get(f"/items/{item.id}").get_data(as_text=True)


# --- every route, hostile values in every parameter -------------------------------------------

DESK = Path(desk.__file__).resolve().parent
#: the order in which a role is picked to call a route that several may call
ROLE_ORDER = ("admin", "team_lead", "professional", "trainer", "auditor", "trainee")
SKIPPED = {
    "live.events": "a stream; without Redis it answers 404 at once (tests/test_authorization)",
    "auth.logout": "ends the session the sweep uses",
}
#: values that broke or could break a parser, a converter or the database
HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    str(2**31),
    str(2**63),
    "9" * 40,
    "1" * 5000,  # beyond Python's 4300 digits for int()
    "1.5",
    "1e999",
    "NaN",
    "\u00b2",  # a digit by str.isdigit that int() refuses
    "\u0663",  # ARABIC-INDIC DIGIT THREE: a digit int() reads
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "line\nbreak",
    "%",
    "%00",
    "%%32%65",
    "../../../etc/passwd",
    "' OR 1=1 --",
    '<script>alert("x")</script>',
    "😷" * 50,
    "x" * 3000,
    "[" * 1100,  # deeper than Python's recursion limit
    '{"a": 1, "a": 2}',
    "2023-02-30",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
]
#: one of each kind, for the sweep over every route (hypothesis draws from all of HOSTILE);
#: short, as each goes into every field at once
SWEEP = ["9" * 40, "\u00b2", "1e999", "\x00", "[" * 1100, "0001-01-01", "9999-12-31"]


def _field_names() -> list[str]:
    """Every field a page's form sends or a view reads: the templates' `name="…"`, the views'
    request.args/form look-ups, and their lists of field names (`*_FIELDS`, `*_KEYS`)."""
    names: set[str] = set()
    for template in (DESK / "templates").rglob("*.html"):
        names |= set(re.findall(r'name="([a-z_0-9]+)"', template.read_text(encoding="utf-8")))
    for module in (DESK / "views").glob("*.py"):
        source = module.read_text(encoding="utf-8")
        names |= set(
            re.findall(r'request\.(?:args|form|values|files)[.a-z]*[(\[]\s*"([a-z_0-9]+)"', source)
        )
        loaded = importlib.import_module(f"desk.views.{module.stem}")
        for attribute, value in vars(loaded).items():
            if attribute.endswith(("_FIELDS", "_KEYS")) and isinstance(value, tuple):
                names |= {v for v in value if isinstance(v, str)}
    # The CSRF token travels in a header, as the pages send it: a hostile one would only
    # test that CSRF refuses it.
    names -= {"csrf_token"}
    return sorted(names)


FIELDS = _field_names()


def _rules(app) -> list[tuple[Rule, str]]:
    """(rule, method) for every route and method but those SKIPPED."""
    return [
        (rule, method)
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
        if rule.endpoint not in SKIPPED
        for method in ("GET", "POST")
        if method in rule.methods
    ]


def _url(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with each parameter replaced by its value, percent-encoded (including
    values no converter would build)."""
    return re.sub(
        r"<(?:[a-z]+:)?([a-z_]+)>",
        lambda m: quote(values[m.group(1)], safe="/" if "path:" in m.group(0) else ""),
        rule.rule,
    )


@pytest.fixture
def callers(app, app_session):
    """A signed-in client for each role, one signed out, one source system; and the ids of one
    real thing of each kind a route may name."""
    item = make_item(app_session, queue="omaolo-porvoo", municipality="porvoo")
    people = {
        role: make_user(
            app_session, role=role, queues=["omaolo-porvoo"] if role in ROLE_ORDER[:3] else []
        )
        for role in ROLE_ORDER
    }
    switcher = make_user(app_session, role="team_lead", queues=["omaolo-porvoo"])
    switcher.training_role = "trainer"
    view = SavedView(user_id=people["admin"].id, name="Oma näkymä", params={})
    app_session.add(view)
    # (In tests every space's queries go to the test's transaction: see conftest.app_session.)
    starter = json.loads((DESK / "data" / "training" / "starter_pack.json").read_text())
    pack = training.load_pack(app_session, starter)
    run = training.start_run(
        app_session, pack, people["trainer"], [people["trainee"]], CHANNELS, pace_minutes=60
    )
    _, secret = tokens.create(app_session, "Fuzz", CHANNELS.names())
    app_session.commit()
    browsers = {role: Browser(app.test_client()).login(user) for role, user in people.items()}
    browsers["switchers"] = Browser(app.test_client()).login(switcher)
    anonymous = Browser(app.test_client())
    anonymous.get("/login")
    browsers["public"] = anonymous
    source = Browser(app.test_client())
    source.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    browsers["source_system"] = source
    real = {
        "item_id": str(item.id),
        "instruction_id": str(app_session.scalar(select(Instruction.id).limit(1))),
        "template_id": str(app_session.scalar(select(ResponseTemplate.id).limit(1))),
        "view_id": str(view.id),
        "user_id": str(people["professional"].id),
        "code": "omaolo-porvoo",
        "service_id": str(app_session.scalar(select(DigitalService.id).limit(1))),
        "run_id": str(run.id),
        "pack_id": str(pack.id),
        "scenario_id": str(pack.scenarios[0].id),
        "channel": "chat",
        "external_id": "nothing-here",
        "filename": "css/desk.css",
    }
    return browsers, real


def _caller(browsers: dict, endpoint: str) -> Browser:
    allowed = ACCESS[endpoint]
    if isinstance(allowed, str):
        return browsers[allowed]
    return browsers[next(role for role in ROLE_ORDER if role in allowed)]


def _send(browser: Browser, method: str, url: str, fields: dict[str, str]):
    if method == "GET":
        return browser.get(url, query_string=fields)
    form = dict(fields)
    if "file" in form:
        form["file"] = (io.BytesIO(form["file"].encode()), "upload.json")
    return browser.post(url, data=form, query_string=fields)


def _server_error(browser: Browser, method: str, url: str, fields: dict[str, str]) -> str | None:
    """None, or what was sent (in short) when the answer was a 5xx."""
    answer = _send(browser, method, url, fields)
    answer.close()
    if answer.status_code < 500:
        return None
    sent = {name: f"{value[:20]!r}{'…' * (len(value) > 20)}" for name, value in fields.items()}
    shown = sent if len(sent) < 5 else set(sent.values())
    return f"{answer.status_code} {method} {url[:120]} {shown}"


def test_no_hostile_value_in_any_parameter_makes_a_server_error(app, callers):
    """Each hostile value in every path parameter (nothing else sent); then each in every
    field at once, the path naming real things. Every route, signed in as one who may call it."""
    browsers, real = callers
    failures = []
    for rule, method in _rules(app):
        browser = _caller(browsers, rule.endpoint)
        for value in SWEEP if rule.arguments else []:
            url = _url(rule, dict.fromkeys(rule.arguments, value))
            failures.append(_server_error(browser, method, url, {}))
        url = _url(rule, real)
        for value in SWEEP:
            failures.append(_server_error(browser, method, url, dict.fromkeys(FIELDS, value)))
    found = [failure for failure in failures if failure]
    assert not found, "\n".join(found)


TEXT = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers().map(str),
    st.floats().map(repr),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
)


@settings(
    max_examples=400,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_mix_of_hostile_values_makes_a_server_error(app, callers, data):
    """Random routes, some parameters real and some hostile, a few fields at a time."""
    browsers, real = callers
    rule, method = data.draw(st.sampled_from(_rules(app)), label="route")
    values = {
        name: data.draw(st.one_of(st.just(real[name]), TEXT), label=name)
        for name in sorted(rule.arguments)
    }
    fields = data.draw(st.dictionaries(st.sampled_from(FIELDS), TEXT, max_size=4), label="fields")
    browser = _caller(browsers, rule.endpoint)
    assert _server_error(browser, method, _url(rule, values), fields) is None
