"""Answering the resident in real browsers: the resident in the reference source system
(partner/, served on a port of its own and registered in the desk as both contracts say), the
professional in the desk, each in a browser context of their own. The desk runs as the embedded
default delivers (its own delivery thread) with Redis for the live stream. Every page is checked
with axe; a console error or a CSP violation fails the story."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from redis import Redis
from sqlalchemy import make_url, select, update
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from desk.inbound import tokens
from desk.inbound.deadlines import HELSINKI, working_days_after
from desk.models import ItemMessage, OutboundEndpoint, OutboxEvent, WorkItem
from desk.outbound import endpoints
from partner import create_app as create_partner
from tests.conftest import BROWSER_DB_URL, REDIS_URL
from tests.factories import CHANNELS as REGISTRY
from tests.live import serve
from tests.receiver import Receiver
from tests.test_browser import accessible, settled, sign_in

CHANNELS = list(REGISTRY.names())


@pytest.fixture(scope="module")
def desk_and_partner(tmp_path_factory):
    """The desk (its own database, Redis for the live stream, its delivery thread on) and the
    partner beside it, connected as `flask desk partner` connects them: (desk URL, partner
    URL, engine)."""
    url = make_url(BROWSER_DB_URL)
    database = url.set(database=f"{url.database}_answering").render_as_string(hide_password=False)
    Redis.from_url(REDIS_URL).flushdb()
    folder = tmp_path_factory.mktemp("partner")
    settings = folder / "partner.json"
    partner = create_partner(
        {
            "PARTNER_CONFIG": str(settings),
            "PARTNER_DATABASE": str(folder / "partner.db"),
            "PARTNER_BACKGROUND": False,
        }
    )
    with (
        serve(database, tmp_path_factory, REDIS_URL=REDIS_URL, DESK_OUTBOX_THREAD=True) as (
            desk_url,
            engine,
        ),
        _served(partner) as partner_url,
    ):
        with Session(engine) as s:
            _, token = tokens.create(s, "Partner", CHANNELS)
            _, secret = endpoints.register(
                s, "Partner", f"{partner_url}/desk-events", CHANNELS, CHANNELS
            )
            s.commit()
        settings.write_text(json.dumps({"desk_url": desk_url, "token": token, "secret": secret}))
        yield desk_url, partner_url, engine
    Redis.from_url(REDIS_URL).flushdb()


def _delivery_tried(engine, item_id: int, receiver: Receiver, seconds: float = 30) -> None:
    """Wait until the item's message has failed; if it does not, say what the outbox holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with Session(engine) as s:
            message = s.scalar(select(ItemMessage).where(ItemMessage.item_id == item_id))
            if message is not None and message.state == "failed":
                return
        time.sleep(0.2)
    with Session(engine) as s:
        events = s.scalars(select(OutboxEvent).where(OutboxEvent.item_id == item_id)).all()
        held = [(e.seq, e.type, e.state, e.attempts, e.last_error) for e in events]
    raise AssertionError(
        f"no failed message after {seconds:g} s; the receiver had {receiver.attempts} attempts; "
        f"the item's outbox: {held}"
    )


@contextmanager
def _served(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def resident(chromium, desk_and_partner):
    """The resident's browser: a context of its own, in Swedish; fails on console errors."""
    context = chromium.new_context(viewport={"width": 1024, "height": 800}, locale="sv-SE")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    problems: list[str] = []
    tab.on("console", lambda m: m.type == "error" and problems.append(f"{tab.url}: {m.text}"))
    tab.on("pageerror", lambda e: problems.append(f"{tab.url}: {e}"))
    tab.base_url = desk_and_partner[1]
    yield tab
    context.close()
    assert problems == [], "console errors or CSP violations on the resident's side"


def item_of(engine, external_id: str) -> WorkItem:
    with Session(engine) as s:
        return s.scalar(select(WorkItem).where(WorkItem.external_id == external_id))


SLOW_NETWORK = """slow => {
  // What a slow network does to the page's own requests: each answer named "METHOD /path" is
  // handed to the page that many milliseconds late. Installed once per page; {} ends it.
  window.deskSlow = slow;
  if (window.deskSlowInstalled) return;
  window.deskSlowInstalled = true;
  const open = XMLHttpRequest.prototype.open;
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.deskAsked = method.toUpperCase() + " " + new URL(url, location.href).pathname;
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    const late = window.deskSlow[this.deskAsked];
    const onload = this.onload;
    if (late && onload) this.onload = function () {
      const xhr = this;
      const args = arguments;
      window.setTimeout(function () { onload.apply(xhr, args); }, late);
    };
    return send.apply(this, arguments);
  };
}"""


def slow_network(page: Page, late: dict[str, int]) -> None:
    """From now on the page receives the answers to these requests late (milliseconds)."""
    page.evaluate(SLOW_NETWORK, late)


def keyboard_to(page: Page, element_id: str, presses: int = 80) -> None:
    """Tab through the page until `element_id` has the focus, as a keyboard user does."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} is not reachable by Tab")


def test_a_resident_and_a_professional_chat_in_swedish_both_ways(
    page: Page, resident: Page, desk_and_partner
):
    desk_url, partner_url, engine = desk_and_partner
    page.base_url = desk_url

    # The resident opens the chat window in Swedish and writes anonymously.
    resident.goto(partner_url + "/chat/new")
    expect(resident.get_by_role("heading", level=1)).to_have_text("Starta en chatt")
    resident.get_by_label("Anonymt").check()
    resident.locator("#text").fill("Hej! Mitt barn har feber sedan i går, vad ska jag göra?")
    resident.get_by_role("button", name="Starta en chatt").click()
    expect(resident).to_have_url(re.compile(r"/chat/"))
    external_id = resident.url.rsplit("/chat/", 1)[1]
    accessible(resident, "the resident's chat window")
    item = item_of(engine, external_id)
    assert item is not None and item.queue_code == "chat-regional"

    # Sara (Swedish) opens it, takes it and answers by keyboard alone: Enter sends.
    sign_in(page, "sjukskotare")
    page.goto(f"{desk_url}/items/{item.id}")
    expect(page.locator("#conversation")).to_contain_text("Mitt barn har feber")
    page.locator("button[data-action=take]").click()
    settled(page)
    keyboard_to(page, "reply-text")
    page.keyboard.type("Hej, jag heter Sara. Hur hög är febern?")
    page.keyboard.press("Enter")
    conversation = page.locator("#conversation")
    expect(conversation).to_contain_text("Hur hög är febern?")
    expect(page.locator("#reply-text")).to_be_focused()
    expect(page.locator("#reply-text")).to_have_value("")
    accessible(page, "the professional's chat, answered")

    # The resident sees the answer in the open window, with the name and the word "read" goes
    # back to the desk: Sara's message shows its receipt.
    messages = resident.locator("#messages")
    expect(messages).to_contain_text("Hur hög är febern?")
    expect(messages).to_contain_text("Sara")
    expect(conversation.locator(".message-state").last).to_have_text(
        re.compile("Läst"), timeout=15_000
    )

    # The resident answers: the professional's page shows it by itself, without losing the
    # draft she is typing or her focus.
    page.locator("#reply-text").fill("Ett utkast")
    resident.locator("#chat-text").fill("38,5 grader. Han dricker bra.")
    resident.locator("#chat-text").press("Enter")
    expect(messages).to_contain_text("38,5 grader")
    expect(conversation).to_contain_text("38,5 grader", timeout=5_000)
    # The resident waits for an answer now: the item shows by when, not a legal deadline.
    expect(page.locator("#item")).to_contain_text("Ska besvaras senast")
    expect(page.locator("#reply-text")).to_have_value("Ett utkast")
    expect(page.locator("#reply-text")).to_be_focused()

    # Her network turns slow. She answers; the resident writes again just as she sends her next
    # line, so the item is being drawn anew for the resident's message while her send is on its
    # way, and the desk's answer to the send comes back last. What she sent goes out once and
    # does not come back into the field as a draft; the field is empty and keeps her focus.
    page.locator("#reply-text").fill("Bra. Hur mycket har han druckit i dag?")
    page.keyboard.press("Enter")
    expect(conversation).to_contain_text("Hur mycket har han druckit")
    slow_network(page, {f"GET /items/{item.id}": 1500, f"POST /items/{item.id}/messages": 3000})
    page.locator("#reply-text").fill("Ge honom gärna lite att dricka då och då.")
    resident.locator("#chat-text").fill("Han sover nu.")
    resident.locator("#chat-text").press("Enter")
    expect(conversation).to_contain_text("Han sover nu.", timeout=5_000)
    page.keyboard.press("Enter")
    expect(conversation).to_contain_text("lite att dricka", timeout=5_000)
    expect(page.locator("#reply-text")).to_have_value("", timeout=10_000)
    expect(page.locator("#reply-text")).to_be_focused()
    expect(conversation.get_by_text("lite att dricka")).to_have_count(1)
    # The send's late answer showed the message as it was when sent; what happened to it
    # since (delivered, read) follows by itself.
    expect(conversation.locator(".message-state").last).to_have_text(
        re.compile("Läst"), timeout=15_000
    )
    slow_network(page, {})

    # Ending the chat sends the closing words and closes the resident's window.
    page.locator("#reply-text").fill("Ge febernedsättande och ring 116117 om det blir värre.")
    page.locator("button[data-action=end-chat]").click()
    expect(page.locator(".chat-ended")).to_be_visible()
    expect(resident.locator("#chat-ended")).to_contain_text("116117", timeout=15_000)
    expect(resident.locator("#chat-form")).to_be_hidden()
    accessible(resident, "the resident's ended chat")
    accessible(page, "the professional's ended chat")


def _fill_eform(resident: Page, partner_url: str) -> str:
    """An identified resident (Aino, Porvoo) sends an income support application."""
    resident.goto(partner_url + "/signin")
    resident.get_by_label(re.compile("Aino Testinen")).check()
    resident.get_by_role("button", name="Identifiera dig").click()
    resident.goto(partner_url + "/send/eform")
    resident.get_by_label("Blankett").select_option("income-support")
    resident.get_by_label("Rubrik").fill("Ansökan om utkomststöd, december")
    resident.locator("#question_1").fill("Hyra per månad")
    resident.locator("#answer_1").fill("640 euro")
    resident.get_by_role("button", name="Skicka", exact=True).click()
    expect(resident).to_have_url(re.compile(r"/matters/eform/"))
    return resident.url.rsplit("/matters/eform/", 1)[1]


def test_a_request_for_more_information_is_answered_and_the_deadline_runs_again(
    page: Page, resident: Page, desk_and_partner
):
    desk_url, partner_url, engine = desk_and_partner
    page.base_url = desk_url
    external_id = _fill_eform(resident, partner_url)
    item = item_of(engine, external_id)
    assert item.queue_code == "social-porvoo" and item.due_at is not None
    # The application came in some days ago: two working days of its seven are left.
    left = working_days_after(datetime.now(UTC), 2)
    with Session(engine) as s:
        s.execute(update(WorkItem).where(WorkItem.id == item.id).values(due_at=left))
        s.commit()

    sign_in(page, "hoitaja")
    page.goto(f"{desk_url}/items/{item.id}")
    page.locator("button[data-action=take]").click()
    settled(page)
    page.get_by_role("radio", name="Täydennyspyyntö").check()
    answer_by = page.get_by_label("Vastattava viimeistään (täydennyspyyntö)")
    expect(answer_by).not_to_have_value("")  # a default from the form type
    page.get_by_label(re.compile("Viesti asukkaalle")).fill(
        "Lähetäthän vielä vuokrasopimuksen ja viimeisimmän tiliotteen."
    )
    page.locator("button[data-action=send]").click()
    settled(page)
    conversation = page.locator("#conversation")
    expect(conversation).to_contain_text("vuokrasopimuksen")
    expect(conversation).to_contain_text("Täydennyspyyntö")
    with Session(engine) as s:
        waiting = s.get(WorkItem, item.id)
        assert waiting.status == "waiting" and waiting.due_at is None  # the deadline pauses
    accessible(page, "a request for more information sent")

    # Hanna starts a note to herself while she waits.
    page.get_by_label(re.compile("Viesti asukkaalle")).fill("Kiitos, ")

    # The resident reads the request in the partner's inbox and answers it.
    resident.goto(f"{partner_url}/matters/eform/{external_id}")
    expect(resident.locator(".messages")).to_contain_text("vuokrasopimuksen", timeout=15_000)
    resident.get_by_label("Ditt svar").fill("Hyresavtalet och kontoutdraget bifogas.")
    resident.get_by_role("button", name="Skicka", exact=True).click()
    expect(resident.locator(".messages")).to_contain_text("Hyresavtalet")
    accessible(resident, "the resident's matter, answered")

    # The answer brings the item back to Hanna, visibly and by itself, and the seven days run
    # again from the day it arrived; what she was typing stays, with her focus.
    expect(conversation).to_contain_text("Hyresavtalet", timeout=5_000)
    expect(page.locator("#item .status")).to_have_text("Käsittelyssä", timeout=5_000)
    expect(page.get_by_label(re.compile("Viesti asukkaalle"))).to_have_value("Kiitos, ")
    expect(page.get_by_label(re.compile("Viesti asukkaalle"))).to_be_focused()
    with Session(engine) as s:
        back = s.get(WorkItem, item.id)
        answered_at = s.scalar(
            select(ItemMessage.answered_at).where(
                ItemMessage.item_id == item.id, ItemMessage.kind == "request-for-information"
            )
        )
    assert back.status == "in_progress" and back.assignee_id is not None
    assert back.due_at == working_days_after(answered_at, 7)
    assert back.due_at.date() > left.date()
    due = back.due_at.astimezone(HELSINKI)
    expect(page.locator("#item")).to_contain_text(f"{due.day}.{due.month}.{due.year} {due:%H.%M}")
    accessible(page, "the answered request, back with the professional")


def test_a_message_the_source_system_refused_is_sent_again(
    page: Page, resident: Page, desk_and_partner
):
    desk_url, partner_url, engine = desk_and_partner
    page.base_url = desk_url
    external_id = _fill_eform(resident, partner_url)
    item = item_of(engine, external_id)
    refusing = Receiver(status=422)
    with Session(engine) as s:
        endpoint = s.scalar(select(OutboundEndpoint).where(OutboundEndpoint.name == "Partner"))
        partner_events = endpoint.url
        endpoint.url = refusing.url
        s.commit()
    try:
        sign_in(page, "hoitaja")
        page.goto(f"{desk_url}/items/{item.id}")
        page.locator("button[data-action=take]").click()
        settled(page)
        page.get_by_role("radio", name="Viesti", exact=True).check()
        page.get_by_label(re.compile("Viesti asukkaalle")).fill("Hakemuksesi on käsittelyssä.")
        page.locator("button[data-action=send]").click()
        settled(page)
        # Delivery tries at once, in the desk's own thread (slower when the machine is busy).
        _delivery_tried(engine, item.id, refusing)
        state = page.locator("#conversation .message-state").last
        # The refusal and its reason appear by themselves once delivery has tried.
        expect(state).to_contain_text("Epäonnistui", timeout=15_000)
        expect(state).to_contain_text("refused with 422")
        accessible(page, "a failed message")
    finally:
        with Session(engine) as s:
            s.execute(
                update(OutboundEndpoint)
                .where(OutboundEndpoint.name == "Partner")
                .values(url=partner_events)
            )
            s.commit()
        refusing.close()

    # The source system takes messages again: "Send again" delivers the same message, once.
    page.get_by_role("button", name="Lähetä uudelleen").click()
    settled(page)
    expect(page.locator("#conversation .message-state").last).not_to_contain_text(
        "Epäonnistui", timeout=15_000
    )
    resident.goto(f"{partner_url}/matters/eform/{external_id}")
    expect(resident.locator(".messages")).to_contain_text("Hakemuksesi on käsittelyssä.")
    expect(resident.locator(".messages .message-professional")).to_have_count(1)
    with Session(engine) as s:
        sent = s.scalar(select(ItemMessage).where(ItemMessage.item_id == item.id))
        assert sent.state in ("sent", "delivered", "read") and sent.failure is None
