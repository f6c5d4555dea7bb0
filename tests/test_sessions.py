"""Sessions and sign-in: signing out, an idle timeout and the longest session end a session on
the server (a cookie saved before cannot bring it back), the sign-in page says why, and the
pages' own background requests are not activity. Only failed sign-ins count toward the
limits. Behind a trusted proxy the desk sees the client's address and its public URL."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask_babel import force_locale, gettext, ngettext
from markupsafe import escape
from sqlalchemy import event, func, select

from desk import auth, config
from desk.extensions import db
from desk.inbound import tokens
from desk.models import (
    AccessLog,
    ItemEvent,
    Municipality,
    Queue,
    SsoSession,
    User,
    UserSession,
    utcnow,
)
from desk.ratelimit import MemoryLimiter
from tests import contract, idp
from tests.conftest import _migrated_app
from tests.factories import PASSWORD, make_item, make_user
from tests.web import Browser, text

PID = "131052-308T"
IDLE = (
    "You were signed out after %(num)d minute without activity.",
    "You were signed out after %(num)d minutes without activity.",
)
LONGEST = (
    "You were signed out: a session lasts at most %(num)d hour.",
    "You were signed out: a session lasts at most %(num)d hours.",
)
SIGNED_OUT = "You have signed out."


class Clock:
    """The sessions' clock, moved on by the test instead of waiting."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **span) -> None:
        self.now += timedelta(**span)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(auth, "utcnow", clock)
    return clock


def sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def words(app, message: str | tuple[str, str], n: int = 0, language: str = "fi") -> str:
    """The message in `language`, from the catalogues."""
    locale = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_FI"}[language]
    with app.test_request_context(), force_locale(locale):
        return gettext(message) if isinstance(message, str) else ngettext(*message, n)


def said(app, message: str | tuple[str, str], n: int = 0, language: str = "fi") -> str:
    """The message as the sign-in page's HTML writes it."""
    return str(escape(words(app, message, n, language)))


def replaying(app, cookie: str):
    """Another browser that sends the saved session cookie, as someone who copied it would."""
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


# --- who is signed in -------------------------------------------------------------------------


def test_the_signed_in_users_codes_come_in_one_row_and_follow_a_change(session):
    """Every request reads its user with the codes of their queues and municipalities gathered
    (`auth._USER`), on PostgreSQL and SQLite alike: one statement of one row, whatever the
    number of queues. A change to the collections is what the codes say from then on."""
    nurse = make_user(session, queues=["chat-regional", "omaolo-porvoo"], municipalities=["sipoo"])
    auditor = make_user(session, role="auditor", queues=[], municipalities=[])
    session.flush()
    session.expunge_all()
    statements = []

    def count(*args):
        statements.append(args[2])

    engine = session.connection().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        user = session.scalars(auth._USER, {"user_id": nurse.id}).one()
        nobody = session.scalars(auth._USER, {"user_id": auditor.id}).one()
        assert user.queue_codes == {"chat-regional", "omaolo-porvoo"}
        assert user.municipality_codes == {"sipoo"}
        assert nobody.queue_codes == set() == nobody.municipality_codes
        assert len(statements) == 2, "the collections themselves are not read"
    finally:
        event.remove(engine, "before_cursor_execute", count)

    queue, municipality = session.get(Queue, "omaolo-sipoo"), session.get(Municipality, "porvoo")
    with session.no_autoflush:
        user.queues = [queue]
        user.municipalities.append(municipality)
        assert user.queue_codes == {"omaolo-sipoo"}, "changed, not yet written"
        assert user.municipality_codes == {"sipoo", "porvoo"}
    session.flush()
    assert user.queue_codes == {"omaolo-sipoo"}, "written"
    assert user.municipality_codes == {"sipoo", "porvoo"}


# --- signing out ----------------------------------------------------------------------------


def test_a_cookie_saved_before_signing_out_opens_nothing(app, app_session):
    nurse = make_user(app_session, queues=["chat-regional"])
    item = make_item(app_session, queue="chat-regional", personal_id=PID)
    browser = Browser(app.test_client()).login(nurse)
    assert browser.post(f"/items/{item.id}/take").status_code == 200
    assert browser.post(f"/items/{item.id}/note", {"text": "Ennen"}).status_code == 200
    assert PID in text(browser.get(f"/items/{item.id}/summary"))
    saved, token = browser.client.get_cookie("session").value, browser.token

    answer = browser.post("/logout", htmx=False)
    assert sent_to_sign_in(answer)
    assert said(app, SIGNED_OUT) in text(browser.get("/login"))

    looks = select(func.count()).select_from(AccessLog).where(AccessLog.item_id == item.id)
    looked = app_session.scalar(looks)
    for url in ("/work", f"/items/{item.id}", f"/items/{item.id}/summary"):
        answer = replaying(app, saved).get(url)
        assert sent_to_sign_in(answer), url
        assert PID not in text(answer)
    # A note, by htmx as the page sends it and by a plain form: neither is added.
    by_htmx = replaying(app, saved).post(
        f"/items/{item.id}/note",
        data={"text": "Jälkeen"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert by_htmx.status_code == 401
    assert urlsplit(by_htmx.headers["HX-Redirect"]).path == "/login"
    by_form = replaying(app, saved).post(
        f"/items/{item.id}/note", data={"text": "Jälkeen", "csrf_token": token}
    )
    assert sent_to_sign_in(by_form)
    notes = app_session.scalars(
        select(ItemEvent.text).where(ItemEvent.item_id == item.id, ItemEvent.kind == "noted")
    ).all()
    assert notes == ["Ennen"]
    assert app_session.scalar(looks) == looked, "nothing of the item was shown"
    assert browser.client.get("/work").status_code == 302


def test_a_trainees_session_ends_on_the_real_database_too(app, app_session, clock):
    """A trainee works in the training space; the session still lives in the real database."""
    trainee = make_user(app_session, role="trainee", queues=[])
    browser = Browser(app.test_client()).login(trainee)
    assert "training-banner" in text(browser.get("/work"))
    saved = browser.client.get_cookie("session").value
    assert sent_to_sign_in(browser.post("/logout", htmx=False))
    assert sent_to_sign_in(replaying(app, saved).get("/work"))

    again = Browser(app.test_client()).login(trainee)
    clock.advance(minutes=31)
    assert sent_to_sign_in(again.get("/work"))


# --- idle and longest sessions --------------------------------------------------------------


def test_an_idle_session_ends_and_the_sign_in_page_says_why(app, app_session, clock):
    nurse = make_user(app_session, language="sv")
    browser = Browser(app.test_client()).login(nurse)
    for _ in range(3):  # in use: every visit starts the idle time again
        clock.advance(minutes=29)
        assert browser.get("/work").status_code == 200
    saved = browser.client.get_cookie("session").value
    clock.advance(minutes=31)
    answer = browser.get("/work")
    assert sent_to_sign_in(answer)
    page = text(browser.get(answer.headers["Location"]))
    assert 'lang="sv"' in page, "in the person's own language"
    assert said(app, IDLE, 30, "sv") in page
    assert said(app, IDLE, 30, "sv") not in text(browser.get("/login")), "said once"
    # The cookie from before the timeout does not bring the session back.
    assert sent_to_sign_in(replaying(app, saved).get("/work"))
    assert Browser(app.test_client()).login(nurse).get("/work").status_code == 200


def test_a_session_ends_at_its_longest_allowed_length_even_in_use(app, app_session, clock):
    nurse = make_user(app_session)
    browser = Browser(app.test_client()).login(nurse)
    for _ in range(29):  # every 20 minutes for 9 h 40 min
        clock.advance(minutes=20)
        assert browser.get("/work").status_code == 200
    clock.advance(minutes=21)
    answer = browser.get("/work")
    assert sent_to_sign_in(answer)
    assert said(app, LONGEST, 10) in text(browser.get(answer.headers["Location"]))


def test_the_limits_are_settings(app, app_session, clock, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_SESSION_IDLE_MINUTES", 5)
    monkeypatch.setitem(app.config, "DESK_SESSION_MAX_HOURS", 1)
    nurse = make_user(app_session)
    browser = Browser(app.test_client()).login(nurse)
    clock.advance(minutes=4)
    assert browser.get("/work").status_code == 200
    clock.advance(minutes=6)
    assert said(app, IDLE, 5) in text(browser.get("/work", follow_redirects=True))
    browser = Browser(app.test_client()).login(nurse)
    for _ in range(15):
        clock.advance(minutes=4)
        assert browser.get("/work").status_code == 200
    clock.advance(minutes=1)
    assert said(app, LONGEST, 1) in text(browser.get("/work", follow_redirects=True))


def test_the_session_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DESK_SECRET_KEY", "x")
    for name in ("DESK_SESSION_IDLE_MINUTES", "DESK_SESSION_MAX_HOURS", "DESK_TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    defaults = config.from_environment(str(tmp_path))
    assert defaults["DESK_SESSION_IDLE_MINUTES"] == 30
    assert defaults["DESK_SESSION_MAX_HOURS"] == 10
    assert defaults["DESK_TRUSTED_PROXIES"] == 0
    monkeypatch.setenv("DESK_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("DESK_SESSION_MAX_HOURS", "8")
    monkeypatch.setenv("DESK_TRUSTED_PROXIES", "2")
    chosen = config.from_environment(str(tmp_path))
    assert chosen["DESK_SESSION_IDLE_MINUTES"] == 15
    assert chosen["DESK_SESSION_MAX_HOURS"] == 8
    assert chosen["DESK_TRUSTED_PROXIES"] == 2


def test_the_pages_background_requests_are_not_activity(app, app_session, clock):
    """An open item page reports its presence, the situation view refreshes its numbers and
    the event stream reconnects on their own: a page left open still times out, and its next
    background request takes the whole page to the sign-in page with the reason."""
    nurse = make_user(app_session, queues=["chat-regional"])
    item = make_item(app_session, queue="chat-regional")
    browser = Browser(app.test_client()).login(nurse)
    assert browser.get(f"/items/{item.id}").status_code == 200
    page = {"HX-Request": "true", "HX-Current-URL": f"http://localhost/items/{item.id}"}
    refresh = {"HX-Request": "true", "X-Desk-Background": "1"}
    for _ in range(6):  # 30 minutes of polling
        clock.advance(minutes=5)
        presence = browser.get(f"/items/{item.id}/presence", headers=page)
        assert presence.status_code in (200, 204)
        assert browser.get("/situation", headers=refresh).status_code == 200
        assert browser.get("/work", headers=refresh).status_code == 200  # My work's lists
        assert browser.get("/work/emergencies?seen=0").status_code == 200  # every page's check
        assert browser.get("/events").status_code == 404  # no Redis here: no stream, no activity
    clock.advance(minutes=1)
    poll = browser.get(f"/items/{item.id}/presence", headers=page)
    assert poll.status_code == 401
    where = urlsplit(poll.headers["HX-Redirect"])
    assert where.path == "/login" and parse_qs(where.query)["next"] == [f"/items/{item.id}"]
    assert said(app, IDLE, 30) in text(browser.get(poll.headers["HX-Redirect"]))

    # The same requests made by the person (a filter chosen, not a refresh) are activity.
    browser = Browser(app.test_client()).login(nurse)
    clock.advance(minutes=20)
    assert browser.get("/situation", headers={"HX-Request": "true"}).status_code == 200
    clock.advance(minutes=20)
    assert browser.get("/work").status_code == 200


def test_activity_is_written_at_most_once_a_minute(app, app_session, clock):
    nurse = make_user(app_session)
    browser = Browser(app.test_client()).login(nurse)
    seen = select(UserSession.last_seen_at).where(UserSession.user_id == nurse.id)
    signed_in = app_session.scalar(seen)
    for _ in range(5):
        clock.advance(seconds=10)
        assert browser.get("/work").status_code == 200
    assert app_session.scalar(seen) == signed_in, "no write for every request"
    clock.advance(seconds=15)
    browser.get("/work")
    assert app_session.scalar(seen) == clock.now


@pytest.mark.console_allows("status of 401")  # the poll that found the session over
def test_an_open_page_goes_to_the_sign_in_page_when_its_session_times_out(app, live, page, clock):
    """In Chromium: the item page's presence poll (every second here) finds the session idle
    too long, and htmx takes the whole page to the sign-in page, which says why."""
    from playwright.sync_api import expect

    from tests.live import sample_items

    item_id = sample_items(live[1])["chat"]
    page.goto(page.base_url + "/login")
    page.get_by_label("Käyttäjätunnus").fill("hoitaja")
    page.get_by_label("Salasana").fill(PASSWORD)
    page.get_by_role("button", name="Kirjaudu", exact=True).click()
    expect(page).to_have_url(f"{page.base_url}/work")
    page.goto(f"{page.base_url}/items/{item_id}")
    expect(page.locator("#presence")).to_be_attached()
    clock.advance(minutes=31)
    expect(page).to_have_url(f"{page.base_url}/login?next=/items/{item_id}")
    expect(page.locator("#signed-out")).to_have_text(words(app, IDLE, 30))


# --- single sign-on -------------------------------------------------------------------------

PUBLIC = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "desk.example.fi",
}


@pytest.fixture(scope="module")
def provider():
    with idp.serve() as running:
        running.people = {
            "nina.nurse": idp.Person("salasana-1", "Nina Nurse", realm_roles=["desk-professional"])
        }
        yield running


@pytest.fixture(scope="module")
def proxied(provider, tmp_path_factory):
    """The desk with Keycloak, behind one trusted proxy."""
    database = tmp_path_factory.mktemp("proxied") / "desk.db"
    return _migrated_app(
        f"sqlite:///{database}",
        tmp_path_factory,
        DESK_TRUSTED_PROXIES=1,
        DESK_KEYCLOAK=provider.desk_settings(),
    )


def sso_sign_in(client):
    url = client.get("/login/sso").headers["Location"]
    assert requests.get(url, timeout=10).status_code == 200
    answer = requests.post(
        url,
        data={"username": "nina.nurse", "password": "salasana-1"},
        allow_redirects=False,
        timeout=10,
    )
    back = urlsplit(answer.headers["Location"])
    assert client.get(f"{back.path}?{back.query}").status_code == 302


def test_an_idle_sso_session_ends_here_and_at_keycloak(proxied, provider, clock):
    client = proxied.test_client()
    sso_sign_in(client)
    assert client.get("/work").status_code == 200
    clock.advance(minutes=31)
    answer = client.get("/work")
    assert sent_to_sign_in(answer)
    assert said(proxied, IDLE, 30) in text(client.get("/login"))
    with proxied.app_context():
        nurse = db.session.scalar(select(User).where(User.username == "nina.nurse"))
        kept = db.session.scalars(select(SsoSession).where(SsoSession.user_id == nurse.id))
        assert kept.all() == [], "the tokens are gone from the server"
    assert provider.calls.get("logout", 0) >= 1, "and the Keycloak session ended"


# --- sign-in limits -------------------------------------------------------------------------


@pytest.fixture
def sign_in_limits(app, monkeypatch):
    """The sign-in limits switched on with their defaults (the suite runs with them off)."""
    limits = {"login_address": "30/300", "login_user": "10/900"}
    monkeypatch.setitem(app.config, "DESK_RATE_LIMITS", limits)
    monkeypatch.setitem(app.extensions, "desk_limiter", MemoryLimiter())
    return limits


def test_signing_in_again_and_again_never_locks_anyone_out(app, app_session, sign_in_limits):
    sign_in_limits["login_address"] = "5/300"  # an office behind one address
    nurse, doctor = make_user(app_session), make_user(app_session)
    for _ in range(12):
        for person in (nurse, doctor):
            browser = Browser(app.test_client()).login(person)  # asserts the sign-in
            assert sent_to_sign_in(browser.post("/logout", htmx=False))


def test_failures_are_refused_and_a_success_starts_the_count_again(
    app, app_session, sign_in_limits
):
    nurse = make_user(app_session)
    browser = Browser(app.test_client())

    def attempt(password: str):
        browser.get("/login")
        return browser.client.post(
            "/login",
            data={"username": nurse.username, "password": password, "csrf_token": browser.token},
        )

    assert [attempt("wrong").status_code for _ in range(9)] == [401] * 9
    assert attempt(PASSWORD).status_code == 302
    browser.get("/work")
    assert sent_to_sign_in(browser.post("/logout", htmx=False))
    assert [attempt("wrong").status_code for _ in range(10)] == [401] * 10, "counted afresh"
    refused = attempt(PASSWORD)
    assert refused.status_code == 429, "the right password waits too once the limit is used"
    assert int(refused.headers["Retry-After"]) > 0


def test_guessing_across_many_names_from_one_address_is_refused(app, app_session, sign_in_limits):
    sign_in_limits["login_address"] = "3/300"
    nurse = make_user(app_session)
    browser = Browser(app.test_client())
    browser.get("/login")

    def attempt(username: str, password: str = "wrong"):  # noqa: S107
        return browser.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": browser.token}
        )

    assert [attempt(f"guess{n}").status_code for n in range(3)] == [401] * 3
    refused = attempt(nurse.username, PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


# --- behind a proxy -------------------------------------------------------------------------


def test_behind_one_trusted_proxy_the_desk_uses_the_public_url(proxied, provider):
    client = proxied.test_client()
    spec = client.get("/api/v1/openapi.json", headers=PUBLIC).get_json()
    assert spec["servers"] == [{"url": "https://desk.example.fi"}]
    start = client.get("/login/sso", headers=PUBLIC)
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["redirect_uri"] == ["https://desk.example.fi/login/callback"]
    with proxied.app_context():
        _, secret = tokens.create(db.session, "proxy test", ["help-request"])
        db.session.commit()
    payload = contract.example("help-request.json")
    payload["external_id"] = "proxied-1"
    deliveries = [
        client.post(
            "/api/v1/inbound/help-request",
            json=payload,
            headers={**PUBLIC, "Authorization": f"Bearer {secret}"},
        )
        for _ in range(2)
    ]
    assert [d.status_code for d in deliveries] == [202, 200], deliveries[-1].json
    # The repeat's receipt links to the item the first one made.
    assert deliveries[-1].json["item_url"].startswith("https://desk.example.fi/items/")


def refused_look_ups(client, forwarded_for: str) -> int:
    answer = client.get(
        "/api/v1/inbound/help-request/x",
        headers={"X-Forwarded-For": forwarded_for, "Authorization": "Bearer wrong"},
    )
    return answer.status_code


def test_behind_one_trusted_proxy_each_client_has_its_own_address(proxied, monkeypatch):
    monkeypatch.setitem(proxied.config, "DESK_RATE_LIMITS", {"api_refused": "3/60"})
    monkeypatch.setitem(proxied.extensions, "desk_limiter", MemoryLimiter())
    client = proxied.test_client()
    assert [refused_look_ups(client, "203.0.113.7") for _ in range(4)] == [401, 401, 401, 429]
    assert refused_look_ups(client, "203.0.113.8") == 401, "another client behind the proxy"
    # The proxy appends the address it saw: what the client wrote before it is not believed.
    assert refused_look_ups(client, "203.0.113.8, 203.0.113.7") == 429


def test_without_trusted_proxies_forwarded_headers_are_ignored(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_RATE_LIMITS", {"api_refused": "3/60"})
    monkeypatch.setitem(app.extensions, "desk_limiter", MemoryLimiter())
    spoofed = [refused_look_ups(client, f"203.0.113.{n}") for n in range(4)]
    assert spoofed == [401, 401, 401, 429], "one address, whatever the client claims"
    spec = client.get("/api/v1/openapi.json", headers=PUBLIC).get_json()
    assert spec["servers"] == [{"url": "http://localhost"}]
