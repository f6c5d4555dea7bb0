"""The reference source system ("partner", never in production) against a fake desk on
loopback: the webhook receiver's signatures and deduplication, the chat that re-delivers its
whole conversation with the professionals' messages in order, the answer to a request for more
information, receipts, the other channels' forms, and the pages' safety and words.

The fake desk validates every body with the desk's own contract models and answers a chat
repeat with the desk's own rule, so a payload the real desk would refuse fails here too.
"""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from standardwebhooks import Webhook
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from desk.channels import DEFAULT_CHANNELS, Registry
from desk.channels.base import problems
from desk.inbound import answers
from desk.pid import problem as pid_problem
from partner import create_app
from partner.identities import IDENTITIES, MUNICIPALITIES, check_char
from partner.words import LANGUAGES, WORDS

TOKEN = "partner-test-token"
REGISTRY = Registry(DEFAULT_CHANNELS, municipalities=MUNICIPALITIES, languages=LANGUAGES)
TEMPLATES = Path(__file__).resolve().parent.parent / "partner" / "templates"
ULID = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# The desk's model of a receipt (renamed while the desk's outbound side is being written).
RECEIPT = answers.MessageReceipt


# -- The fake desk ----------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    path: str
    body: object
    authorization: str | None
    status: int


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


class FakeDesk:
    """The desk's inbound API as far as the partner uses it, on a real loopback port."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.stored: dict[tuple[str, str], dict] = {}
        self.lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def _app(self, environ, start_response):
        request = Request(environ)
        body = request.get_json(silent=True)
        with self.lock:
            status, answer = self._answer(request, body)
            self.calls.append(
                Call(
                    request.method, request.path, body, request.headers.get("Authorization"), status
                )
            )
        response = Response(json.dumps(answer), status=status, mimetype="application/json")
        return response(environ, start_response)

    def _answer(self, request: Request, body) -> tuple[int, dict]:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"error": "unauthorized"}
        parts = [unquote(p) for p in request.path.split("/")[4:]]
        channel = parts[0]
        adapter = REGISTRY.get(channel)
        if adapter is None:
            return 404, {"error": "unknown_channel"}
        if request.method == "POST" and len(parts) == 1:
            if found := REGISTRY.problems(adapter, body):
                return 422, {"error": "invalid", "problems": found}
            key = (channel, body["external_id"])
            stored = self.stored.get(key)
            if stored is None:
                self.stored[key] = body
                return 202, {"status": "accepted", "delivery_id": "d1", "item_url": None}
            if stored == body:
                return 200, {"status": "duplicate", "delivery_id": "d1", "item_url": None}
            if channel == "chat" and adapter.update(stored, body) is not None:
                self.stored[key] = body
                return 200, {"status": "updated", "delivery_id": "d1", "item_url": None}
            return 409, {"error": "conflict"}
        if request.method == "GET" and len(parts) == 2:
            if (channel, parts[1]) not in self.stored:
                return 404, {"error": "not_found"}
            return 200, {
                "status": "routed",
                "item_id": "48377",
                "queue": "social-porvoo",
                "item_status": "new",
                "due_at": "2026-12-15T16:00:00+02:00",
                "reason": None,
                "position": 3,
                "estimated_wait_seconds": 1200,
            }
        if request.method == "POST" and len(parts) == 3:
            model = {"messages": answers.ResidentMessage, "receipts": RECEIPT}[parts[2]]
            if found := problems(model, body):
                return 422, {"error": "invalid", "problems": found}
            return 202, {"status": "accepted"}
        return 404, {"error": "not_found"}

    def posted(self, path_end: str) -> list[Call]:
        """The POSTs whose path ends so, in order."""
        with self.lock:
            return [c for c in self.calls if c.method == "POST" and c.path.endswith(path_end)]

    def deliveries(self, channel: str) -> list[Call]:
        """The deliveries to a channel, in order."""
        return self.posted(f"/api/v1/inbound/{channel}")


# -- Fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def desk():
    fake = FakeDesk()
    yield fake
    fake.close()


@pytest.fixture
def secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _partner(tmp_path: Path, settings: dict | None):
    config = tmp_path / "partner.json"
    if settings is not None:
        config.write_text(json.dumps(settings), encoding="utf-8")
    return create_app(
        {
            "TESTING": True,
            "PARTNER_CONFIG": str(config),
            "PARTNER_DATABASE": str(tmp_path / "partner.db"),
            "PARTNER_BACKGROUND": False,
            "PARTNER_TIMEOUT": 5.0,
        }
    )


@pytest.fixture
def app(tmp_path, desk, secret):
    return _partner(tmp_path, {"desk_url": desk.url, "token": TOKEN, "secret": secret})


@pytest.fixture
def client(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf"] = "the-token"
    return client


def post(client, url: str, data: dict | None = None, **kwargs):
    """A resident's form post with the session's token."""
    return client.post(url, data={"csrf_token": "the-token", **(data or {})}, **kwargs)


def rows(app, sql: str, *args) -> list[sqlite3.Row]:
    with app.extensions["partner.store"].connect() as conn:
        return conn.execute(sql, args).fetchall()


def desk_message_id() -> str:
    return "msg_" + "".join(secrets.choice(ULID) for _ in range(26))


def moment(offset: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + offset).isoformat(timespec="seconds")


def signed(secret: str, event: dict, webhook_id: str | None = None) -> tuple[bytes, dict]:
    """The body and the Standard Webhooks headers the desk sends an event with."""
    body = json.dumps(event).encode()
    webhook_id = webhook_id or event.get("data", {}).get("message_id") or desk_message_id()
    now = datetime.now(UTC)
    return body, {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
        "Content-Type": "application/json",
    }


def deliver_event(client, secret: str, event: dict, webhook_id: str | None = None):
    body, headers = signed(secret, event, webhook_id)
    return client.post("/desk-events", data=body, headers=headers)


def message_created(
    channel: str, external_id: str, text: str, *, kind: str = "reply", **data
) -> dict:
    return {
        "type": "message.created",
        "timestamp": moment(),
        "data": {
            "message_id": desk_message_id(),
            "channel": channel,
            "external_id": external_id,
            "item_id": "48213",
            "kind": kind,
            "language": "fi",
            "text": text,
            "links": [],
            "sender": {"display_name": "Hanna", "title": "sairaanhoitaja"},
            "reply_by": None,
            "sent_at": moment(),
            **data,
        },
    }


def start_chat(client, text: str = "Hei, tarvitsen apua", **data) -> str:
    response = post(client, "/chat/new", {"identification": "none", "text": text, **data})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def sign_in(client, pid: str = IDENTITIES[0].personal_id) -> None:
    assert post(client, "/signin", {"pid": pid}).status_code == 302


# -- Synthetic identities ---------------------------------------------------------------------


def test_the_synthetic_identity_codes_have_valid_check_characters():
    assert check_char("010280", "952") == "L"
    for person in IDENTITIES:
        assert pid_problem(person.personal_id) is None, person
        assert 900 <= int(person.personal_id[7:10]) <= 999  # the test range
    assert IDENTITIES[0].personal_id == "010280-952L"


# -- The webhook receiver ---------------------------------------------------------------------


def test_a_correctly_signed_event_is_stored_and_its_message_receipted_delivered(
    app, client, desk, secret
):
    event = message_created(
        "eform",
        "eform-elsewhere-1",
        "Hei <b>Aino</b>",
        kind="message",
        links=[{"title": "Ohje", "url": "https://example.fi/ohje"}],
    )
    response = deliver_event(client, secret, event)

    assert response.status_code == 204
    [stored] = rows(app, "SELECT * FROM messages")
    assert stored["message_id"] == event["data"]["message_id"]
    assert (stored["channel"], stored["external_id"]) == ("eform", "eform-elsewhere-1")
    assert (stored["kind"], stored["text"]) == ("message", "Hei <b>Aino</b>")
    assert (stored["display_name"], stored["title"]) == ("Hanna", "sairaanhoitaja")
    assert json.loads(stored["links"]) == [{"title": "Ohje", "url": "https://example.fi/ohje"}]
    [receipt] = desk.posted("/receipts")
    assert receipt.path == "/api/v1/inbound/eform/eform-elsewhere-1/receipts"
    assert receipt.body["message_id"] == event["data"]["message_id"]
    assert receipt.body["state"] == "delivered"
    assert receipt.status == 202  # the desk's own Receipt model accepts it


def test_a_wrong_signature_is_refused_and_nothing_is_stored(app, client, desk, secret):
    event = message_created("chat", "chat-x", "Hei")
    other = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    body, headers = signed(other, event)
    assert client.post("/desk-events", data=body, headers=headers).status_code == 401

    body, headers = signed(secret, event)
    tampered = body.replace(b"Hei", b"Moi")
    assert client.post("/desk-events", data=tampered, headers=headers).status_code == 401

    stale = {**headers, "webhook-timestamp": str(int(datetime.now(UTC).timestamp()) - 3600)}
    assert client.post("/desk-events", data=body, headers=stale).status_code == 401
    assert (
        client.post("/desk-events", data=body, content_type="application/json").status_code == 401
    )

    assert rows(app, "SELECT * FROM events") == []
    assert rows(app, "SELECT * FROM messages") == []
    assert rows(app, "SELECT * FROM matters") == []
    assert desk.calls == []


def test_a_repeated_webhook_id_is_stored_once(app, client, desk, secret):
    event = message_created("chat", "chat-y", "Ensimmäinen")
    body, headers = signed(secret, event)
    for _ in range(3):
        assert client.post("/desk-events", data=body, headers=headers).status_code == 204
    # Another event under the same id changes nothing either.
    closed = {
        "type": "conversation.closed",
        "data": {
            "channel": "chat",
            "external_id": "chat-y",
            "item_id": "1",
            "text": "Hei hei",
            "at": moment(),
        },
    }
    assert deliver_event(client, secret, closed, headers["webhook-id"]).status_code == 204

    assert len(rows(app, "SELECT * FROM events")) == 1
    assert len(rows(app, "SELECT * FROM messages")) == 1
    [matter] = rows(app, "SELECT * FROM matters")
    assert matter["closed_at"] is None
    assert len(desk.posted("/receipts")) == 1


def test_item_updated_is_kept_and_unknown_event_types_are_ignored(app, client, secret):
    updated = {
        "type": "item.updated",
        "timestamp": moment(),
        "data": {
            "channel": "omaolo",
            "external_id": "omaolo-1",
            "item_id": "48190",
            "item_status": "in_progress",
            "queue": "omaolo-porvoo",
            "due_at": "2026-12-07T16:00:00+02:00",
            "at": moment(),
        },
    }
    assert deliver_event(client, secret, updated).status_code == 204
    assert deliver_event(client, secret, {"type": "item.exploded", "data": {}}).status_code == 204

    [matter] = rows(app, "SELECT * FROM matters")
    assert (matter["item_status"], matter["queue"], matter["due_at"]) == (
        "in_progress",
        "omaolo-porvoo",
        "2026-12-07T16:00:00+02:00",
    )


# -- The chat ---------------------------------------------------------------------------------


def test_a_resident_message_redelivers_the_whole_conversation_with_the_professionals_message(
    app, client, desk, secret
):
    external_id = start_chat(client, "Miten saan ajan hammaslääkärille?", municipality="askola")
    assert external_id.startswith("chat-partner-")
    [first] = desk.deliveries("chat")
    assert first.status == 202
    assert first.body["external_id"] == external_id
    assert first.body["municipality"] == "askola"
    assert first.body["language"] == "fi"
    assert first.body["resident"] == {"identification": "none"}
    assert [m["sender"] for m in first.body["conversation"]] == ["bot", "resident"]
    assert first.body["submitted_at"] == first.body["conversation"][0]["sent_at"]

    reply = message_created(
        "chat",
        external_id,
        "Hei! Olen Hanna. Voit varata ajan täältä.",
        links=[{"title": "Ajanvaraus", "url": "https://example.fi/ajanvaraus"}],
    )
    assert deliver_event(client, secret, reply).status_code == 204

    page = client.get(f"/chat/{external_id}").get_data(as_text=True)
    assert "Hanna" in page and "sairaanhoitaja" in page
    assert (
        '<a href="https://example.fi/ajanvaraus" rel="noopener noreferrer">Ajanvaraus</a>' in page
    )
    assert 'aria-live="polite"' in page
    [read] = [r for r in desk.posted("/receipts") if r.body["state"] == "read"]
    assert read.body["message_id"] == reply["data"]["message_id"]

    response = post(
        client,
        f"/chat/{external_id}/messages",
        {"text": "Kiitos!"},
        headers={"Accept": "application/json"},
    )
    assert response.get_json()["delivered"] is True

    first_conversation, second = first.body["conversation"], desk.deliveries("chat")[1]
    assert second.status == 200  # "updated": the desk's own rule took it as a longer repeat
    conversation = second.body["conversation"]
    assert conversation[: len(first_conversation)] == first_conversation
    assert conversation[2] == {
        "sender": "professional",
        "sent_at": reply["data"]["sent_at"],
        "text": "Hei! Olen Hanna. Voit varata ajan täältä.",
        "message_id": reply["data"]["message_id"],
    }
    assert conversation[3]["sender"] == "resident" and conversation[3]["text"] == "Kiitos!"
    times = [datetime.fromisoformat(m["sent_at"]) for m in conversation]
    assert times == sorted(times)

    # The window's news: only what came after what it has.
    news = client.get(f"/chat/{external_id}/updates?after=0").get_json()
    assert news["closed"] is False
    assert news["html"].count("data-seq=") == 4
    later = client.get(f"/chat/{external_id}/updates?after={news['last']}").get_json()
    assert later["html"].strip() == ""


def test_a_late_professional_message_goes_after_what_was_already_sent(app, client, desk, secret):
    external_id = start_chat(client)
    early = message_created("chat", external_id, "Myöhässä", sent_at=moment(-timedelta(hours=1)))
    assert deliver_event(client, secret, early).status_code == 204
    post(client, f"/chat/{external_id}/messages", {"text": "Vielä yksi"})

    first, second = desk.deliveries("chat")
    assert second.status == 200, second
    conversation = second.body["conversation"]
    assert conversation[:2] == first.body["conversation"]
    professional = conversation[2]
    assert professional["message_id"] == early["data"]["message_id"]
    assert professional["text"] == "Myöhässä"
    assert professional["sent_at"] == first.body["conversation"][-1]["sent_at"]


def test_a_closed_chat_shows_the_closing_words_and_takes_no_more_messages(
    app, client, desk, secret
):
    external_id = start_chat(client)
    closed = {
        "type": "conversation.closed",
        "timestamp": moment(),
        "data": {
            "channel": "chat",
            "external_id": external_id,
            "item_id": "48213",
            "text": "Kiitos keskustelusta! <Soita 116117>",
            "at": moment(),
        },
    }
    assert deliver_event(client, secret, closed).status_code == 204

    news = client.get(f"/chat/{external_id}/updates?after=0").get_json()
    assert news["closed"] is True
    assert "Kiitos keskustelusta! &lt;Soita 116117&gt;" in news["ended_html"]
    page = client.get(f"/chat/{external_id}").get_data(as_text=True)
    assert "Chat on päättynyt" in page
    assert re.search(r'<form id="chat-form"[^>]*\bhidden\b', page)

    response = post(
        client,
        f"/chat/{external_id}/messages",
        {"text": "Vielä?"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 409
    assert len(desk.deliveries("chat")) == 1
    assert len(rows(app, "SELECT * FROM messages WHERE sender = 'resident'")) == 1


def test_an_identified_chat_carries_the_test_identity_and_survives_a_restart(
    tmp_path, desk, secret, client
):
    post(client, "/language", {"lang": "sv"})
    refused = post(
        client, "/chat/new", {"identification": IDENTITIES[1].personal_id, "text": "Hej"}
    )
    assert refused.status_code == 400  # identified without a municipality
    assert "Välj hemkommun." in refused.get_data(as_text=True)
    response = post(
        client,
        "/chat/new",
        {"identification": IDENTITIES[1].personal_id, "municipality": "loviisa", "text": "Hej"},
    )
    external_id = response.headers["Location"].rsplit("/", 1)[1]
    [delivery] = desk.deliveries("chat")
    assert delivery.status == 202
    assert delivery.body["language"] == "sv"
    assert delivery.body["resident"]["identification"] == "strong"
    assert delivery.body["resident"]["personal_id"] == IDENTITIES[1].personal_id
    assert delivery.body["municipality"] == "loviisa"
    assert "Erik Testström" in client.get("/inbox").get_data(as_text=True)  # signed in too

    again = _partner(tmp_path, {"desk_url": desk.url, "token": TOKEN, "secret": secret})
    restarted = again.test_client()
    with restarted.session_transaction() as session:
        session["pid"] = IDENTITIES[1].personal_id
        session["lang"] = "sv"
    page = restarted.get(f"/chat/{external_id}").get_data(as_text=True)
    assert "Hej" in page and 'lang="sv"' in page


# -- Inbox and answers ------------------------------------------------------------------------


def test_the_answer_to_a_request_for_information_posts_the_contract_body(app, client, desk, secret):
    sign_in(client)
    response = post(
        client,
        "/send/eform",
        {
            "municipality": "porvoo",
            "type": "income-support",
            "title": "Täydentävä toimeentulotuki",
            "question_1": "Haettava tuki",
            "answer_1": "Lääkekulut",
            "urgent": "on",
        },
    )
    assert response.status_code == 302
    [delivery] = desk.deliveries("eform")
    assert delivery.status == 202, delivery.body
    external_id = delivery.body["external_id"]
    assert delivery.body["form"]["fields"] == {"Haettava tuki": "Lääkekulut"}
    assert delivery.body["urgent"] is True
    assert delivery.body["resident"]["personal_id"] == IDENTITIES[0].personal_id

    request = message_created(
        "eform",
        external_id,
        "Hakemuksestasi puuttuu tiliote. Lähetäthän sen liitteenä.",
        kind="request-for-information",
        reply_by="2026-12-15",
        sender={"display_name": "Sami", "title": "sosiaaliohjaaja"},
    )
    assert deliver_event(client, secret, request).status_code == 204

    inbox = client.get("/inbox").get_data(as_text=True)
    assert "Täydennyspyyntö" in inbox and "Vastaa viimeistään 15.12.2026" in inbox
    assert "1 lukematonta" in inbox
    page = client.get(f"/matters/eform/{external_id}").get_data(as_text=True)
    assert "Sami" in page and "Vastaa viimeistään 15.12.2026" in page
    assert "Ohjattu jonoon" in page  # the processing state, asked from the desk
    states = [(r.body["message_id"], r.body["state"]) for r in desk.posted("/receipts")]
    assert states == [
        (request["data"]["message_id"], "delivered"),
        (request["data"]["message_id"], "read"),
    ]
    assert "lukematonta" not in client.get("/inbox").get_data(as_text=True)

    response = post(
        client,
        f"/matters/eform/{external_id}/answer",
        {
            "text": "Liitteenä tiliote marraskuulta.",
            "in_reply_to": request["data"]["message_id"],
            "attachment": (
                io.BytesIO(b"%PDF-1.4 " + b"x" * 991),
                "tiliote-11.pdf",
                "application/pdf",
            ),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    [answer] = desk.posted("/messages")
    assert answer.path == f"/api/v1/inbound/eform/{external_id}/messages"
    assert answer.status == 202, answer.body
    assert set(answer.body) == {"message_id", "sent_at", "text", "in_reply_to", "attachments"}
    assert answer.body["message_id"].startswith("partner-msg-")
    assert answer.body["text"] == "Liitteenä tiliote marraskuulta."
    assert answer.body["in_reply_to"] == request["data"]["message_id"]
    assert answer.body["attachments"] == [
        {"name": "tiliote-11.pdf", "content_type": "application/pdf", "size": 1000}
    ]
    # Answered: the request is no longer shown as open.
    assert "Vastaa viimeistään" not in client.get("/inbox").get_data(as_text=True)


def test_another_residents_matter_is_not_shown(app, client, desk, secret):
    sign_in(client)
    post(client, "/send/eform", {"municipality": "porvoo", "type": "other", "title": "Oma"})
    external_id = desk.deliveries("eform")[0].body["external_id"]

    stranger = app.test_client()
    assert stranger.get(f"/matters/eform/{external_id}").status_code == 403
    with stranger.session_transaction() as session:
        session["pid"] = IDENTITIES[2].personal_id
        session["csrf"] = "the-token"
    assert stranger.get(f"/matters/eform/{external_id}").status_code == 403
    assert "Oma" not in stranger.get("/inbox").get_data(as_text=True)


# -- The other channels' forms ----------------------------------------------------------------


def test_the_omaolo_and_help_request_forms_deliver_what_the_contract_asks(app, client, desk):
    sign_in(client)
    response = post(
        client,
        "/send/omaolo",
        {
            "municipality": "porvoo",
            "code": "urinary-tract-infection",
            "urgency": "P2",
            "title": "",
            "recommendation": "Hoidon tarpeen arvio.",
            "symptoms": "Kirvelee",
            "contact_request": "on",
        },
    )
    assert response.status_code == 302
    [omaolo] = desk.deliveries("omaolo")
    assert omaolo.status == 202, omaolo.body
    assert omaolo.body["assessment"]["urgency"] == "P2"
    assert omaolo.body["assessment"]["title"] == "Virtsatieinfektio"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "202" in page and "accepted" in page

    post(client, "/signout")
    response = post(
        client,
        "/send/help-request",
        {
            "topic": "Ikääntyneen läheisen arki",
            "message": "Isäni ei pärjää kotona <yksin>.",
            "contact_preference": "phone",
            "name": "Sanna",
            "phone": "+358 44 222 3344",
        },
    )
    assert response.status_code == 302
    [help_request] = desk.deliveries("help-request")
    assert help_request.status == 202, help_request.body
    assert help_request.body["resident"] == {
        "identification": "none",
        "name": "Sanna",
        "phone": "+358442223344",
    }
    assert help_request.body["municipality"] is None

    refused = post(client, "/send/omaolo", {"code": "back-pain", "urgency": "P9"})
    assert refused.status_code == 400
    assert len(desk.deliveries("omaolo")) == 1


def test_an_unreachable_desk_does_not_break_the_pages(tmp_path, secret):
    app = _partner(tmp_path, {"desk_url": "http://127.0.0.1:9", "token": TOKEN, "secret": secret})
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf"] = "the-token"
    external_id = start_chat(client)
    page = client.get(f"/chat/{external_id}").get_data(as_text=True)
    assert "Viestiä ei saatu välitettyä" in page
    response = post(
        client,
        "/send/help-request",
        {"topic": "A", "message": "B", "contact_preference": "message"},
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Työpöytään ei saatu yhteyttä" in page


# -- Safety, settings and words ---------------------------------------------------------------


def test_resident_posts_need_the_session_token(app, desk):
    client = app.test_client()
    client.get("/")
    response = client.post("/chat/new", data={"identification": "none", "text": "Hei"})
    assert response.status_code == 400
    assert client.post("/chat/new", data={"csrf_token": "forged", "text": "Hei"}).status_code == 400
    assert desk.calls == []


def test_pages_have_a_content_security_policy_and_no_inline_script(client):
    for url in (
        "/",
        "/chat/new",
        "/inbox",
        "/signin",
        "/send/omaolo",
        "/send/eform",
        "/send/help-request",
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        page = response.get_data(as_text=True)
        assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
        assert re.findall(r"\son[a-z]+\s*=", page) == []
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert re.findall(r"<script(?![^>]*\bsrc=)|\son[a-z]+\s*=|\|\s*safe", text) == [], template


def test_missing_settings_say_how_to_register_the_partner(tmp_path):
    app = _partner(tmp_path, None)
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert "flask desk partner" in page and str(tmp_path / "partner.json") in page
    assert client.post("/desk-events", data=b"{}").status_code == 503


def test_every_word_is_in_three_languages_and_every_page_word_exists():
    for key, texts in WORDS.items():
        assert len(texts) == 3 and all(texts), key
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([\w-]+)["']\s*[,)]""", template.read_text()))
    assert used - WORDS.keys() == set()
    dynamic = (
        [f"channel_{c}" for c in REGISTRY.names()]
        + [f"kind_{k}" for k in ("message", "reply", "request-for-information")]
        + [
            f"type_{t}"
            for t in (
                "income-support",
                "disability-services",
                "social-care-need",
                "health-questionnaire",
                "other",
            )
        ]
        + [f"ps_{s}" for s in ("pending", "routed", "rejected")]
        + [f"is_{s}" for s in ("new", "in_progress", "waiting", "resolved")]
        + [f"state_{s}" for s in ("new", "in_progress", "waiting", "resolved")]
        + [f"not_configured_{w}" for w in ("missing", "unreadable", "incomplete")]
        + [f"contact_{p}" for p in ("phone", "email", "message")]
    )
    assert set(dynamic) - WORDS.keys() == set()
