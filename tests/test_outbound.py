"""Answering the resident, on PostgreSQL and SQLite: the message verbs and their refusals, the
deadline's pause and restart, and the delivery of the outbox to a real receiver on loopback
(Standard Webhooks signatures, the retry schedule, permanent refusals, the order of an item's
events). ../shared/contract/outbound.md."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from desk.errors import (
    AlreadyTaken,
    ChatEnded,
    InvalidLink,
    InvalidReplyBy,
    ItemClosed,
    NotAnswerable,
    NotRetryable,
    ResidentNotIdentified,
    StaleItem,
    TextRequired,
    TextTooLong,
    UnfilledPlaceholders,
)
from desk.inbound.deadlines import HELSINKI
from desk.inbound.intake import build_item
from desk.models import EventKind, ItemEvent, ItemMessage, OutboxEvent, WorkItem
from desk.outbound import delivery, endpoints, messages, outbox
from desk.outbound.conversation import conversation, refresh_target, unanswered_since
from desk.tasks.outbound import Courier, due_items
from desk.work import lifecycle
from tests.factories import CHANNELS, make_item, make_user
from tests.receiver import Receiver

CHAT = CHANNELS.get("chat")
EFORM = CHANNELS.get("eform")
PID = "120578-9385"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def client():
    with httpx.Client() as c:
        yield c


def register(session, url, channels=("chat", "omaolo", "eform", "help-request")):
    endpoint, secret = endpoints.register(session, "Partner", url, channels, CHANNELS.names())
    return endpoint, secret


def held(session, nurse, **kwargs):
    item = make_item(session, **kwargs)
    lifecycle.take(session, item, nurse)
    return item


def income_support(session, nurse):
    return held(
        session,
        nurse,
        queue="social-porvoo",
        channel="eform",
        personal_id=PID,
        municipality="porvoo",
        due_in=timedelta(days=9),
        content={"form": {"type": "income-support", "title": "Toimeentulotuki"}, "urgent": False},
    )


def deliver_all(session, client, item_id, now=None):
    """What the job does: the item's due events in order, each attempt settled."""
    while True:
        event = delivery.next_event(session, item_id, lock=False)
        moment = now or datetime.now(UTC)
        if event is None or not delivery.ready(event, moment):
            return
        outcome = delivery.post(client, event.endpoint, event, moment)
        delivery.settle(session, event, outcome, moment)
        session.flush()
        if not outcome.delivered:
            return


def test_a_chat_reply_goes_out_signed_with_the_message_id(session, receiver, client):
    nurse = make_user(session, name="Hanna Hoitaja")
    nurse.title_fi = "sairaanhoitaja"
    endpoint, secret = register(session, receiver.url)
    item = held(session, nurse)
    draft = messages.Draft(
        kind="reply",
        text="Hei! Kuinka kauan kuume on jatkunut? <b>ei markupia</b>",
        links=[messages.Link("Omaolo", "https://www.omaolo.fi/")],
        click_key="k1",
    )
    message = messages.send(session, item, nurse, CHAT, draft, expected_version=item.version)
    assert message.id.startswith("msg_") and len(message.id) == 30
    assert (message.state, item.first_action_at is not None) == ("queued", True)
    # One click, posted twice: one message.
    again = messages.send(session, item, nurse, CHAT, draft, expected_version=item.version - 1)
    assert again.id == message.id

    deliver_all(session, client, item.id)
    # Taking the chat was told first (item.updated), then the reply.
    assert [r.document["type"] for r in receiver.received] == ["item.updated", "message.created"]
    assert receiver.ids()[1] == message.id
    got = receiver.received[1]
    document = Webhook(secret).verify(
        got.body,
        {
            "webhook-id": got.id,
            "webhook-timestamp": got.timestamp,
            "webhook-signature": got.signature,
        },
    )
    data = document["data"]
    assert document["type"] == "message.created"
    assert data["message_id"] == message.id
    assert (data["channel"], data["external_id"], data["item_id"]) == (
        "chat",
        item.external_id,
        str(item.id),
    )
    assert data["kind"] == "reply" and data["text"] == draft.text
    assert data["sender"] == {"display_name": "Hanna", "title": "sairaanhoitaja"}
    assert data["links"] == [{"title": "Omaolo", "url": "https://www.omaolo.fi/"}]
    assert data["reply_by"] is None and data["sent_at"].endswith(("+02:00", "+03:00"))
    assert message.state == "sent"
    assert endpoint.last_success_at is not None


def test_refusals_change_nothing(session):
    nurse = make_user(session)
    other = make_user(session)
    register(session, "http://127.0.0.1:9/none")
    chat = held(session, nurse)

    def send(item, kind="reply", text="Hei", **kw):
        return messages.send(session, item, nurse, CHAT, messages.Draft(kind, text, **kw))

    with pytest.raises(TextRequired):
        send(chat, text="   ")
    with pytest.raises(TextTooLong):
        send(chat, text="x" * 4001)
    with pytest.raises(UnfilledPlaceholders):
        send(chat, text="Hei {first_name}, tervetuloa klo 9")
    with pytest.raises(InvalidLink):
        send(chat, links=[messages.Link("Lomake", "http://example.fi/")])
    with pytest.raises(InvalidLink):
        send(chat, links=[messages.Link(f"L{n}", "https://example.fi/") for n in range(11)])
    # Content outside a chat only to a strongly identified resident.
    with pytest.raises(ResidentNotIdentified):
        send(chat, kind="message")
    with pytest.raises(StaleItem):
        messages.send(
            session, chat, nurse, CHAT, messages.Draft("reply", "Hei"), expected_version=0
        )
    with pytest.raises(AlreadyTaken):
        messages.send(session, chat, other, CHAT, messages.Draft("reply", "Hei"))
    made = select(OutboxEvent).where(
        OutboxEvent.item_id == chat.id, OutboxEvent.type == "message.created"
    )
    assert session.scalars(made).all() == []

    # A closed chat takes no reply; a resolved item no message at all.
    assert messages.close_chat(session, chat, nurse, CHAT, "Kiitos, hyvää päivänjatkoa!")
    with pytest.raises(ChatEnded):
        send(chat)
    lifecycle.resolve(session, chat, nurse, "self-care-guidance")
    with pytest.raises(ItemClosed):
        send(chat)


def test_no_endpoint_no_answer(session):
    nurse = make_user(session)
    chat = held(session, nurse)
    with pytest.raises(NotAnswerable):
        messages.send(session, chat, nurse, CHAT, messages.Draft("reply", "Hei"))
    endpoint, _secret = register(session, "https://chat.example.fi/hook")
    endpoints.disable(endpoint, "by an administrator")
    with pytest.raises(NotAnswerable):
        messages.send(session, chat, nurse, CHAT, messages.Draft("reply", "Hei"))


def test_endpoint_urls_are_https_or_loopback(session):
    for url in ("http://partner.example.fi/hook", "ftp://x/", "https://", "nonsense"):
        with pytest.raises(endpoints.InvalidEndpoint):
            endpoints.check_url(url)
    assert endpoints.check_url("http://127.0.0.1:5001/hook")
    assert endpoints.check_url("https://partner.example.fi/hook")


def test_retries_keep_the_order_and_a_refusal_fails_at_once(session, receiver, client):
    nurse = make_user(session)
    register(session, receiver.url)
    item = held(session, nurse)
    sent = [
        messages.send(session, item, nurse, CHAT, messages.Draft("reply", f"Viesti {n}"))
        for n in range(3)
    ]
    start = datetime.now(UTC)
    receiver.script = [204, 503, (429, {"Retry-After": "7"}, 0)]
    deliver_all(session, client, item.id, start)
    first = session.scalar(select(OutboxEvent).where(OutboxEvent.message_id == sent[0].id))
    # 503: about 5 s later (with jitter); nothing behind it overtook it.
    assert timedelta(seconds=4.4) <= first.next_attempt_at - start <= timedelta(seconds=5.6)
    assert len(receiver.received) == 1 and first.last_status == 503
    deliver_all(session, client, item.id, start + timedelta(seconds=6))
    # 429 with Retry-After: 7 s, as asked.
    assert first.next_attempt_at == start + timedelta(seconds=6 + 7)
    deliver_all(session, client, item.id, start + timedelta(seconds=14))
    assert receiver.ids()[1:] == [m.id for m in sent]
    assert [m.state for m in sent] == ["sent"] * 3

    # A 400 fails the message at once, with the receiver's answer as its reason; retrying it
    # sends the same event again under the same id.
    failing = messages.send(session, item, nurse, CHAT, messages.Draft("reply", "Neljäs"))
    receiver.script = [400]
    deliver_all(session, client, item.id)
    assert failing.state == "failed" and failing.failure == "400 BAD REQUEST: refused with 400"
    with pytest.raises(NotRetryable):
        messages.retry(session, item, nurse, sent[0].id)
    messages.retry(session, item, nurse, failing.id)
    deliver_all(session, client, item.id)
    assert receiver.ids()[-1] == failing.id and failing.state == "sent"


def test_a_410_disables_the_endpoint_and_24_hours_fail_the_event(session, receiver, client):
    nurse = make_user(session)
    item = held(session, nurse)  # before the endpoint: only the message goes out
    endpoint, _secret = register(session, receiver.url)
    message = messages.send(session, item, nurse, CHAT, messages.Draft("reply", "Hei"))
    receiver.status = 500
    start = datetime.now(UTC)
    moment = start
    for _ in range(40):
        deliver_all(session, client, item.id, moment)
        event = session.scalar(select(OutboxEvent).where(OutboxEvent.message_id == message.id))
        if event.state != "pending":
            break
        moment = event.next_attempt_at
    # 5 s, 30 s, 2 min, 10 min, 30 min, then hourly: the 24 hours end in failure.
    assert event.state == "failed" and message.state == "failed"
    assert message.failure.startswith("no success in 24 hours")
    assert 24 <= event.attempts <= 32

    second = messages.send(session, item, nurse, CHAT, messages.Draft("reply", "Hei taas"))
    receiver.status = 410
    deliver_all(session, client, item.id)
    assert second.state == "failed" and not endpoint.enabled
    assert "410" in endpoint.disabled_reason


def event_of(session, message) -> OutboxEvent:
    return session.scalar(select(OutboxEvent).where(OutboxEvent.message_id == message.id))


def fail_until_waiting_long(session, client, items, start):
    """Retry the items' first events at their scheduled times against a failing receiver until
    each waits 10 minutes or more (5 s, 30 s, 2 min, 10 min: as in an outage of ~3 minutes);
    the moment of the last attempt."""
    moment = start
    for item in items:
        deliver_all(session, client, item.id, start)
    while True:
        heads = [delivery.next_event(session, item.id, lock=False) for item in items]
        waits = [(head.next_attempt_at - head.last_attempt_at, head) for head in heads]
        if all(wait >= timedelta(minutes=9) for wait, _ in waits):
            return moment
        _wait, head = min(waits, key=lambda pair: pair[1].next_attempt_at)
        moment = head.next_attempt_at
        deliver_all(session, client, head.item_id, moment)


def test_an_endpoint_back_after_failing_gets_its_waiting_events_at_once(session, receiver, client):
    nurse = make_user(session)
    first, second, held_back, other = (held(session, nurse) for _ in range(4))
    endpoint, _secret = register(session, receiver.url)  # after the takes: only messages go
    start = datetime.now(UTC)
    ok = messages.send(session, other, nurse, CHAT, messages.Draft("reply", "Ensin"), now=start)
    deliver_all(session, client, other.id, start)
    assert ok.state == "sent" and endpoint.last_success_at == start

    # The receiver fails: the first events wait, the later ones of an item wait behind them.
    receiver.status = 503
    waiting = [
        messages.send(session, item, nurse, CHAT, messages.Draft("reply", text), now=start)
        for item, text in ((first, "Yksi"), (first, "Kaksi"), (second, "Kolme"))
    ]
    receiver.script = [(429, {"Retry-After": "3600"}, 0)]
    hold = messages.send(
        session, held_back, nurse, CHAT, messages.Draft("reply", "Odota"), now=start
    )
    deliver_all(session, client, held_back.id, start + timedelta(seconds=1))
    assert event_of(session, hold).held_until == start + timedelta(seconds=3601)
    # A success within 30 s of the last one is no return from an outage: the waits stand.
    receiver.status = 204
    busy = messages.send(session, other, nurse, CHAT, messages.Draft("reply", "Välissä"), now=start)
    receiver.script = [503, 503]
    for item in (first, second):
        deliver_all(session, client, item.id, start + timedelta(seconds=2))
    deliver_all(session, client, other.id, start + timedelta(seconds=3))
    assert busy.state == "sent"
    assert event_of(session, waiting[0]).next_attempt_at > start + timedelta(seconds=4)

    receiver.status = 503
    last = fail_until_waiting_long(session, client, [first, second], start + timedelta(seconds=4))
    heads = [event_of(session, waiting[0]), event_of(session, waiting[2])]
    assert all(h.next_attempt_at >= last + timedelta(minutes=1) for h in heads)
    assert [m.state for m in waiting] == ["queued"] * 3

    # The receiver is back: the first event that goes (a new message) brings the waiting ones
    # forward and wakes their items; the one held by Retry-After keeps its time.
    receiver.status = 204
    back = last + timedelta(seconds=40)
    session.info.pop(outbox.PENDING_ITEMS, None)
    messages.send(session, other, nurse, CHAT, messages.Draft("reply", "Takaisin"), now=back)
    session.info.pop(outbox.PENDING_ITEMS, None)
    deliver_all(session, client, other.id, back)
    assert [h.next_attempt_at for h in heads] == [back, back]
    assert event_of(session, hold).next_attempt_at == start + timedelta(seconds=3601)
    assert session.info[outbox.PENDING_ITEMS] == {first.id, second.id}
    before = len(receiver.received)
    for item in (first, second, held_back):
        deliver_all(session, client, item.id, back + timedelta(seconds=1))
    assert receiver.ids()[before:] == [m.id for m in waiting]
    assert [m.state for m in waiting] == ["sent"] * 3 and hold.state == "queued"


def test_a_failing_endpoint_is_probed_every_10_seconds(session, receiver, client):
    nurse = make_user(session)
    first, second, third = (held(session, nurse) for _ in range(3))
    register(session, receiver.url)
    receiver.status = 503
    sent = [
        messages.send(session, item, nurse, CHAT, messages.Draft("reply", f"Viesti {n}"))
        for n, item in enumerate((first, second))
    ]
    last = fail_until_waiting_long(session, client, [first, second], datetime.now(UTC))
    heads = [event_of(session, m) for m in sent]
    tried_first = min(heads, key=lambda h: h.last_attempt_at)
    # Nothing tried for less than 10 s: no probe. Then the event tried longest ago is due.
    assert delivery.probe(session, last + timedelta(seconds=9)) == []
    moment = last + timedelta(seconds=11)
    assert delivery.probe(session, moment) == [tried_first.item_id]
    assert tried_first.next_attempt_at == moment
    # One probe at a time: not again while it is due and not yet tried.
    assert delivery.probe(session, moment + timedelta(seconds=40)) == []
    deliver_all(session, client, tried_first.item_id, moment)
    assert tried_first.attempts == 5 and tried_first.next_attempt_at > moment + timedelta(
        minutes=20
    )
    # Still failing: the next probe is the other event, 10 s after this attempt.
    assert delivery.probe(session, moment + timedelta(seconds=9)) == []
    later = moment + timedelta(seconds=11)
    (other,) = [h for h in heads if h is not tried_first]
    assert delivery.probe(session, later) == [other.item_id]

    # The receiver is back: the probe goes, and the endpoint's other waiting event with it.
    receiver.status = 204
    session.info.pop(outbox.PENDING_ITEMS, None)
    deliver_all(session, client, other.item_id, later)
    assert tried_first.next_attempt_at == later
    assert session.info[outbox.PENDING_ITEMS] == {tried_first.item_id}
    deliver_all(session, client, tried_first.item_id, later)
    assert sorted(receiver.ids()) == sorted(m.id for m in sent)
    assert [m.state for m in sent] == ["sent", "sent"]

    # A receiver's Retry-After holds the endpoint's probes back until it has passed.
    receiver.script = [(503, {"Retry-After": "600"}, 0)]
    held_back = messages.send(session, third, nurse, CHAT, messages.Draft("reply", "Myöhemmin"))
    deliver_all(session, client, third.id, later)
    assert delivery.probe(session, later + timedelta(seconds=300)) == []
    assert event_of(session, held_back).next_attempt_at == later + timedelta(seconds=600)
    assert delivery.probe(session, later + timedelta(seconds=601)) == []  # due anyway
    deliver_all(session, client, third.id, later + timedelta(seconds=601))
    assert held_back.state == "sent"


def test_the_sweep_hands_over_items_whose_next_event_is_due(app, app_session, receiver, client):
    nurse = make_user(app_session)
    waiting, due, elsewhere = (held(app_session, nurse) for _ in range(3))
    register(app_session, receiver.url)
    receiver.status = 503
    head = messages.send(app_session, waiting, nurse, CHAT, messages.Draft("reply", "Yksi"))
    deliver_all(app_session, client, waiting.id, datetime.now(UTC) + timedelta(seconds=1))
    behind = messages.send(app_session, waiting, nurse, CHAT, messages.Draft("reply", "Kaksi"))
    for words in ("Kolme", "Neljä"):
        messages.send(app_session, due, nurse, CHAT, messages.Draft("reply", words))
    other, _ = endpoints.register(app_session, "Other", receiver.url, ["chat"], CHANNELS.names())
    endpoints.disable(other, endpoints.BY_ADMINISTRATOR)
    refused = messages.send(app_session, elsewhere, nurse, CHAT, messages.Draft("reply", "Viisi"))
    event_of(app_session, refused).endpoint = other
    app_session.flush()
    assert event_of(app_session, behind).next_attempt_at <= datetime.now(UTC)
    with app.app_context():
        # The waiting item's later message is due, but waits behind its first: not handed
        # over; an item with two due events once; nothing for a disabled endpoint.
        assert due_items() == [due.id]
        event_of(app_session, head).next_attempt_at = datetime.now(UTC) - timedelta(minutes=1)
        app_session.flush()
        assert due_items() == [waiting.id, due.id]


def test_one_items_failing_delivery_does_not_hold_up_the_others(app, monkeypatch):
    """The embedded default's delivery thread: an item whose delivery raises (a database
    error, say) is logged and left for the sweep; the items woken with it still go."""
    delivered = []

    def deliver(item_id):
        if item_id == 1:
            raise RuntimeError("the database went away")
        delivered.append(item_id)

    monkeypatch.setattr("desk.tasks.outbound.deliver_item", deliver)
    monkeypatch.setattr("desk.tasks.outbound.due_items", lambda: [])
    courier = Courier(app)
    try:
        courier.wake([1, 2, 3])
        deadline = time.monotonic() + 10
        while len(delivered) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        courier.close()
    assert delivered == [2, 3]


def test_rotation_signs_with_both_secrets_for_a_day(session, receiver, client):
    nurse = make_user(session)
    endpoint, old = register(session, receiver.url)
    now = datetime.now(UTC)
    new = endpoints.rotate(endpoint, now)
    item = held(session, nurse)
    messages.send(session, item, nurse, CHAT, messages.Draft("reply", "Hei"))
    deliver_all(session, client, item.id)
    got = receiver.received[-1]
    headers = {
        "webhook-id": got.id,
        "webhook-timestamp": got.timestamp,
        "webhook-signature": got.signature,
    }
    assert len(got.signature.split(" ")) == 2
    Webhook(old).verify(got.body, headers)
    Webhook(new).verify(got.body, headers)
    assert endpoints.signing_secrets(endpoint, now + timedelta(hours=25)) == [new]


def test_a_request_for_information_pauses_and_restarts_the_deadline(session):
    nurse = make_user(session, queues=["social-porvoo"])
    nurse.status = "available"
    register(session, "https://forms.example.fi/hook")
    item = income_support(session, nurse)
    # Friday 4 December 2026: the resident is asked to answer by Friday 11 December.
    friday = datetime(2026, 12, 4, 10, 0, tzinfo=HELSINKI)
    with pytest.raises(InvalidReplyBy):
        messages.send(
            session,
            item,
            nurse,
            EFORM,
            messages.Draft("request-for-information", "Liitä tiliote.", reply_by=date(2026, 12, 4)),
            now=friday,
        )
    with pytest.raises(InvalidReplyBy):  # a request needs its date
        messages.send(
            session, item, nurse, EFORM, messages.Draft("request-for-information", "Liitä.")
        )
    assert messages.default_reply_by(item, EFORM, friday) == date(2026, 12, 11)
    request = messages.send(
        session,
        item,
        nurse,
        EFORM,
        messages.Draft("request-for-information", "Liitä tiliote.", reply_by=date(2026, 12, 11)),
        now=friday,
    )
    assert (item.status, item.due_at) == ("waiting", None)
    # The answer arrives on Saturday 5 December; Independence Day (Sun 6th) and the weekend do
    # not count: the 7th working day after the 5th is Tuesday 15 December.
    answer = messages.Answer("form-msg-1", friday + timedelta(days=1), "Tässä tiliote.")
    saturday = datetime(2026, 12, 5, 18, 40, tzinfo=HELSINKI)
    made, new = messages.resident_message(session, item, EFORM, answer, now=saturday)
    assert new and not made.outgoing
    assert item.due_at == datetime(2026, 12, 15, 16, 0, tzinfo=HELSINKI)
    assert item.status == "in_progress" and item.assignee_id == nurse.id
    assert request.answered_at == saturday
    # The same answer again: nothing new.
    assert messages.resident_message(session, item, EFORM, answer, now=saturday)[1] is False


def test_an_unanswered_request_comes_back_marked_no_answer(session):
    nurse = make_user(session, queues=["social-porvoo"])
    register(session, "https://forms.example.fi/hook")
    item = income_support(session, nurse)
    monday = datetime(2026, 12, 14, 9, 0, tzinfo=HELSINKI)
    messages.send(
        session,
        item,
        nurse,
        EFORM,
        messages.Draft("request-for-information", "Liitä tiliote.", reply_by=date(2026, 12, 18)),
        now=monday,
    )
    assert messages.lapse_requests(session, CHANNELS, now=monday + timedelta(days=4)) == []
    # Saturday 19 December: the answer-by date (Friday) has passed.
    lapsed = messages.lapse_requests(session, CHANNELS, now=monday + timedelta(days=5))
    assert lapsed == [item]
    assert (item.status, item.assignee_id) == ("new", None)
    # The paused deadline runs again from the answer-by date: 7 working days after Friday
    # 18 December skip Christmas Eve, Christmas Day and Boxing Day: Thursday 31 December.
    assert item.due_at == datetime(2026, 12, 31, 16, 0, tzinfo=HELSINKI)
    kinds = [e.kind for e in session.scalars(select(ItemEvent).where(ItemEvent.item_id == item.id))]
    assert kinds[-1] == EventKind.NO_ANSWER.value


def test_an_answer_goes_to_the_queue_when_the_holder_is_away(session):
    nurse = make_user(session, queues=["social-porvoo"])
    register(session, "https://forms.example.fi/hook")
    item = income_support(session, nurse)
    messages.send(
        session, item, nurse, EFORM, messages.Draft("message", "Soitan huomenna.", wait=True)
    )
    assert item.status == "waiting"
    nurse.status = "offline"
    messages.resident_message(
        session, item, EFORM, messages.Answer("m-2", datetime.now(UTC), "Kiitos!")
    )
    assert (item.status, item.assignee_id) == ("new", None)


def test_an_anonymous_resident_gets_no_message_outside_the_chat(session):
    nurse = make_user(session)
    register(session, "https://forms.example.fi/hook")
    item = held(session, nurse, queue="omaolo-porvoo", channel="omaolo")
    with pytest.raises(ResidentNotIdentified):
        messages.resident_message(
            session, item, CHANNELS.get("omaolo"), messages.Answer("m", datetime.now(UTC), "x")
        )
    assert messages.kinds(item, CHANNELS.get("omaolo"), ended=False) == []
    assert messages.kinds(item, CHAT, ended=False) == ["reply"]


def test_state_changes_are_told_to_the_source_system(session):
    nurse = make_user(session)
    register(session, "https://chat.example.fi/hook")
    item = make_item(session)
    lifecycle.take(session, item, nurse)
    lifecycle.wait_for_resident(session, item, nurse)
    lifecycle.resume(session, item, nurse)
    lifecycle.add_note(session, item, nurse, "Sisäinen")
    lifecycle.resolve(session, item, nurse, "self-care-guidance")
    events = session.scalars(
        select(OutboxEvent).where(OutboxEvent.item_id == item.id).order_by(OutboxEvent.seq)
    ).all()
    states = [json.loads(e.body)["data"]["item_status"] for e in events]
    assert states == ["in_progress", "waiting", "in_progress", "resolved"], "a note is no change"
    assert all(e.type == "item.updated" and e.id.startswith("evt_") for e in events)


def test_a_resident_writing_in_the_second_of_the_reply_is_seen_to_wait():
    """Chat platforms that stamp their messages to the second: the resident's line written
    in the same second as the desk's reply goes after it (they wait), unless the platform's own
    transcript, sending the reply back, shows the resident wrote first."""
    reply = ItemMessage(id=7, outgoing=True, at=datetime(2026, 3, 2, 10, 0, 6, 167_000, UTC))
    reply.text = "Kuinka korkea kuume on?"
    opened = {"sender": "resident", "sent_at": "2026-03-02T12:00:00+02:00", "text": "Kuumetta"}
    same_second = {"sender": "resident", "sent_at": "2026-03-02T12:00:06+02:00", "text": "39"}
    echo = {"sender": "professional", "sent_at": "2026-03-02T12:00:06+02:00", "message_id": 7}
    echo["text"] = reply.text

    for transcript in ([opened, same_second], [opened, echo, same_second]):
        lines = conversation({"conversation": transcript}, [reply])
        assert [line.text for line in lines] == ["Kuumetta", reply.text, "39"]
        assert lines[1].message is reply, "the desk's own message, with its state, once"
        assert unanswered_since(lines) == datetime.fromisoformat(same_second["sent_at"])

    lines = conversation({"conversation": [opened, same_second, echo]}, [reply])
    assert [line.text for line in lines] == ["Kuumetta", "39", reply.text]
    assert unanswered_since(lines) is None, "the platform shows the reply came last"

    # Times to the microsecond are exact: a line a moment before the reply stays before it.
    before = dict(same_second, sent_at="2026-03-02T12:00:06.100+02:00")
    lines = conversation({"conversation": [opened, before]}, [reply])
    assert [line.text for line in lines] == ["Kuumetta", "39", reply.text]
    assert unanswered_since(lines) is None


def test_a_waiting_resident_comes_first_until_answered(session):
    """A live chat whose resident waits is ordered by its response target as if it were its
    deadline: before an application due next week, after an Omaolo due in two minutes."""
    nurse = make_user(session, queues=["chat-regional", "omaolo-porvoo"])
    register(session, "https://chat.example.fi/hook")
    now = datetime.now(UTC)
    payload = {
        "external_id": f"waiting-{now.timestamp()}",
        "submitted_at": (now - timedelta(minutes=4)).isoformat(),
        "conversation": [
            {"sender": "bot", "sent_at": (now - timedelta(minutes=4)).isoformat(), "text": "Hei"},
            {
                "sender": "resident",
                "sent_at": (now - timedelta(minutes=3)).isoformat(),
                "text": "Kuume",
            },
        ],
    }
    chat = build_item(session, CHAT, payload)
    session.add(chat)
    session.flush()
    refresh_target(session, chat)
    session.flush()
    assert chat.due_at is None, "no legal deadline"
    assert chat.answer_by == datetime.fromisoformat(payload["conversation"][1]["sent_at"]) + (
        timedelta(minutes=5)
    )
    next_week = make_item(
        session, queue="omaolo-porvoo", channel="omaolo", due_in=timedelta(days=7)
    )
    soon = make_item(session, queue="omaolo-porvoo", channel="omaolo", due_in=timedelta(minutes=1))
    session.flush()
    session.refresh(chat)
    order = session.scalars(
        select(WorkItem.id)
        .where(WorkItem.id.in_([chat.id, next_week.id, soon.id]))
        .order_by(*lifecycle.work_order())
    ).all()
    assert order == [soon.id, chat.id, next_week.id]
    assert lifecycle.take_next(session, nurse) == soon
    assert lifecycle.take_next(session, nurse) == chat
    # Answered: no target; the chat goes after anything with a deadline.
    messages.send(session, chat, nurse, CHAT, messages.Draft("reply", "Hei!"))
    assert (chat.answer_by, chat.unanswered_since) == (None, None)
    session.flush()
    session.refresh(chat)
    assert chat.order_due is None
