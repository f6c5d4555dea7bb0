"""Administrators and source systems' outbound endpoints: `flask desk endpoint …`, the admin
pages (a secret shown once, in the answer that made it), the desk telling administrators about
a receiver that answered 410 Gone, and `flask desk partner` for the demo's reference source
system. ../shared/contract/outbound.md, "Endpoints that source systems register"."""

from __future__ import annotations

import json
import re
import stat
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from desk.cli import PARTNER
from desk.inbound import tokens
from desk.models import ApiToken, OutboundEndpoint, OutboxEvent, utcnow
from desk.outbound import delivery, endpoints
from tests.factories import CHANNELS, make_item, make_user
from tests.web import Browser, text

SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")


def signed_by(secret: str, endpoint: OutboundEndpoint) -> bool:
    """Whether an event the desk signs for `endpoint` now verifies with `secret`."""
    now = datetime.now(UTC)
    event = OutboxEvent(id="msg_2c0ffee", body='{"type": "message.created"}')
    headers = delivery.headers(event, endpoints.signing_secrets(endpoint, now), now)
    try:
        Webhook(secret).verify(event.body, headers)
    except WebhookVerificationError:
        return False
    return True


def endpoint_named(session, name: str) -> OutboundEndpoint | None:
    session.expire_all()
    return session.scalar(select(OutboundEndpoint).where(OutboundEndpoint.name == name))


def count_endpoints(session) -> int:
    return session.scalar(select(func.count()).select_from(OutboundEndpoint))


# --- the command line ------------------------------------------------------------------------


def test_the_command_line_registers_lists_rotates_and_disables_an_endpoint(app, app_session):
    runner = app.test_cli_runner()
    created = runner.invoke(
        args=[
            "desk",
            "endpoint",
            "create",
            "--name",
            "Chat platform",
            "--url",
            "https://chat.example.fi/desk-events",
            "--channel",
            "chat",
            "--channel",
            "help-request",
        ]
    )
    assert created.exit_code == 0, created.output
    assert "shown only now" in created.output
    secret = created.output.strip().splitlines()[-1]
    assert SECRET.fullmatch(secret)
    endpoint = endpoint_named(app_session, "Chat platform")
    assert endpoint.enabled and endpoint.channel_list == ["chat", "help-request"]
    assert str(endpoint.id) in created.output
    assert signed_by(secret, endpoint), "the printed secret is the one the desk signs with"

    listed = runner.invoke(args=["desk", "endpoint", "list"])
    assert listed.exit_code == 0, listed.output
    assert (
        "Chat platform" in listed.output and "https://chat.example.fi/desk-events" in listed.output
    )
    assert "chat,help-request" in listed.output and "enabled" in listed.output
    assert "backlog 0, failed 0" in listed.output and "last success never" in listed.output
    assert "whsec_" not in listed.output

    rotated = runner.invoke(args=["desk", "endpoint", "rotate", str(endpoint.id)])
    assert rotated.exit_code == 0, rotated.output
    assert "24 hours" in rotated.output
    new_secret = rotated.output.strip().splitlines()[-1]
    assert SECRET.fullmatch(new_secret) and new_secret != secret
    endpoint = endpoint_named(app_session, "Chat platform")
    assert signed_by(new_secret, endpoint)
    assert signed_by(secret, endpoint), "the old secret keeps signing during the overlap"

    disabled = runner.invoke(args=["desk", "endpoint", "disable", str(endpoint.id)])
    assert disabled.exit_code == 0, disabled.output
    assert not endpoint_named(app_session, "Chat platform").enabled
    assert endpoints.for_channel(app_session, "chat") is None
    assert "disabled" in runner.invoke(args=["desk", "endpoint", "list"]).output

    enabled = runner.invoke(args=["desk", "endpoint", "enable", str(endpoint.id)])
    assert enabled.exit_code == 0, enabled.output
    assert endpoints.for_channel(app_session, "chat").id == endpoint.id


def test_the_command_line_refuses_with_a_clear_message_and_creates_nothing(app, app_session):
    runner = app.test_cli_runner()

    def create(name, url, *channels):
        args = ["desk", "endpoint", "create", "--name", name, "--url", url]
        for channel in channels:
            args += ["--channel", channel]
        return runner.invoke(args=args)

    plain_http = create("Omaolo", "http://omaolo.example.fi/hook", "omaolo")
    assert plain_http.exit_code != 0 and "https" in plain_http.output
    assert create("Omaolo", "nonsense", "omaolo").exit_code != 0
    fax = create("Omaolo", "https://omaolo.example.fi/hook", "fax")
    assert fax.exit_code != 0 and "unknown channel" in fax.output
    assert count_endpoints(app_session) == 0

    assert create("Omaolo", "https://omaolo.example.fi/hook", "omaolo").exit_code == 0
    again = create("Omaolo", "https://other.example.fi/hook", "eform")
    assert again.exit_code != 0 and "already has that name" in again.output
    assert count_endpoints(app_session) == 1
    missing = runner.invoke(args=["desk", "endpoint", "rotate", "999999"])
    assert missing.exit_code != 0 and "no endpoint 999999" in missing.output


# --- the admin pages -------------------------------------------------------------------------


def admin(app, session) -> Browser:
    return Browser(app.test_client()).login(make_user(session, role="admin", language="en"))


def test_an_admin_registers_an_endpoint_and_sees_its_secret_only_once(app, app_session):
    browser = admin(app, app_session)
    form = text(browser.get("/admin/endpoints/new"))
    assert 'name="channels" value="chat"' in form and 'name="csrf_token"' in form
    answer = browser.post(
        "/admin/endpoints/",
        {
            "name": "Chat platform",
            "url": "https://chat.example.fi/desk-events",
            "channels": ["chat", "omaolo"],
        },
    )
    assert answer.status_code == 200
    assert (
        answer.headers["HX-Push-Url"] == "false" and answer.headers["Cache-Control"] == "no-store"
    )
    page = text(answer)
    secrets = SECRET.findall(page)
    assert len(set(secrets)) == 1
    secret = secrets[0]
    endpoint = endpoint_named(app_session, "Chat platform")
    assert endpoint.secret == secret and endpoint.channel_list == ["chat", "omaolo"]
    assert signed_by(secret, endpoint)
    assert "shown only now" in page
    # Never in a flash message (a cookie), and never on a page that can be opened again.
    with browser.client.session_transaction() as session:
        assert "_flashes" not in session
    assert not any(secret in cookie for cookie in answer.headers.getlist("Set-Cookie"))
    listing = text(browser.get("/admin/endpoints/"))
    assert "Chat platform" in listing and "https://chat.example.fi/desk-events" in listing
    assert "whsec_" not in listing
    details = text(browser.get(f"/admin/endpoints/show?id={endpoint.id}"))
    assert "Chat platform" in details and "whsec_" not in details

    rotated = browser.post("/admin/endpoints/rotate", {"endpoint": str(endpoint.id)})
    assert rotated.status_code == 200
    new_secret = SECRET.findall(text(rotated))[0]
    assert new_secret != secret
    endpoint = endpoint_named(app_session, "Chat platform")
    assert endpoint.secret == new_secret and endpoint.previous_secret == secret
    assert signed_by(new_secret, endpoint) and signed_by(secret, endpoint)
    assert "whsec_" not in text(browser.get(f"/admin/endpoints/show?id={endpoint.id}"))


def test_an_admin_disables_and_enables_an_endpoint(app, app_session):
    endpoint, _secret = endpoints.register(
        app_session, "E-forms", "https://forms.example.fi/hook", ["eform"], CHANNELS.names()
    )
    browser = admin(app, app_session)
    browser.get(f"/admin/endpoints/show?id={endpoint.id}")
    answer = browser.post("/admin/endpoints/disable", {"endpoint": str(endpoint.id)}, htmx=False)
    assert answer.status_code == 303
    found = endpoint_named(app_session, "E-forms")
    assert not found.enabled and found.disabled_reason.startswith("disabled by an administrator")
    page = text(browser.get(answer.headers["Location"]))
    assert "Disabled by an administrator." in page
    assert 'action="/admin/endpoints/enable"' in page
    browser.post("/admin/endpoints/enable", {"endpoint": str(endpoint.id)}, htmx=False)
    found = endpoint_named(app_session, "E-forms")
    assert found.enabled and found.disabled_reason is None
    assert browser.post("/admin/endpoints/enable", {"endpoint": "999999"}).status_code == 404


def test_an_address_that_is_not_https_is_refused_and_nothing_is_made(app, app_session):
    browser = admin(app, app_session)
    browser.get("/admin/endpoints/new")
    answer = browser.post(
        "/admin/endpoints/",
        {"name": "Omaolo", "url": "http://omaolo.example.fi/hook", "channels": ["omaolo"]},
    )
    assert answer.status_code == 422
    page = text(answer)
    assert 'id="url-error"' in page and 'aria-invalid="true"' in page
    assert "https://" in page and "whsec_" not in page
    assert 'value="Omaolo"' in page, "what was typed is kept"
    nothing = browser.post("/admin/endpoints/", {"name": "", "url": "https://x.example.fi/"})
    assert nothing.status_code == 422 and 'id="name-error"' in text(nothing)
    assert count_endpoints(app_session) == 0


@pytest.mark.parametrize("role", ["professional", "team_lead", "auditor"])
def test_only_an_admin_reaches_the_endpoints(app, app_session, role):
    endpoint, _secret = endpoints.register(
        app_session, "Chat platform", "https://chat.example.fi/", ["chat"], CHANNELS.names()
    )
    browser = Browser(app.test_client()).login(make_user(app_session, role=role))
    assert browser.get("/admin/endpoints/").status_code == 403
    assert browser.get(f"/admin/endpoints/show?id={endpoint.id}").status_code == 403
    made = browser.post(
        "/admin/endpoints/", {"name": "Mine", "url": "https://x.example.fi/", "channels": "chat"}
    )
    assert made.status_code == 403
    assert (
        browser.post("/admin/endpoints/rotate", {"endpoint": str(endpoint.id)}).status_code == 403
    )
    assert count_endpoints(app_session) == 1
    assert endpoint_named(app_session, "Chat platform").previous_secret is None
    assert 'href="/admin/endpoints/"' not in text(browser.get("/situation"))


def test_the_desk_tells_administrators_when_a_receiver_answers_410_gone(app, app_session):
    endpoint, _secret = endpoints.register(
        app_session, "Chat platform", "https://chat.example.fi/", ["chat"], CHANNELS.names()
    )
    item = make_item(app_session)
    gone, waiting = (
        OutboxEvent(
            id=f"msg_{n}",
            endpoint_id=endpoint.id,
            item_id=item.id,
            type="message.created",
            body="{}",
        )
        for n in ("gone", "waiting")
    )
    app_session.add_all([gone, waiting])
    app_session.flush()
    delivery.settle(
        app_session, gone, delivery.Outcome(410, "410 Gone: no such chat platform"), utcnow()
    )
    app_session.flush()
    assert not endpoint.enabled

    browser = admin(app, app_session)
    listing = browser.get("/admin/endpoints/")
    page = text(listing)
    assert 'id="gone-heading"' in page and "410 Gone" in page
    row = re.search(r'<th scope="row"><a [^>]*>Chat platform</a>.*?</tr>', page, re.S).group(0)
    assert re.search(r'class="num">1</td>\s*<td class="num">1</td>', row), "backlog 1, failed 1"
    assert "410 Gone: no such chat platform" in row
    # Every page's navigation says it too.
    work = text(browser.get("/situation"))
    assert re.search(r'href="/admin/endpoints/"[^>]*>[^<]*<span class="badge', work)
    details = text(browser.get(f"/admin/endpoints/show?id={endpoint.id}"))
    failed = re.search(r'id="failed-heading".*?</section>', details, re.S).group(0)
    assert "msg_gone" in failed and "message.created" in failed
    assert "410 Gone: no such chat platform" in failed and "msg_waiting" not in failed

    browser.post("/admin/endpoints/enable", {"endpoint": str(endpoint.id)})
    assert 'id="gone-heading"' not in text(browser.get("/admin/endpoints/"))


# --- the demo's reference source system ------------------------------------------------------


def test_partner_writes_a_usable_file_and_runs_again(app, app_session, tmp_path):
    runner = app.test_cli_runner()
    output = tmp_path / "partner.json"
    url = "http://127.0.0.1:5001/desk-events"
    args = ["desk", "partner", "--url", url, "--output", str(output)]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    settings = json.loads(output.read_text())
    assert settings["desk_url"] == "http://127.0.0.1:5000"
    assert settings["secret"] not in first.output and settings["token"] not in first.output
    token = tokens.find(app_session, settings["token"])
    assert token is not None and token.name == PARTNER
    assert token.channels == set(CHANNELS.names())
    endpoint = endpoint_named(app_session, PARTNER)
    assert endpoint.enabled and endpoint.url == url
    assert sorted(endpoint.channel_list) == sorted(CHANNELS.names())
    assert signed_by(settings["secret"], endpoint)

    # Again (every `make run`): the same endpoint, enabled at the new address, new secrets.
    endpoints.disable(endpoint, "disabled by an administrator")
    app_session.flush()
    other = "http://localhost:5002/desk-events"
    again = runner.invoke(args=["desk", "partner", "--url", other, "--output", str(output)])
    assert again.exit_code == 0, again.output
    renewed = json.loads(output.read_text())
    assert renewed["secret"] != settings["secret"] and renewed["token"] != settings["token"]
    assert count_endpoints(app_session) == 1
    endpoint = endpoint_named(app_session, PARTNER)
    assert endpoint.enabled and endpoint.url == other
    assert signed_by(renewed["secret"], endpoint)
    assert tokens.find(app_session, renewed["token"]) is not None
    assert tokens.find(app_session, settings["token"]) is None, "the file's old token is revoked"
    names = app_session.scalars(select(ApiToken.name).where(ApiToken.revoked_at.is_(None)))
    assert list(names).count(PARTNER) == 1


def test_partner_refuses_in_production(app, app_session, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_PRODUCTION", True)
    output = tmp_path / "partner.json"
    answer = app.test_cli_runner().invoke(args=["desk", "partner", "--output", str(output)])
    assert answer.exit_code != 0 and "production" in answer.output
    assert not output.exists() and count_endpoints(app_session) == 0
