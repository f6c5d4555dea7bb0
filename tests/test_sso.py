"""Single sign-on through the region's Keycloak, for real over HTTP: the unmodified
python-keycloak client in the desk against the Keycloak-compatible provider of tests/idp.py
(RS256, PKCE, single-use codes, sessions), and the failures the desk must refuse."""

from __future__ import annotations

import re
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import Page, expect
from sqlalchemy import select
from werkzeug.serving import make_server

from desk import create_app
from desk.extensions import db
from desk.models import SsoSession, User
from tests import idp
from tests.conftest import _migrated_app
from tests.test_browser import tour_closed

NURSE = "nina.nurse"


def _people() -> dict[str, idp.Person]:
    return {
        NURSE: idp.Person(
            "salasana-1",
            "Nina Nurse",
            realm_roles=["desk-professional", "offline_access"],
            municipalities=["/municipalities/porvoo", "/municipalities/sipoo"],
        ),
        "lea.lead": idp.Person("salasana-2", "Lea Lead", client_roles=["desk-team-lead"]),
        "no.role": idp.Person("salasana-3", "Nobody Here", realm_roles=["offline_access"]),
        "tom.trainer": idp.Person(
            "salasana-4", "Tom Trainer", realm_roles=["desk-professional", "desk-trainer"]
        ),
        "tea.trainee": idp.Person("salasana-5", "Tea Trainee", realm_roles=["desk-trainee"]),
    }


@pytest.fixture(scope="module")
def provider():
    with idp.serve() as running:
        yield running


@pytest.fixture(scope="module")
def sso_app(provider, tmp_path_factory):
    database = tmp_path_factory.mktemp("sso") / "desk.db"
    return _migrated_app(
        f"sqlite:///{database}",
        tmp_path_factory,
        DESK_KEYCLOAK=provider.desk_settings(
            "desk-professional=professional,desk-team-lead=team_lead,"
            "desk-trainer=trainer,desk-trainee=trainee"
        ),
    )


@pytest.fixture(autouse=True)
def fresh(provider):
    provider.people = _people()
    provider.spoil = None
    provider.access_lifetime = 300
    provider.calls.clear()
    provider.sessions.clear()
    provider.ended.clear()
    yield


def _to_provider(client) -> str:
    answer = client.get("/login/sso")
    assert answer.status_code == 302
    return answer.headers["Location"]


def _at_provider(url: str, username: str, password: str) -> str:
    """What the browser does at Keycloak: the form, then the redirect back with a code."""
    assert requests.get(url, timeout=10).status_code == 200
    answer = requests.post(
        url, data={"username": username, "password": password}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def _back(client, callback: str):
    parts = urlsplit(callback)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client, username=NURSE, password="salasana-1"):  # noqa: S107
    return _back(client, _at_provider(_to_provider(client), username, password))


def test_sign_in_uses_pkce_state_and_nonce_and_keeps_tokens_on_the_server(sso_app, provider):
    client = sso_app.test_client()
    url = _to_provider(client)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{provider.issuer}/protocol/openid-connect/auth?")
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert query["scope"] == ["openid profile email"]
    answer = _back(client, _at_provider(url, NURSE, "salasana-1"))
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/work")
    page = client.get("/work").get_data(as_text=True)
    assert "Nina Nurse" in page
    with sso_app.app_context():
        user = db.session.scalar(select(User).where(User.username == NURSE))
        assert user.role == "professional" and user.password_hash is None
        assert user.municipality_codes == {"porvoo", "sipoo"}
        kept = db.session.scalar(select(SsoSession).where(SsoSession.user_id == user.id))
        assert kept.access_token.count(".") == 2 and kept.refresh_token
    # The browser holds only a random session id, never a token.
    cookie = client.get_cookie("session").value
    session = sso_app.session_interface.get_signing_serializer(sso_app).loads(cookie)
    assert set(session) >= {"sso_sid"} and kept.access_token not in str(session)
    assert "access_token" not in str(session) and len(cookie) < 400


def test_the_realms_keys_are_fetched_once_not_per_sign_in(sso_app, provider):
    for _ in range(3):
        sign_in(sso_app.test_client())
    assert provider.calls.get("certs", 0) <= 1
    assert provider.calls["token"] == 3


@pytest.mark.parametrize("spoil", ["tamper", "expired", "audience", "other_key", "issuer", "nonce"])
def test_tokens_that_cannot_be_trusted_are_refused(sso_app, provider, spoil):
    client = sso_app.test_client()
    url = _to_provider(client)
    provider.spoil = spoil
    answer = _back(client, _at_provider(url, NURSE, "salasana-1"))
    assert answer.status_code == 401, spoil
    assert 'role="alert"' in answer.get_data(as_text=True)
    assert client.get("/work").status_code == 302, "not signed in"


def test_a_replayed_code_and_a_wrong_state_are_refused(sso_app):
    client = sso_app.test_client()
    callback = _at_provider(_to_provider(client), NURSE, "salasana-1")
    assert _back(client, callback).status_code == 302  # the first use signs in
    other = sso_app.test_client()
    state = parse_qs(urlsplit(_to_provider(other)).query)["state"][0]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    replay = other.get(f"/login/callback?code={code}&state={state}")
    assert replay.status_code == 401 and other.get("/work").status_code == 302
    third = sso_app.test_client()
    url = _to_provider(third)
    callback = _at_provider(url, NURSE, "salasana-1")
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    assert _back(third, forged).status_code == 401
    assert third.get("/work").status_code == 302


def test_someone_without_a_desk_role_is_refused(sso_app):
    client = sso_app.test_client()
    answer = sign_in(client, "no.role", "salasana-3")
    assert answer.status_code == 403
    assert "ei ole roolia työpöydällä" in answer.get_data(as_text=True)
    assert client.get("/work").status_code == 302
    lead = sso_app.test_client()
    sign_in(lead, "lea.lead", "salasana-2")  # a client role maps too
    with sso_app.app_context():
        assert db.session.scalar(select(User.role).where(User.username == "lea.lead")) == (
            "team_lead"
        )


def test_training_roles_come_from_the_token_beside_a_real_role_or_alone(sso_app):
    both = sso_app.test_client()
    sign_in(both, "tom.trainer", "salasana-4")
    page = both.get("/work").get_data(as_text=True)
    assert 'action="/training/enter"' in page and "training-banner" not in page
    learner = sso_app.test_client()
    assert sign_in(learner, "tea.trainee", "salasana-5").status_code == 302
    assert "training-banner" in learner.get("/work").get_data(as_text=True)
    with sso_app.app_context():
        accounts = {
            u.username: (u.role, u.training_role)
            for u in db.session.scalars(select(User).where(User.username.like("t%.t%")))
        }
    assert accounts == {
        "tom.trainer": ("professional", "trainer"),
        "tea.trainee": ("trainee", None),
    }


def test_tokens_are_refreshed_and_a_session_ended_at_keycloak_ends_the_desks(sso_app, provider):
    provider.access_lifetime = 20  # under the 30 s the desk refreshes ahead
    client = sso_app.test_client()
    sign_in(client)
    assert client.get("/work").status_code == 200
    assert provider.calls.get("refresh", 0) >= 1, "refreshed before it expired"
    for session in provider.sessions.values():
        provider.ended.add(session["sid"])  # an administrator ends it in Keycloak
    answer = client.get("/work")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_back_channel_logout_ends_the_desks_session_at_once(sso_app, provider):
    """Keycloak posts a signed logout token when an administrator ends a session: the desk's
    session of it ends before its tokens would expire; another person's stays."""
    nurse, lead = sso_app.test_client(), sso_app.test_client()
    sign_in(nurse)
    sign_in(lead, "lea.lead", "salasana-2")
    (sid,) = provider.end_sessions(NURSE)
    answer = sso_app.test_client().post(
        "/login/backchannel-logout", data={"logout_token": provider.logout_token(sid=sid)}
    )
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    ended = nurse.get("/work")
    assert ended.status_code == 302 and "/login" in ended.headers["Location"]
    assert lead.get("/work").status_code == 200
    # By subject only: every session of that person ends.
    again = sso_app.test_client()
    sign_in(again, "lea.lead", "salasana-2")
    sub = provider.people["lea.lead"].sub
    token = provider.logout_token(sub=sub)
    answer = sso_app.test_client().post("/login/backchannel-logout", data={"logout_token": token})
    assert answer.status_code == 200
    assert again.get("/work").status_code == 302 and lead.get("/work").status_code == 302


@pytest.mark.parametrize(
    "spoil",
    [
        {"events": None},  # not a logout event
        {"nonce": "n"},  # a logout token never carries a nonce
        {"aud": "someone-else"},
        {"iss": "https://elsewhere.example/realms/x"},
        {"iat": 1_000_000_000},  # long ago
        {"exp": 1_000_000_000},  # expired
        {"sid": None, "sub": None},  # names nobody
    ],
)
def test_a_logout_token_that_cannot_be_trusted_ends_nothing(sso_app, provider, spoil):
    client = sso_app.test_client()
    sign_in(client)
    sid = [s["sid"] for s in provider.sessions.values() if s["username"] == NURSE][-1]
    token = provider.logout_token(**{"sid": sid, **spoil})
    answer = sso_app.test_client().post("/login/backchannel-logout", data={"logout_token": token})
    assert answer.status_code == 400 and answer.json["error"] == "invalid_request"
    assert client.get("/work").status_code == 200
    provider.spoil = "other_key"  # signed by someone else
    forged = provider.logout_token(sid=sid)
    provider.spoil = None
    assert (
        sso_app.test_client()
        .post("/login/backchannel-logout", data={"logout_token": forged})
        .status_code
        == 400
    )
    assert client.get("/work").status_code == 200


def test_signing_out_ends_the_keycloak_session_too(sso_app, provider):
    client = sso_app.test_client()
    sign_in(client)
    with sso_app.app_context():
        kept = db.session.scalar(select(SsoSession).order_by(SsoSession.created_at.desc()))
        refresh = kept.refresh_token
    client.get("/work")
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/work").text).group(1)
    answer = client.post("/logout", headers={"X-CSRFToken": token})
    assert answer.status_code == 302
    end = answer.headers["Location"]
    assert end.startswith(f"{provider.issuer}/protocol/openid-connect/logout?")
    assert "id_token_hint=" in end and "post_logout_redirect_uri=" in end
    assert provider.calls["logout"] == 1 and provider.sessions[refresh]["sid"] in provider.ended
    assert client.get("/work").status_code == 302
    with sso_app.app_context():
        assert db.session.get(SsoSession, kept.id) is None


def test_local_passwords_are_refused_when_the_region_signs_in(sso_app):
    client = sso_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"username": "x", "password": "y", "csrf_token": token})
    assert answer.status_code == 403


def test_a_production_configuration_without_keycloak_refuses_to_start(tmp_path):
    with pytest.raises(RuntimeError, match="DESK_PRODUCTION"):
        create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                "SECRET_KEY": "t",
                "REDIS_URL": None,
                "DESK_PRODUCTION": True,
                "DESK_KEYCLOAK": {"server_url": ""},
            }
        )


@pytest.fixture
def sso_live(sso_app):
    server = make_server("127.0.0.1", 0, sso_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.mark.console_allows("status of 404")  # the provider has no favicon
def test_a_browser_signs_in_and_out_through_keycloak(sso_live, provider, page: Page):
    page.goto(sso_live + "/login")
    page.get_by_role("link", name="Kirjaudu alueen tunnuksella").click()
    expect(page).to_have_url(re.compile(re.escape(provider.issuer)))
    page.get_by_label("Username").fill(NURSE)
    page.get_by_label("Password").fill("salasana-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(sso_live + "/work")
    expect(page.locator(".who")).to_contain_text("Nina Nurse")
    # Her first day at the desk: the tour opens by itself; she closes it.
    expect(page.locator("dialog[data-tour][open]")).to_have_count(1)
    tour_closed(page)
    page.get_by_role("button", name="Kirjaudu ulos").click()
    expect(page).to_have_url(sso_live + "/login")
    assert provider.calls["logout"] >= 1


def test_simultaneous_requests_never_wait_for_each_others_connections(provider, tmp_path_factory):
    """Every open page reconnecting its event stream at once (after a restart, say): many
    more requests at the same moment than the pool has connections. Each holds one at a
    time, so they queue for the pool and all get through; a request that held its own and
    waited for a second (the tokens' check) would wait for the others until all failed."""
    database = tmp_path_factory.mktemp("pool") / "desk.db"
    app = _migrated_app(
        f"sqlite:///{database}",
        tmp_path_factory,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 2, "max_overflow": 0, "pool_timeout": 3},
        DESK_KEYCLOAK=provider.desk_settings(),
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        browser = requests.Session()
        to_provider = browser.get(base + "/login/sso", allow_redirects=False, timeout=10)
        callback = _at_provider(to_provider.headers["Location"], NURSE, "salasana-1")
        assert browser.get(callback, timeout=10).url == base + "/work"
        cookie = browser.cookies["session"]
        start = threading.Barrier(8)

        def my_work(_n) -> int:
            start.wait()
            answer = requests.get(
                base + "/work",
                cookies={"session": cookie},
                allow_redirects=False,
                timeout=30,
            )
            return answer.status_code

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(my_work, range(8))) == [200] * 8
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()
