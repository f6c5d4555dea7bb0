"""A nurse's first day in a real browser (issue 15): told their status and how to change it,
shown the desk's real controls by a tour walked with the keyboard, which then stays closed on
any computer; and the training space's tour points at what each of its steps describes."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.models import User
from tests.factories import make_user
from tests.live import ACCOUNTS
from tests.test_browser import accessible, sign_in, tour_closed

# What each step of the real desk's tour names, and the element it must point at on My work.
FIRST_DAY = [
    ("Oma tavoitettavuus", "#my-status"),
    ("Jonoissani odottavat", "#available-heading"),
    ("Ota seuraava", "[data-shortcut=take-next]"),
    ("Hae", "#search-q"),
    ("Pikanäppäimet", "[data-dialog-open=shortcut-help]"),
    ("Kieli", ".language-switch"),
    ("Tämä esittely", "#tour-button"),
]


def _newcomer(live, username: str, role: str = "professional", queues=None) -> None:
    with Session(live[1]) as s:
        if s.scalar(select(User).where(User.username == username)) is None:
            user = make_user(
                s,
                role=role,
                queues=ACCOUNTS["hoitaja"]["queues"] if queues is None else queues,
                name=f"Uusi {username}",
            )
            user.username = username
            s.commit()


def _pointed_at(page: Page) -> dict:
    """What the open tour's current step outlines: how many elements, and whether the one
    outlined is within the window and clear of the dialog."""
    return page.evaluate(
        """() => {
          const marked = document.querySelectorAll('.tour-target');
          const dialog = document.querySelector('dialog[data-tour][open]').getBoundingClientRect();
          if (marked.length !== 1) return {count: marked.length};
          const r = marked[0].getBoundingClientRect();
          const style = getComputedStyle(marked[0]);
          return {
            count: 1,
            inWindow: r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth,
            clear: r.bottom <= dialog.top || r.top >= dialog.bottom
                   || r.right <= dialog.left || r.left >= dialog.right,
            ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 3,
          };
        }"""
    )


def _is(page: Page, selector: str) -> bool:
    return page.evaluate(
        "s => { const m = document.querySelector('.tour-target'); return !!m && m.matches(s); }",
        selector,
    )


def _press_next(page: Page) -> None:
    """From the step's heading, Tab to the tour's primary button and press Enter."""
    for _ in range(4):
        if page.evaluate(
            "() => document.activeElement.matches('[data-tour-move=\"1\"], [data-tour-finish]')"
        ):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")


def test_a_first_time_nurse_is_told_her_status_and_walks_the_tour_by_keyboard(
    page: Page, chromium, live
):
    _newcomer(live, "ensipaiva")
    sign_in(page, "ensipaiva")
    tour = page.get_by_role("dialog", name="Työpöydän esittely")
    expect(tour).to_be_visible()
    expect(tour.get_by_role("button", name="Seuraava")).to_be_focused()
    accessible(page, "the first-day tour")

    for number, (name, selector) in enumerate(FIRST_DAY, start=1):
        heading = tour.get_by_role("heading", level=3)
        expect(heading).to_have_text(f"{number} / {len(FIRST_DAY)}: {name}")
        if number > 1:
            expect(heading).to_be_focused()
        assert _is(page, selector), f"step {number} points at {selector}"
        assert _pointed_at(page) == {"count": 1, "inWindow": True, "clear": True, "ring": True}, (
            f"step {number}"
        )
        if number < len(FIRST_DAY):
            _press_next(page)
    with page.expect_response(lambda answer: answer.url.endswith("/me/tour-seen")):
        _press_next(page)  # "Valmis" on the last step
    expect(tour).to_be_hidden()
    expect(page.locator(".tour-target")).to_have_count(0)

    # The status, what it means and the way to change it, beside the control.
    notice = page.locator("#status-notice")
    expect(notice).to_contain_text("Tilasi: Poissa.")
    expect(notice).to_contain_text("Työpöytä ei anna sinulle asioita")
    expect(page.get_by_label("Oma tavoitettavuus")).to_have_accessible_description(
        re.compile("Tilasi: Poissa")
    )
    indicator = page.get_by_role("link", name="Tila: Poissa · vaihda")
    expect(indicator).to_be_visible()
    accessible(page, "My work with the status notice")

    # The top bar's status leads back to the control from any page.
    page.get_by_role("link", name="Tilannekuva").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tilannekuva")
    page.get_by_role("link", name="Tila: Poissa · vaihda").click()
    expect(page).to_have_url(re.compile(r"/work#availability$"))
    expect(page.get_by_label("Oma tavoitettavuus")).to_be_in_viewport()
    expect(page.get_by_role("dialog", name="Työpöydän esittely")).to_be_hidden()  # once only

    page.get_by_role("button", name="Aloita työ: Vapaana").click()
    expect(page.locator("[data-flash]")).to_contain_text("Tilasi on nyt: Vapaana.")
    expect(page.locator("#status-notice")).to_have_count(0)
    expect(page.locator("#status-indicator")).to_have_count(0)

    # Another computer: the tour stays closed, for it is the account's.
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="fi-FI")
    try:
        other = context.new_page()
        other.base_url = page.base_url
        sign_in(other, "ensipaiva")
        expect(other.get_by_role("heading", level=1)).to_have_text("Oma työ")
        expect(other.locator("dialog[data-tour]")).to_be_hidden()
    finally:
        context.close()


def test_esc_closes_the_tour_and_the_top_bar_opens_it_again(page: Page, live):
    _newcomer(live, "ensipaiva-esc", queues=[])  # in no queue yet: Take next is not there
    sign_in(page, "ensipaiva-esc")
    tour = page.get_by_role("dialog", name="Työpöydän esittely")
    expect(tour).to_be_visible()
    with page.expect_response(lambda answer: answer.url.endswith("/me/tour-seen")):
        page.keyboard.press("Escape")
    expect(tour).to_be_hidden()

    opener = page.get_by_role("button", name="Esittely", exact=True)
    opener.focus()
    page.keyboard.press("Enter")
    expect(tour).to_be_visible()
    expect(tour.get_by_role("heading", level=3)).to_have_text("1 / 7: Oma tavoitettavuus")
    expect(tour.get_by_role("button", name="Edellinen")).to_be_disabled()
    # Without a queue, the "Take next" step says where the button will be and points there.
    _press_next(page)
    _press_next(page)
    expect(tour.get_by_role("heading", level=3)).to_have_text("3 / 7: Ota seuraava")
    expect(tour).to_contain_text("kun tiiminvetäjäsi on lisännyt sinut jonoon")
    assert _is(page, "#available-heading")
    page.keyboard.press("Escape")
    expect(tour).to_be_hidden()
    expect(opener).to_be_focused()  # back where the person was


def test_every_step_of_the_training_tour_points_at_a_visible_element(page: Page, chromium, live):
    _newcomer(live, "harjoittelija-uusi", role="trainee", queues=[])
    # A trainer starts a session for the new trainee, so there are practice cases to open.
    trainer_context = chromium.new_context(locale="fi-FI")
    trainer = trainer_context.new_page()
    trainer.base_url = page.base_url
    try:
        sign_in(page, "harjoittelija-uusi")  # mirrored into the training space
        sign_in(trainer, "kouluttaja")
        tour_closed(trainer)
        trainer.goto(page.base_url + "/training")
        trainer.get_by_label("Uusi harjoittelija-uusi").check()
        trainer.get_by_role("button", name="Aloita", exact=True).click()
        expect(trainer.locator("[data-flash]")).to_contain_text("Harjoitus alkoi")
    finally:
        trainer_context.close()

    # On My work, where it opens: the lists, an item to open, the ways to the rest.
    page.reload()
    tour = page.get_by_role("dialog", name="Esittelykierros")
    expect(tour).to_be_visible()
    on_my_work = [
        "#held-heading",
        "a[id^=item-link-]",
        ".mainnav a[href$='/instructions']",
        "[data-shortcut=take-next]",
        ".mainnav a[href$='/templates']",
        "[data-dialog-open=shortcut-help]",
    ]
    _walk(page, tour, on_my_work)
    with page.expect_response(lambda answer: answer.url.endswith("/me/tour-seen")):
        page.keyboard.press("Escape")

    # On a practice case, from the banner: the item's own parts.
    page.locator("a[id^=item-link-]").first.click()
    expect(page.locator("#item-title")).to_be_visible()
    page.locator(".training-banner").get_by_role("button", name="Esittelykierros").click()
    on_an_item = [
        "[data-shortcut=my-work]",
        "#item-title",
        "#instructions-heading",
        "#actions-heading",
        "[data-shortcut=template], .mainnav a[href$='/templates']",
        "[data-dialog-open=shortcut-help]",
    ]
    _walk(page, tour, on_an_item)
    accessible(page, "the training tour on a practice case")
    page.keyboard.press("Escape")
    expect(tour).to_be_hidden()


def _walk(page: Page, tour, selectors: list[str]) -> None:
    for number, selector in enumerate(selectors, start=1):
        expect(tour.get_by_role("heading", level=3)).to_contain_text(f"{number} / 6:")
        assert _is(page, selector), f"step {number} points at {selector}"
        assert _pointed_at(page) == {"count": 1, "inWindow": True, "clear": True, "ring": True}, (
            f"step {number}"
        )
        if number < len(selectors):
            _press_next(page)
