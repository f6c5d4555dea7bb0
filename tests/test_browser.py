"""Stories in a real browser (Debian's Chromium): what the professional sees and can do, by
mouse and by keyboard, with axe-core checking WCAG 2.1 AA on every page and state."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.models import User, WorkItem
from desk.pid import synthetic
from desk.work import lifecycle
from tests.factories import PASSWORD, make_item
from tests.live import sample_items

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
axe = Axe()


def accessible(page: Page, state: str) -> None:
    """axe-core finds no WCAG 2.1 A/AA violation in the page as it is now."""
    results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    assert results.violations_count == 0, f"{state}:\n{results.generate_report()}"


def settled(page: Page) -> None:
    """Wait until htmx has finished settling the last swap (its new forms are live)."""
    expect(page.locator(".htmx-added, .htmx-settling, .htmx-swapping")).to_have_count(0)


def sign_in(page: Page, username: str = "hoitaja", lands_on: str = r"/work$") -> None:
    """Sign in on the sign-in page; the browser lands on `lands_on` (an auditor: /audit$)."""
    page.goto(page.base_url + "/login")
    page.get_by_label("Käyttäjätunnus").fill(username)
    page.get_by_label("Salasana").fill(PASSWORD)
    page.get_by_role("button", name="Kirjaudu", exact=True).click()
    expect(page).to_have_url(re.compile(lands_on))
    page.wait_for_load_state()  # the desk's script is ready for shortcuts


def tour_closed(page: Page) -> None:
    """Close the tour that opens by itself on someone's first visit (Esc), once the server
    has recorded it: it then stays closed for the account, on any computer."""
    tour = page.locator("dialog[data-tour][open]")
    if tour.count() == 0:
        return
    with page.expect_response(lambda answer: answer.url.endswith("/me/tour-seen")):
        page.keyboard.press("Escape")
    expect(tour).to_have_count(0)


def new_item(live, title: str, **kw) -> int:
    with Session(live[1]) as s:
        item = make_item(s, title=title, **kw)
        s.commit()
        return item.id


def take_as(live, item_id: int, username: str) -> None:
    with Session(live[1]) as s:
        user = s.scalar(select(User).where(User.username == username))
        lifecycle.take(s, s.get(WorkItem, item_id), user)
        s.commit()


@pytest.mark.console_allows("status of 409", "status of 404")
def test_every_page_and_state_is_accessible(page: Page, live):
    page.goto(page.base_url + "/login")
    accessible(page, "sign-in page")
    page.get_by_role("button", name="Kirjaudu", exact=True).click()
    accessible(page, "sign-in refused")  # required fields: the browser's own message
    sign_in(page)
    accessible(page, "My work")
    page.get_by_role("link", name="Tilannekuva").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tilannekuva")
    accessible(page, "situation view")
    page.locator("table.situation a").first.click()
    expect(page.get_by_role("navigation", name="Sivut")).to_be_attached()
    accessible(page, "items behind a number")
    page.goto(page.base_url + "/work")
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Pikanäppäimet")).to_be_visible()
    accessible(page, "shortcut help")
    page.keyboard.press("Escape")

    per_channel = sample_items(live[1])
    for channel, item_id in per_channel.items():
        assert item_id, channel
        page.goto(f"{page.base_url}/items/{item_id}")
        accessible(page, f"{channel} item")

    item_id = new_item(live, "Saavutettavuus: siirto")
    page.goto(f"{page.base_url}/items/{item_id}")
    page.get_by_role("button", name="Siirrä…").click()
    expect(page.get_by_role("dialog", name="Siirrä toiseen jonoon")).to_be_visible()
    accessible(page, "transfer dialog")
    page.keyboard.press("Escape")

    take_as(live, item_id, "sjukskotare")
    page.get_by_role("button", name="Ota", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Sara Sjöberg on jo ottanut tämän asian.")
    accessible(page, "refusal shown in place")

    page.goto(page.base_url + "/items/987654321")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ei löytynyt")
    accessible(page, "404 page")

    page.get_by_role("button", name="Svenska").click()
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    page.goto(page.base_url + "/work")
    accessible(page, "My work in Swedish")
    page.get_by_role("button", name="Suomi").click()
    expect(page.locator("html")).to_have_attribute("lang", "fi")


def test_take_transfer_note_and_resolve(page: Page, live):
    title = "Ajanvaraus hammaslääkärille (selain)"
    new_item(live, title, emergency=True, due_in=timedelta(minutes=12))
    sign_in(page)
    row = page.get_by_role("row").filter(has_text=title)
    row.get_by_role("button", name="Ota").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".alert-success").first).to_have_text("Otit asian itsellesi.")
    # The message from taking goes as soon as the next action starts.

    page.get_by_role("button", name="Siirrä…").click()
    dialog = page.get_by_role("dialog", name="Siirrä toiseen jonoon")
    dialog.get_by_label("Jono").select_option(label="Tunnistettu chat: Porvoo")
    dialog.get_by_label("Syy").fill("Asukas tunnistautui vahvasti, asuu Porvoossa.")
    dialog.get_by_role("button", name="Siirrä", exact=True).click()
    message = page.locator("#item .alert-success")
    expect(message).to_have_text("Asia siirrettiin.")
    expect(message).to_be_focused()
    expect(page.get_by_role("status").and_(page.locator("#live"))).to_have_text(
        "Asia siirrettiin."
    )  # announced to screen readers
    timeline = page.get_by_role("region", name="Aikajana")
    expect(timeline).to_contain_text(
        "Siirretty jonosta Chat, koko alue (anonyymi) jonoon Tunnistettu chat: Porvoo"
    )
    expect(timeline).to_contain_text("Asukas tunnistautui vahvasti, asuu Porvoossa.")

    page.get_by_role("button", name="Ota", exact=True).click()
    expect(page.locator("#item .alert-success")).to_have_text("Otit asian itsellesi.")
    page.get_by_label("Sisäinen muistiinpano").fill("Soitin, sovittu aika <b>ma klo 9</b>.")
    page.get_by_role("button", name="Lisää muistiinpano").click()
    expect(timeline).to_contain_text("Soitin, sovittu aika <b>ma klo 9</b>.")
    settled(page)

    page.get_by_label("Lopputulos").select_option(label="Aika varattu")
    page.get_by_role("button", name="Ratkaise").click()
    expect(page.locator("#item .alert-success")).to_have_text("Asia on ratkaistu.")
    expect(timeline).to_contain_text("Ratkaistu: Aika varattu")
    page.get_by_role("link", name="Oma työ").first.click()
    expect(page.get_by_role("row").filter(has_text=title)).to_have_count(0)


def test_keyboard_only_take_note_and_resolve(page: Page, live):
    title = "Näppäimistö: reseptin uusinta"
    # An emergency two days overdue: first in the contract's order.
    new_item(live, title, emergency=True, due_in=timedelta(days=-2))
    sign_in(page)
    keyboard = page.keyboard
    keyboard.press("j")
    expect(page.get_by_role("link", name=title)).to_be_focused()
    keyboard.press("t")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    # The item page's script is ready for shortcuts (a loaded machine draws the heading first).
    page.wait_for_load_state()
    settled(page)

    keyboard.press("c")
    expect(page.get_by_label("Sisäinen muistiinpano")).to_be_focused()
    keyboard.type("Resepti uusittu, ohjeistettu apteekkiin.")
    # Typing "c", "t" or "r" in the field did not trigger shortcuts.
    expect(page.get_by_label("Sisäinen muistiinpano")).to_have_value(
        "Resepti uusittu, ohjeistettu apteekkiin."
    )
    keyboard.press("Tab")
    keyboard.press("Enter")
    expect(page.get_by_role("region", name="Aikajana")).to_contain_text("Resepti uusittu")
    settled(page)

    keyboard.press("r")
    expect(page.get_by_label("Lopputulos")).to_be_focused()
    keyboard.press("ArrowDown")
    keyboard.press("Tab")  # "insert a template", then the summary, then the button
    keyboard.press("Tab")
    keyboard.press("Tab")
    expect(page.get_by_role("button", name="Ratkaise")).to_be_focused()
    keyboard.press("Enter")
    expect(page.locator("#item .alert-success")).to_have_text("Asia on ratkaistu.")


def test_search_by_keyboard_finds_an_item_by_its_words_and_its_number(page: Page, live):
    title = "Hakutesti: silmätippojen annostelu"
    item_id = new_item(live, title, queue="chat-regional")
    sign_in(page)
    page.keyboard.press("/")
    field = page.get_by_role("searchbox", name="Asianumero, henkilötunnus tai hakusanat")
    expect(field).to_be_focused()
    page.keyboard.type("silmätipp")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Asioiden haku")
    expect(page.get_by_role("status").filter(has_text="1 tulos")).to_be_visible()
    accessible(page, "search results")
    page.get_by_role("searchbox").last.fill(f"#{item_id}")
    page.keyboard.press("Enter")
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def test_the_residents_other_matters_open_on_request(page: Page, live):
    code = synthetic(random.Random(77), date(1990, 3, 3))
    earlier = new_item(live, "Muut asiat: aiempi reseptiasia", personal_id=code)
    current = new_item(live, "Muut asiat: tämänpäiväinen", personal_id=code)
    sign_in(page)
    page.goto(f"{page.base_url}/items/{current}")
    page.get_by_role("button", name="Näytä asukkaan muut asiat").click()
    heading = page.get_by_role("heading", name="Asukkaan muut asiat")
    expect(heading).to_be_focused()
    expect(page.locator("#resident-others a")).to_have_attribute("href", f"/items/{earlier}")
    accessible(page, "the resident's other matters")


def test_an_item_is_copied_for_the_client_system(page: Page, live):
    code = synthetic(random.Random(78), date(1961, 8, 9))
    item_id = new_item(live, "Kopioitava: toimeentulotuen liite", personal_id=code)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=page.base_url)
    sign_in(page)
    page.goto(f"{page.base_url}/items/{item_id}")
    page.get_by_role("link", name="Kopioi asiakastietojärjestelmään").click()
    expect(page.locator("#live")).to_contain_text("Kopioitu")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "Kopioitava: toimeentulotuen liite" in copied and code in copied
    accessible(page, "an item copied for the client system")


def test_switch_to_swedish_and_back(page: Page):
    sign_in(page)
    page.get_by_role("button", name="Svenska").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mitt arbete")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mitt arbete")
    page.get_by_role("button", name="Suomi").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Oma työ")


@pytest.mark.console_allows("status of 500", "Error Code 500")
def test_a_failed_request_shows_a_message(page: Page, live):
    item_id = new_item(live, "Virhetilanne")
    sign_in(page)
    page.goto(f"{page.base_url}/items/{item_id}")
    page.route("**/note", lambda route: route.fulfill(status=500, body="boom"))
    page.get_by_label("Sisäinen muistiinpano").fill("Tämä ei tallennu")
    page.get_by_role("button", name="Lisää muistiinpano").click()
    expect(page.locator("#alert")).to_have_text(
        "Toiminto epäonnistui. Mitään ei muutettu. Yritä uudelleen."
    )


def test_two_people_on_one_item_see_each_other(page: Page, chromium, live):
    item_id = new_item(live, "Yhteinen asia: rokotusaika", queue="omaolo-porvoo")
    sign_in(page)
    page.goto(f"{page.base_url}/items/{item_id}")
    presence = page.locator("#presence")
    expect(presence).to_be_empty()

    context = chromium.new_context(locale="fi-FI")
    other = context.new_page()
    other.base_url = page.base_url
    try:
        sign_in(other, "sjukskotare")
        other.goto(f"{page.base_url}/items/{item_id}")
        # Sara sees at once that Hanna has it open, in her own language...
        expect(other.locator("#presence")).to_contain_text("Ärendet är just nu öppet även hos:")
        expect(other.locator("#presence")).to_contain_text("Hanna Hoitaja")
        # ...and Hanna's page learns of Sara at its next ask, in a polite live region.
        expect(presence).to_contain_text("Tätä asiaa katsoo nyt myös: Sara Sjöberg")
        expect(presence).to_have_attribute("role", "status")
        accessible(page, "item page with a collision warning")
        # Focus stays where the reader is while the warning refreshes.
        page.get_by_label("Sisäinen muistiinpano").focus()
        # Sara goes back to her work: Hanna's warning goes within a few seconds, not 45.
        other.get_by_role("link", name="Mitt arbete").first.click()
        expect(presence).to_be_empty()
        expect(page.get_by_label("Sisäinen muistiinpano")).to_be_focused()
    finally:
        context.close()
