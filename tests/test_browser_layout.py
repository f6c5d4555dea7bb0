"""The item page on a laptop (1366×768) and the main pages at 320 CSS px (WCAG 2.1 1.4.10:
1280 px at 400 % zoom), in Debian's Chromium: the actions stay within reach, nothing is cut
off, nothing scrolls sideways; an ended session is told beside the control that was used and
a typed note survives signing in again; a transfer out of one's own queues says where the item
went; Ctrl+Enter sends a note."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from desk.models import User, UserSession, WorkItem
from tests.factories import PASSWORD, make_item
from tests.live import sample_items
from tests.test_browser import accessible, settled, sign_in, take_as

LAPTOP = {"width": 1366, "height": 768}
NARROW = {"width": 320, "height": 640}


def new_item(live, title: str, **kw) -> int:
    extra = {k: kw.pop(k) for k in ("resident_email", "resident_name") if k in kw}
    with Session(live[1]) as s:
        item = make_item(s, title=title, **kw)
        for name, value in extra.items():
            setattr(item, name, value)
        s.commit()
        return item.id


def quiet_background(page: Page) -> None:
    """The page's own polls (presence every second here, every 20 s in use) answer "nothing
    new", so that a story decides when the user acts: a poll that finds the session over takes
    the page to the sign-in page by itself (tests/test_sessions.py), drafts kept."""
    page.route(re.compile(r"/items/\d+/presence\?"), lambda route: route.fulfill(status=204))


def in_view(page: Page, selector: str | None = None) -> bool:
    """Whether the element (None: the focused one) is wholly inside the window and nothing
    covers its centre."""
    return page.evaluate(
        """(selector) => {
            const e = selector ? document.querySelector(selector) : document.activeElement;
            const r = e.getBoundingClientRect();
            const out = r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth;
            if (out) return false;
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return hit === e || e.contains(hit);
        }""",
        selector,
    )


def clear_of_bar(page: Page, selector: str | None = None) -> bool:
    """Whether the element (None: the focused one) is wholly below the action bar, which
    stays at the top of the window."""
    return page.evaluate(
        """(selector) => {
            const bar = document.querySelector(".action-bar").getBoundingClientRect();
            const e = selector ? document.querySelector(selector) : document.activeElement;
            const r = e.getBoundingClientRect();
            return r.top >= bar.bottom && r.bottom <= innerHeight;
        }""",
        selector,
    )


# --- reflow at 320 px -------------------------------------------------------------------

PAGES = [
    ("hoitaja", "/work"),
    ("hoitaja", "/situation"),
    ("hoitaja", "item:chat"),
    ("hoitaja", "item:omaolo"),
    ("hoitaja", "item:eform"),
    ("hoitaja", "/search?q=kipu"),
    ("hoitaja", "/instructions"),
    ("hoitaja", "/templates"),
    ("hoitaja", "/services"),
    ("tiimivastaava", "/team"),
    ("tiimivastaava", "/reports"),
    ("tarkastaja", "/audit"),
]


def _too_wide(page: Page) -> list[str]:
    """The innermost elements that reach past the window's right edge (for the message)."""
    return page.evaluate(
        """() => [...document.querySelectorAll("body *")]
            .filter(e => e.getBoundingClientRect().right > innerWidth + 1 && ![...e.children]
                .some(c => c.getBoundingClientRect().right > innerWidth + 1))
            .slice(0, 5)
            .map(e => e.tagName + (e.id ? "#" + e.id : "") + "." + e.className + ": "
                      + e.textContent.trim().slice(0, 60))"""
    )


@pytest.mark.parametrize(("username", "where"), PAGES)
def test_the_main_pages_reflow_at_320_px(page: Page, live, username, where):
    """No page scrolls sideways at 320 CSS px; a wide data table scrolls inside its own box."""
    sign_in(page, username, lands_on=r"/audit$" if username == "tarkastaja" else r"/work$")
    page.set_viewport_size(NARROW)
    if where.startswith("item:"):
        where = f"/items/{sample_items(live[1])[where[5:]]}"
    page.goto(page.base_url + where)
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"] + 1, f"{where} is {width} px wide: {_too_wide(page)}"
    accessible(page, f"{where} at 320 px")


def test_my_work_at_320_px_shows_every_column_of_an_item(page: Page, live):
    """My work's lists become one card per item, each value with its column's name: the
    status column that was cut off is read in full."""
    title = "Kapea näkymä: reseptin uusinta"
    item_id = new_item(live, title, due_in=timedelta(hours=5))
    take_as(live, item_id, "hoitaja")
    # A title with no place to break (a pasted address) wraps inside its card too.
    unbroken = "https://www.omaolo.fi/palvelut/reseptinuusinta?viite=" + "ABCDEFGHIJ" * 4
    take_as(live, new_item(live, unbroken), "hoitaja")
    sign_in(page)
    page.set_viewport_size(NARROW)
    expect(page.get_by_role("link", name=unbroken)).to_be_visible()
    row = page.get_by_role("row").filter(has_text=title)
    status = row.locator("td[data-label=Tila]")
    expect(status).to_contain_text("Käsittelyssä")
    for cell in row.locator("td").all():
        box = cell.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"], box
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"], _too_wide(page)
    accessible(page, "My work at 320 px")


# --- the item page at 1366×768 ----------------------------------------------------------


def test_the_actions_stay_within_reach_at_1366_x_768(page: Page, live):
    """Scrolled to the end of a long item, the action bar is still in view and leads to the
    resolution; what it leads to is not hidden under it."""
    title = "Pitkä asia: monta viestiä"
    conversation = [
        {"sender": "resident", "sent_at": "2026-12-01T08:00:00+00:00", "text": f"Viesti {n}. " * 30}
        for n in range(12)
    ]
    item_id = new_item(live, title, content={"conversation": conversation})
    take_as(live, item_id, "hoitaja")
    page.set_viewport_size(LAPTOP)
    sign_in(page)
    page.goto(f"{page.base_url}/items/{item_id}")
    assert page.evaluate("document.documentElement.scrollHeight") > 2 * LAPTOP["height"]
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    assert page.evaluate("window.scrollY") > 500
    bar = page.get_by_role("group", name="Asian toiminnot")
    for name in ("Odottaa asukasta", "Vapauta", "Siirrä…"):
        expect(bar.get_by_role("button", name=name)).to_be_in_viewport()
    resolve = bar.get_by_role("link", name="Ratkaise…")
    assert in_view(page, ".action-bar a[data-focus-field=resolve-outcome]")
    resolve.click()
    expect(page.get_by_label("Lopputulos")).to_be_focused()
    assert in_view(page, "#resolve-outcome"), "the outcome is in view, not under the bar"
    for _ in range(3):  # back up the page: focus never goes under the bar unseen
        page.keyboard.press("Shift+Tab")
        assert in_view(page), page.evaluate("document.activeElement.outerHTML.slice(0, 120)")
    bar.get_by_role("link", name="Kirjoita muistiinpano").click()
    expect(page.get_by_label("Sisäinen muistiinpano")).to_be_focused()
    assert in_view(page, "#note-text")
    accessible(page, "item page scrolled, with the action bar")


def test_a_bar_of_two_lines_hides_nothing_either(page: Page, live):
    """A narrower window in Swedish: the bar's buttons take two lines; what focus or a jump
    brings into view still stops below the bar."""
    conversation = [
        {
            "sender": "resident",
            "sent_at": "2026-12-01T08:00:00+00:00",
            "text": f"Meddelande {n}. " * 25,
        }
        for n in range(10)
    ]
    item_id = new_item(live, "Lång chatt på svenska", content={"conversation": conversation})
    take_as(live, item_id, "sjukskotare")
    page.set_viewport_size({"width": 780, "height": 600})
    sign_in(page, "sjukskotare")
    page.goto(f"{page.base_url}/items/{item_id}")
    bar = page.get_by_role("group", name="Åtgärder för ärendet")
    assert bar.bounding_box()["height"] > 80, "the buttons take two lines here"
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    bar.get_by_role("link", name="Avsluta…").click()
    expect(page.get_by_label("Resultat")).to_be_focused()
    assert in_view(page, "#resolve-outcome")
    # Focus moving up to a control above the window, and a jump to a part of the page (the
    # bar's links without script): what comes into view is below the bar, not under it.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.get_by_label("Kommun som invånaren söker service från").focus()
    assert clear_of_bar(page)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.evaluate("location.hash = '#details-heading'")
    assert clear_of_bar(page, "#details-heading")


def test_the_details_column_shows_long_addresses_and_the_save_button(page: Page, live):
    """The e-mail address wraps inside the column and the municipality form's Save button is
    wholly visible (they were cut off at the panel's edge)."""
    email = "katjarantanen.pitkaosoite@example-sairaanhoitopiiri.fi"
    item_id = new_item(
        live,
        "Yhteystiedot: pitkä osoite",
        municipality="porvoo",
        resident_email=email,
        resident_name="Katja Rantanen",
    )
    page.set_viewport_size(LAPTOP)
    sign_in(page)
    page.goto(f"{page.base_url}/items/{item_id}")
    details = page.get_by_role("region", name="Tiedot")
    expect(details).to_contain_text(email)
    panel = details.bounding_box()
    for part in (details.get_by_text(email), details.get_by_role("button", name="Tallenna")):
        box = part.bounding_box()
        assert box["x"] >= panel["x"] and box["x"] + box["width"] <= panel["x"] + panel["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]


# --- an ended session, drafts and Ctrl+Enter -----------------------------------------------


def end_session(page: Page, live, how: str) -> None:
    if how == "signed out in another tab":
        other = page.context.new_page()
        other.goto(page.base_url + "/work")
        other.get_by_role("button", name="Kirjaudu ulos").click()
        expect(other).to_have_url(re.compile(r"/login"))
        other.close()
    else:  # ended on the server (idle or too long; here: the row is gone)
        with Session(live[1]) as s:
            user = s.scalar(select(User).where(User.username == "hoitaja"))
            s.execute(delete(UserSession).where(UserSession.user_id == user.id))
            s.commit()


@pytest.mark.console_allows("status of 401")
@pytest.mark.parametrize("how", ["signed out in another tab", "ended on the server"])
def test_an_ended_session_is_told_beside_the_action_and_the_note_survives(page: Page, live, how):
    title = f"Istunto päättyi: {how}"
    item_id = new_item(live, title)
    quiet_background(page)
    page.set_viewport_size(LAPTOP)
    sign_in(page)
    page.goto(f"{page.base_url}/items/{item_id}")
    note = "Soitin asukkaalle klo 9.15, sovittiin takaisinsoitto huomenna."
    page.get_by_label("Sisäinen muistiinpano").fill(note)
    end_session(page, live, how)

    # "Take", from the bar at the top of the view while scrolled down: said in the bar.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    bar = page.get_by_role("group", name="Asian toiminnot")
    bar.get_by_role("button", name="Ota", exact=True).click()
    said = bar.get_by_role("alert")
    expect(said).to_contain_text("Istuntosi on päättynyt, eikä mitään tallennettu.")
    expect(said).to_be_focused()
    expect(said).to_be_in_viewport()
    expect(page.locator("#alert")).to_be_hidden()
    expect(page).to_have_url(f"{page.base_url}/items/{item_id}")

    # Saving the note: said beside the note, which is kept.
    page.get_by_role("button", name="Lisää muistiinpano").click()
    said = page.locator("#note-form").get_by_role("alert")
    expect(said).to_contain_text("Kirjoittamasi teksti säilyy tässä selaimen välilehdessä")
    expect(said).to_be_focused()
    expect(bar.get_by_role("alert")).to_have_count(0)  # one message at a time
    accessible(page, "the session ended, said beside the note")

    said.get_by_role("link", name="Kirjaudu uudelleen").click()
    expect(page).to_have_url(re.compile(r"/login\?next=/items/"))
    page.get_by_label("Käyttäjätunnus").fill("hoitaja")
    page.get_by_label("Salasana").fill(PASSWORD)
    page.get_by_role("button", name="Kirjaudu", exact=True).click()
    expect(page).to_have_url(f"{page.base_url}/items/{item_id}")
    field = page.get_by_label("Sisäinen muistiinpano")
    expect(field).to_have_value(note)

    # Sent with Ctrl+Enter; once saved, the draft is gone (a reload shows an empty field).
    field.focus()
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("region", name="Aikajana")).to_contain_text(note)
    settled(page)
    page.reload()
    expect(page.get_by_label("Sisäinen muistiinpano")).to_have_value("")


@pytest.mark.console_allows("status of 400", "Error Code 400")
def test_an_expired_form_is_told_beside_it_and_a_reload_keeps_the_text(page: Page, live):
    """Still signed in, but the page's form token is stale (e.g. signed out and in again in
    another tab): said beside the note, and the reload offered there keeps what was typed."""
    item_id = new_item(live, "Vanhentunut lomake")
    quiet_background(page)
    sign_in(page)
    page.goto(f"{page.base_url}/items/{item_id}")
    page.evaluate(
        """() => {
            document.querySelector("meta[name=csrf-token]").content = "stale";
            document.querySelectorAll("input[name=csrf_token]").forEach((i) => (i.value = "stale"));
        }"""
    )
    note = "Asukas pyysi soittoa iltapäivällä."
    page.get_by_label("Sisäinen muistiinpano").fill(note)
    page.get_by_role("button", name="Lisää muistiinpano").click()
    said = page.locator("#note-form").get_by_role("alert")
    expect(said).to_contain_text("Lomake oli vanhentunut, eikä mitään tallennettu.")
    expect(said).to_contain_text("Kirjoittamasi teksti säilyy")
    expect(said).to_be_focused()
    expect(page.locator("#alert")).to_be_hidden()
    said.get_by_role("link", name="Lataa sivu uudelleen").click()
    expect(page.get_by_label("Sisäinen muistiinpano")).to_have_value(note)
    page.get_by_role("button", name="Lisää muistiinpano").click()
    expect(page.get_by_role("region", name="Aikajana")).to_contain_text(note)


def test_drafts_stay_with_their_author_and_go_at_sign_out(page: Page, live):
    """On a shared computer: a draft left in a tab is not shown to the next person, and
    signing out deletes the drafts of the tab."""
    item_id = new_item(live, "Jaettu tietokone: luonnos", queue="chat-regional")
    sign_in(page)
    page.goto(f"{page.base_url}/items/{item_id}")
    page.get_by_label("Sisäinen muistiinpano").fill("Hannan kesken jäänyt muistiinpano")
    page.reload()
    expect(page.get_by_label("Sisäinen muistiinpano")).to_have_value(
        "Hannan kesken jäänyt muistiinpano"
    )
    page.get_by_role("button", name="Kirjaudu ulos").click()
    expect(page).to_have_url(re.compile(r"/login"))
    kept = page.evaluate(
        "Object.keys(sessionStorage).filter(k => k.startsWith('desk-draft:')).length"
    )
    assert kept == 0
    sign_in(page, "sjukskotare")
    page.goto(f"{page.base_url}/items/{item_id}")
    expect(page.get_by_label("Intern anteckning")).to_have_value("")


def test_ctrl_enter_sends_the_note_and_the_resolution(page: Page, live):
    title = "Ctrl+Enter: laboratorioaika"
    item_id = new_item(live, title)
    take_as(live, item_id, "hoitaja")
    sign_in(page)
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Pikanäppäimet")
    expect(help_dialog).to_contain_text("Muistiinpanossa, yhteenvedossa tai vastauksessa")
    page.keyboard.press("Escape")
    page.goto(f"{page.base_url}/items/{item_id}")
    page.keyboard.press("c")
    page.keyboard.type("Aika varattu laboratorioon.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#item .alert-success")).to_have_text("Muistiinpano lisätty.")
    expect(page.get_by_role("region", name="Aikajana")).to_contain_text("Aika varattu")
    settled(page)
    page.get_by_label("Lopputulos").select_option(label="Aika varattu")
    page.get_by_label("Yhteenveto (valinnainen)").fill("Ohjattu laboratorioon.")
    page.keyboard.press("Meta+Enter")  # the Mac's Cmd+Enter
    expect(page.locator("#item .alert-success")).to_have_text("Asia on ratkaistu.")


# --- a transfer out of one's own queues ---------------------------------------------------


@pytest.mark.console_allows("status of 404")  # the other nurse's refused look
def test_a_transfer_out_of_my_queues_says_where_the_item_went(page: Page, live):
    title = "Siirto pois omista jonoista"
    item_id = new_item(live, title)
    take_as(live, item_id, "hoitaja")
    sign_in(page)
    page.goto(f"{page.base_url}/items/{item_id}")
    page.get_by_role("button", name="Siirrä…").click()
    dialog = page.get_by_role("dialog", name="Siirrä toiseen jonoon")
    dialog.get_by_label("Jono").select_option(label="Tunnistettu chat: Sipoo")
    dialog.get_by_label("Syy").fill("Asukas asuu Sipoossa.")
    dialog.get_by_role("button", name="Siirrä", exact=True).click()
    where = f"Asia #{item_id} on nyt jonossa Tunnistettu chat: Sipoo."
    said = page.locator("#item .alert-success")
    expect(said).to_contain_text(where)
    expect(said).to_contain_text("Sinulla ei ole enää siihen käyttöoikeutta.")
    expect(said).to_be_focused()
    expect(page.get_by_role("heading", level=1)).to_have_text("Asia siirrettiin")
    expect(page.locator("#item")).not_to_contain_text(title)
    page.wait_for_timeout(2_500)  # the presence poll (every second here) has stopped
    expect(page.locator("#alert")).to_be_hidden()
    accessible(page, "transferred away")

    page.reload()  # the same address, later: still where it went, nothing of the item
    expect(page.locator("#item .alert-success")).to_contain_text(where)
    expect(page.locator("main")).not_to_contain_text(title)
    page.get_by_role("link", name="Takaisin omaan työhön").click()
    expect(page).to_have_url(f"{page.base_url}/work")

    with Session(live[1]) as s:
        assert s.get(WorkItem, item_id).queue_code == "chat-id-sipoo"
    # Someone else without access to it is refused as before.
    page.get_by_role("button", name="Kirjaudu ulos").click()
    sign_in(page, "sjukskotare")
    answer = page.goto(f"{page.base_url}/items/{item_id}")
    assert answer.status == 404
