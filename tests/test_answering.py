"""Answering the resident through the real stack: the item page's message box, the outbox
delivered to a real receiver on loopback after the request, the chat platform's snapshot that
carries the desk's own messages back, and the resident's answers and receipts through the
inbound API (../shared/contract/outbound.md)."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from desk.inbound import tokens
from desk.models import AccessLog, ItemMessage, OutboxEvent, UserSession, WorkItem
from desk.outbound import endpoints, messages
from tests.contract import example
from tests.factories import CHANNELS, make_user
from tests.receiver import Receiver
from tests.test_outbound import EFORM, income_support, register
from tests.web import Browser, text


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def partner(app_session, receiver):
    """A source system with a token for every channel and an endpoint at the receiver."""
    _row, secret = tokens.create(app_session, "Partner", list(CHANNELS.names()))
    endpoint, signing = endpoints.register(
        app_session, "Partner", receiver.url, CHANNELS.names(), CHANNELS.names()
    )
    app_session.commit()
    return {"token": secret, "endpoint": endpoint, "secret": signing}


def deliver(client, partner, channel, payload):
    return client.post(
        f"/api/v1/inbound/{channel}",
        json=payload,
        headers={"Authorization": f"Bearer {partner['token']}"},
    )


def post_back(client, partner, channel, external_id, what, body):
    return client.post(
        f"/api/v1/inbound/{channel}/{external_id}/{what}",
        json=body,
        headers={"Authorization": f"Bearer {partner['token']}"},
    )


def fresh_chat(name: str = "chat-anonymous.json") -> dict:
    payload = example(name)
    now = datetime.now(UTC).replace(microsecond=0)
    payload["external_id"] += f"-{now.timestamp():.0f}"
    payload["submitted_at"] = (now - timedelta(minutes=5)).isoformat()
    for n, message in enumerate(payload["conversation"]):
        message["sent_at"] = (now - timedelta(minutes=5 - n)).isoformat()
    return payload


def item_of(app_session, payload) -> WorkItem:
    return app_session.scalar(
        select(WorkItem).where(WorkItem.external_id == payload["external_id"])
    )


def form_key(page: str) -> str:
    return re.search(r'name="key" value="([^"]+)"', page).group(1)


def test_a_professional_chats_with_an_anonymous_resident(client, app_session, partner, receiver):
    nurse = make_user(app_session, name="Hanna Hoitaja")
    payload = fresh_chat()
    assert deliver(client, partner, "chat", payload).status_code == 202
    item = item_of(app_session, payload)
    browser = Browser(client).login(nurse)
    page = text(browser.get(f"/items/{item.id}"))
    assert "Ota asia hoitaaksesi, niin voit vastata asukkaalle." in page

    page = text(browser.post(f"/items/{item.id}/take"))
    assert 'id="reply-text"' in page and "data-enter-sends" in page
    assert "Asukas ei ole tunnistautunut: älä kirjoita henkilökohtaisia terveystietoja." in page
    key = form_key(page)
    reply = {"kind": "reply", "text": "Hei! Kuinka kauan <kuume> on jatkunut?", "key": key}
    answer = browser.post(f"/items/{item.id}/messages", reply)
    assert answer.status_code == 200
    # The same click posted again makes no second message.
    assert browser.post(f"/items/{item.id}/messages", reply).status_code == 200
    made = app_session.scalars(select(ItemMessage).where(ItemMessage.item_id == item.id)).all()
    assert len(made) == 1
    sent = made[0]
    # Delivered after the request: taking it (item.updated) and the reply, in that order.
    types = [r.document["type"] for r in receiver.received]
    assert types == ["item.updated", "message.created"]
    assert receiver.received[1].id == sent.id
    data = receiver.received[1].document["data"]
    assert data["text"] == reply["text"] and data["sender"]["display_name"] == "Hanna"

    page = text(browser.get(f"/items/{item.id}/conversation"))
    assert "Hei! Kuinka kauan &lt;kuume&gt; on jatkunut?" in page
    assert "Lähetetty" in page

    # The platform sends the conversation back with the desk's reply (by its id) and the
    # resident's answer: the reply shows once, the answer is new.
    grown = copy.deepcopy(payload)
    grown["conversation"] += [
        {
            "sender": "professional",
            "sent_at": data["sent_at"],
            "text": reply["text"],
            "message_id": sent.id,
        },
        {"sender": "resident", "sent_at": datetime.now(UTC).isoformat(), "text": "Kaksi päivää."},
    ]
    assert deliver(client, partner, "chat", grown).json["status"] == "updated"
    page = text(browser.get(f"/items/{item.id}/conversation"))
    assert page.count("Kuinka kauan &lt;kuume&gt; on jatkunut?") == 1
    assert "Kaksi päivää." in page
    assert 'data-count-text="Asukkaan uusi viesti: Kaksi päivää."' in page

    # A receipt: read.
    read_at = datetime.now(UTC).isoformat()
    receipt = {"message_id": sent.id, "state": "read", "at": read_at}
    chat_id = payload["external_id"]
    assert post_back(client, partner, "chat", chat_id, "receipts", receipt).status_code == 202
    assert post_back(client, partner, "chat", chat_id, "receipts", receipt).status_code == 200
    assert "Luettu" in text(browser.get(f"/items/{item.id}/conversation"))

    # Resolving ends the chat with the closing words.
    page = text(browser.get(f"/items/{item.id}"))
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    resolved = browser.post(
        f"/items/{item.id}/resolve",
        {"outcome": "self-care-guidance", "closing": "Kiitos, voi hyvin!", "version": version},
    )
    assert resolved.status_code == 200
    closed = [r.document for r in receiver.received if r.document["type"] != "item.updated"]
    assert closed[-1]["type"] == "conversation.closed"
    assert closed[-1]["data"]["text"] == "Kiitos, voi hyvin!"
    # Reading the conversation is a look at the resident's data.
    looks = app_session.scalars(select(AccessLog).where(AccessLog.item_id == item.id)).all()
    assert len(looks) >= 4


def test_without_an_endpoint_the_page_says_it_cannot_be_answered(client, app_session):
    nurse = make_user(app_session)
    _row, secret = tokens.create(app_session, "Chat", ["chat"])
    app_session.commit()
    payload = fresh_chat()
    client.post("/api/v1/inbound/chat", json=payload, headers={"Authorization": f"Bearer {secret}"})
    item = item_of(app_session, payload)
    browser = Browser(client).login(nurse)
    page = text(browser.post(f"/items/{item.id}/take"))
    assert "ei voi vastata työpöydältä" in page and 'id="reply-text"' not in page
    refused = browser.post(f"/items/{item.id}/messages", {"kind": "reply", "text": "Hei"})
    assert refused.status_code == 409
    assert app_session.scalars(select(ItemMessage)).all() == []


def test_a_request_for_information_is_answered_through_the_api(
    client, app_session, partner, receiver
):
    worker = make_user(app_session, queues=["social-loviisa-lapinjarvi"], name="Sami Sosiaali")
    worker.status = "available"
    worker.title_fi = "sosiaaliohjaaja"
    payload = example("eform-income-support.json")
    payload["external_id"] += "-rfi"
    payload["submitted_at"] = datetime.now(UTC).isoformat()
    assert deliver(client, partner, "eform", payload).status_code == 202
    item = item_of(app_session, payload)
    browser = Browser(client).login(worker)
    page = text(browser.post(f"/items/{item.id}/take"))
    assert 'name="kind" value="request-for-information"' in page
    reply_by = re.search(r'id="reply-by" name="reply_by" value="([\d-]+)"', page).group(1)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    sent = browser.post(
        f"/items/{item.id}/messages",
        {
            "kind": "request-for-information",
            "text": "Hakemuksesta puuttuu tiliote.",
            "reply_by": reply_by,
            "version": version,
            "key": form_key(page),
        },
    )
    assert sent.status_code == 200
    app_session.refresh(item)
    assert (item.status, item.due_at) == ("waiting", None)
    request = app_session.scalar(select(ItemMessage).where(ItemMessage.item_id == item.id))
    data = [r.document for r in receiver.received if r.id == request.id][0]["data"]
    assert data["kind"] == "request-for-information" and data["reply_by"] == reply_by
    assert data["sender"] == {"display_name": "Sami", "title": "sosiaaliohjaaja"}

    external_id = payload["external_id"]
    answer = {
        "message_id": "lomake-viesti-1",
        "sent_at": datetime.now(UTC).isoformat(),
        "text": "Liitteenä tiliote.",
        "in_reply_to": request.id,
        "attachments": [{"name": "tiliote.pdf", "content_type": "application/pdf", "size": 1234}],
    }
    first = post_back(client, partner, "eform", external_id, "messages", answer)
    assert first.status_code == 202 and first.json == {"status": "accepted"}
    again = post_back(client, partner, "eform", external_id, "messages", answer)
    assert again.status_code == 200 and again.json == {"status": "duplicate"}
    app_session.refresh(item)
    assert item.status == "in_progress" and item.due_at is not None
    page = text(browser.get(f"/items/{item.id}"))
    assert "Liitteenä tiliote." in page and "tiliote.pdf" in page
    # The copy for the client system carries the messages both ways.
    summary = text(browser.get(f"/items/{item.id}/summary"))
    assert "Täydennyspyyntö: Hakemuksesta puuttuu tiliote." in summary
    assert "Asukas: Liitteenä tiliote." in summary

    # Refusals: an unknown delivery, a bad body, an anonymous resident.
    missing = post_back(client, partner, "eform", "never-sent", "messages", answer)
    assert missing.status_code == 404
    bad = post_back(client, partner, "eform", external_id, "messages", {"text": ""})
    assert bad.status_code == 422
    assert {p["field"] for p in bad.json["problems"]} >= {"message_id", "sent_at", "text"}
    chat = fresh_chat()
    deliver(client, partner, "chat", chat)
    anonymous = post_back(client, partner, "chat", chat["external_id"], "messages", answer)
    assert anonymous.status_code == 409


def test_a_failed_message_is_shown_with_its_reason_and_sent_again(
    client, app_session, partner, receiver
):
    nurse = make_user(app_session)
    payload = fresh_chat()
    deliver(client, partner, "chat", payload)
    item = item_of(app_session, payload)
    browser = Browser(client).login(nurse)
    page = text(browser.post(f"/items/{item.id}/take"))
    receiver.script = [422]
    browser.post(f"/items/{item.id}/messages", {"kind": "reply", "text": "Hei", "key": "x1"})
    message = app_session.scalar(select(ItemMessage).where(ItemMessage.item_id == item.id))
    app_session.refresh(message)
    assert message.state == "failed"
    page = text(browser.get(f"/items/{item.id}"))
    assert "Epäonnistui" in page and "422 UNPROCESSABLE ENTITY: refused with 422" in page
    retried = browser.post(f"/items/{item.id}/messages/retry", {"message": message.id})
    assert retried.status_code == 200
    app_session.refresh(message)
    assert message.state == "sent" and receiver.ids()[-1] == message.id
    event = app_session.scalar(select(OutboxEvent).where(OutboxEvent.message_id == message.id))
    assert event.attempts == 1 and event.state == "delivered"


def test_people_choose_how_residents_see_them(client, app_session):
    nurse = make_user(app_session, name="Johanna Maria Virtanen")
    browser = Browser(client).login(nurse)
    page = text(browser.get("/profile"))
    assert "Johanna" in page
    saved = browser.post(
        "/profile",
        {"public_name": "Jonna", "title_fi": "sairaanhoitaja", "title_sv": "sjukskötare"},
        htmx=False,
    )
    assert saved.status_code == 302
    app_session.refresh(nurse)
    assert (nurse.shown_name, nurse.title("sv"), nurse.title("en")) == (
        "Jonna",
        "sjukskötare",
        "sairaanhoitaja",
    )
    too_long = browser.post("/profile", {"public_name": "x" * 61}, htmx=False)
    assert too_long.status_code == 422
    app_session.refresh(nurse)
    assert nurse.public_name == "Jonna"


# --- Who gets the resident's answer (PostgreSQL and SQLite) ---------------------------------


def test_a_holder_who_never_chose_a_status_but_is_using_the_desk_gets_the_answer(session):
    nurse = make_user(session, queues=["social-porvoo"])
    assert nurse.status == "offline" and nurse.status_since is None  # as every account starts
    register(session, "https://forms.example.fi/hook")
    now = datetime.now(UTC)
    session.add(UserSession(id="s-1", user_id=nurse.id, created_at=now, last_seen_at=now))
    item = income_support(session, nurse)
    messages.send(
        session, item, nurse, EFORM, messages.Draft("message", "Soitan huomenna.", wait=True)
    )
    messages.resident_message(session, item, EFORM, messages.Answer("m-2", now, "Kiitos!"))
    assert (item.status, item.assignee_id) == ("in_progress", nurse.id)
    # Ending the day ("offline", chosen) is away, even with the desk still open.
    assert messages.at_work(session, nurse, now)
    nurse.status_since = now + timedelta(seconds=1)
    assert not messages.at_work(session, nurse, now + timedelta(seconds=2))
    # Nor is someone whose last activity was long ago.
    nurse.status_since = None
    assert not messages.at_work(session, nurse, now + messages.AT_WORK_WITHIN * 2)
