"""A TeleQ callback in a real browser, in Finnish and in Swedish: taken from My work, two
unanswered calls recorded by keyboard and by mouse (the item leaves My work each time and comes
back when its next try is due), reached on the third, the caller identified on the phone (the
item moves to their area's queue and stays with the caller's professional), resolved. axe
checks every state; a console error or CSP violation fails the story (the `page` fixture)."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from babel.support import Translations
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.models import ItemEvent, Queue, WorkItem
from desk.pid import synthetic
from desk.work import calls
from tests.contract import example
from tests.factories import make_user
from tests.live import deliver
from tests.test_browser import accessible, settled, sign_in

TRANSLATIONS = "desk/translations"


def words(language: str):
    """The interface's own words in `language`, from its catalogues (the story reads what the
    professional reads)."""
    catalogue = Translations.load(TRANSLATIONS, [language])
    return catalogue.gettext


def a_callback(engine, language: str) -> tuple[int, str]:
    """An anonymous caller who chose no municipality, a minute ago: (item id, number)."""
    payload = example("callback.json")
    now = datetime.now(UTC).replace(microsecond=0)
    payload["external_id"] = f"teleq-browser-{language}-{now.timestamp():.0f}"
    payload["submitted_at"] = (now - timedelta(minutes=1)).isoformat()
    payload["municipality"] = None
    payload["language"] = language
    payload["callback"].update(phone=f"+35840555{now.timestamp():.0f}"[:13], window=None)
    with Session(engine) as s:
        deliver(s, "callback", payload)
        s.commit()
        item = s.scalar(select(WorkItem).where(WorkItem.external_id == payload["external_id"]))
        return item.id, item.resident_phone


def professional(engine, language: str) -> str:
    with Session(engine) as s:
        user = make_user(
            s,
            queues=["callback-regional", "health-sipoo"],
            name="Sonja Soittaja" if language == "fi" else "Stina Ringare",
            language=language,
        )
        user.tour_seen_at = datetime.now(UTC)
        s.commit()
        return user.username


def next_try_comes(engine, item_id: int) -> None:
    """The sweep at the item's next try: the clock moved to it."""
    with Session(engine) as s:
        due = s.get(WorkItem, item_id).retry_at
        assert calls.bring_back(s, now=due) == [item_id]
        s.commit()


def take_from_my_work(page: Page, number: str, _) -> None:
    page.goto(page.base_url + "/work")
    row = page.get_by_role("row").filter(has_text=number)
    row.get_by_role("button", name=_("Take"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    settled(page)


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_a_callback_unanswered_twice_reached_identified_and_resolved(page: Page, live, language):
    _ = words(language)
    url, engine = live
    item_id, number = a_callback(engine, language)
    username = professional(engine, language)
    sign_in(page, username)
    take_from_my_work(page, number, _)
    phone = page.get_by_role("region", name=_("Phone"))
    expect(phone.get_by_role("link", name=number)).to_have_attribute("href", f"tel:{number}")
    accessible(page, "a callback taken")

    # The first call, by keyboard: p, then 2 (no answer).
    page.locator("body").press("p")
    expect(page.locator("#call-form [data-call-key='1']")).to_be_focused()
    page.keyboard.press("2")
    done = page.locator("#item .alert-success")
    expect(done).to_contain_text(_("Call recorded: %(result)s.") % {"result": _("No answer")})
    expect(done).to_contain_text(_("The item waits in its queue for the next call."))
    expect(page.locator("#item")).to_contain_text(_("Waiting for the next call"))
    accessible(page, "waiting for the next call")
    page.goto(page.base_url + "/work")
    expect(page.get_by_role("row").filter(has_text=number)).to_have_count(0)

    # Its next try comes: back in My work, taken, and the second call (busy) by mouse.
    next_try_comes(engine, item_id)
    take_from_my_work(page, number, _)
    page.get_by_role("button", name=re.compile(_("Busy"))).click()
    expect(done).to_contain_text(_("Call recorded: %(result)s.") % {"result": _("Busy")})
    next_try_comes(engine, item_id)

    # The third call reaches the caller.
    take_from_my_work(page, number, _)
    expect(phone).to_contain_text(
        _("Call attempts: %(made)d of %(allowed)d") % {"made": 2, "allowed": 3}
    )
    page.locator("body").press("p")
    page.keyboard.press("1")
    expect(done).to_contain_text(_("Call recorded: %(result)s.") % {"result": _("Reached")})
    settled(page)

    # The caller tells who they are: identified, and moved to Sipoo's health services.
    phone.get_by_text(_("The caller identified themselves"), exact=True).click()
    caller_id = synthetic(random.Random(language), date(1970, 1, 1))
    phone.get_by_label(_("Personal identity code")).fill(caller_id)
    phone.get_by_label(_("Name"), exact=True).fill("Maija Meikäläinen")
    phone.get_by_label(_("Home municipality")).select_option("sipoo")
    accessible(page, "identifying the caller")
    page.get_by_role("button", name=_("Save the identification")).click()
    expect(done).to_contain_text(_("The caller is identified."))
    with Session(engine) as s:
        sipoo = s.get(Queue, "health-sipoo").name(language)
    facts = page.locator("#item")
    expect(facts).to_contain_text(sipoo)
    expect(facts).to_contain_text(_("Identified on the phone"))
    settled(page)
    accessible(page, "the caller identified")

    page.get_by_label(_("Outcome")).select_option("appointment-booked")
    page.get_by_role("button", name=_("Resolve"), exact=True).click()
    expect(done).to_have_text(_("The item is resolved."))
    accessible(page, "resolved")

    with Session(engine) as s:
        item = s.get(WorkItem, item_id)
        assert (item.status, item.queue_code, item.identification) == (
            "resolved",
            "health-sipoo",
            "phone",
        )
        assert item.assignee.username == username and item.personal_id == caller_id
        attempts = s.scalars(
            select(ItemEvent.outcome_code)
            .where(ItemEvent.item_id == item_id, ItemEvent.kind == "call_attempt")
            .order_by(ItemEvent.id)
        ).all()
        assert attempts == ["no-answer", "busy", "reached"]
