"""Instructions, templates and the service matrix in a real browser: a hostile instruction does
nothing, a template goes in by keyboard, and every new page passes axe-core."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.models import User
from tests.factories import make_item, make_user
from tests.live import identified_resident
from tests.test_browser import accessible, settled, sign_in, tour_closed

HOSTILE = (
    "Ohje <script>window.pwned = 1</script>\n\n"
    '<img src="x" onerror="window.pwned = 2">\n\n'
    "[Avaa ohje](javascript:window.pwned=3) ja [Omaolo](https://www.omaolo.fi/)\n\n"
    '<a href="#" onclick="window.pwned = 4">klikkaa</a>'
)


def porvoo_item(live, title: str) -> int:
    with Session(live[1]) as s:
        item = make_item(
            s,
            title=title,
            channel="omaolo",
            queue="omaolo-porvoo",
            municipality="porvoo",
            content={
                "assessment": {
                    "kind": "symptom",
                    "code": "korvakipu",
                    "title": "Korvakipu",
                    "urgency": "P5",
                    "recommendation": "Kiireetön vastaanotto.",
                }
            },
        )
        item.resident_name = "Aino Virtanen"
        s.commit()
        return item.id


def test_a_hostile_instruction_is_shown_as_text_and_does_nothing(page: Page, live):
    item_id = porvoo_item(live, "Korvakipu (vihamielinen ohje)")
    sign_in(page, "tiimivastaava")
    page.goto(page.base_url + "/instructions/new")
    page.locator("#e-municipality").select_option("porvoo")
    page.locator("#e-channel").select_option("omaolo")
    page.locator("#e-topic").fill("korvakipu")
    page.locator("#e-title-fi").fill('Korvakipu <b onmouseover="window.pwned=5">lihava</b>')
    page.locator("#e-title-sv").fill("Öronvärk")
    page.locator("#e-body-fi").fill(HOSTILE)
    page.locator("#e-body-sv").fill("Anvisning på svenska.")
    # The draft preview renders through the same sanitiser.
    page.locator("button[name=preview][value=fi]").click()
    expect(page.locator("#draft-fi a")).to_have_attribute("href", "https://www.omaolo.fi/")
    page.locator("form.instruction-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/instructions/\d+$"))

    page.goto(f"{page.base_url}/items/{item_id}")
    card = page.locator("article.instruction").filter(has_text="Korvakipu")
    expect(card).to_have_count(1)
    expect(card.locator("h3")).to_have_text('Korvakipu <b onmouseover="window.pwned=5">lihava</b>')
    expect(card.locator(".markdown").first).to_contain_text("<script>window.pwned = 1</script>")
    assert card.locator("script, img, [onerror], [onclick], [onmouseover]").count() == 0
    links = card.locator(".markdown").first.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://www.omaolo.fi/")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    card.locator("h3").hover()
    card.locator("h3").click()
    expect(page).to_have_url(f"{page.base_url}/items/{item_id}")
    assert page.evaluate("window.pwned") is None
    accessible(page, "item page with an instruction")


def test_a_template_goes_into_a_note_by_keyboard_filled_from_the_item(page: Page, live):
    item_id = porvoo_item(live, "Korvakipu (vastausmalli)")
    sign_in(page)
    page.goto(f"{page.base_url}/items/{item_id}")
    page.keyboard.press("i")
    dialog = page.get_by_role("dialog", name="Vastausmallit")
    expect(dialog).to_be_visible()
    search = dialog.get_by_label("Hae vastausmalleja")
    expect(search).to_be_focused()
    accessible(page, "template dialog")
    page.keyboard.type("videovisit")
    choices = dialog.locator("[data-template-choice]:visible")
    expect(choices).to_have_count(1)
    expect(choices.first).to_contain_text("Hei Aino,")
    expect(dialog.get_by_role("status")).to_contain_text("1")
    page.keyboard.press("Tab")
    expect(choices.first.get_by_role("button", name="Lisää")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    note = page.get_by_label("Sisäinen muistiinpano")
    expect(note).to_be_focused()
    expect(note).to_have_value(re.compile(r"^Hei Aino,.*VideoVisit", re.S))
    expect(page.locator("#live")).to_contain_text("Vastausmalli lisättiin.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Lisää muistiinpano")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("region", name="Aikajana")).to_contain_text("Hei Aino,")
    settled(page)


@pytest.mark.console_allows("status of 409")
def test_a_placeholder_left_in_is_refused_and_the_text_kept(page: Page, live):
    item_id = porvoo_item(live, "Korvakipu (täyttämätön)")
    with Session(live[1]) as s:
        from desk.models import WorkItem

        s.get(WorkItem, item_id).resident_name = None  # no first name to fill in
        s.commit()
    sign_in(page)
    page.goto(f"{page.base_url}/items/{item_id}")
    page.get_by_role("button", name="Lisää vastausmalli…").first.click()
    dialog = page.get_by_role("dialog", name="Vastausmallit")
    choice = dialog.locator("[data-template-choice]").filter(has_text="{first_name}").first
    expect(choice.locator(".template-missing")).to_contain_text("{first_name}")
    choice.get_by_role("button", name="Lisää").click()
    page.get_by_role("button", name="Lisää muistiinpano").click()
    expect(page.locator("#item .alert-error")).to_contain_text("{first_name}")
    expect(page.get_by_label("Sisäinen muistiinpano")).to_have_value(re.compile(r"\{first_name\}"))


@pytest.mark.console_allows("status of 422")
def test_the_guidance_pages_are_accessible(page: Page, live):
    sign_in(page, "tiimivastaava")
    page.get_by_role("link", name="Ohjeet").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ohjeet")
    accessible(page, "instructions")
    page.locator("table.list a").first.click()
    accessible(page, "one instruction with its versions")
    page.get_by_role("link", name="Muokkaa").click()
    page.locator("#e-title-fi").fill("")
    page.locator("form.instruction-form button[type=submit]").click()
    expect(page.get_by_role("alert")).to_contain_text("Ohjetta ei tallennettu")
    expect(page.locator("#e-title-fi")).to_have_attribute("aria-invalid", "true")
    accessible(page, "instruction editor with an error")
    page.goto(
        page.base_url + "/instructions/preview?municipality=sipoo&channel=omaolo"
        "&service_area=health&topic=respiratory-infection&requested=porvoo"
    )
    expect(page.locator("article.instruction").first).to_be_visible()
    accessible(page, "instruction preview")
    page.get_by_role("link", name="Palvelut").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Digitaaliset palvelut kunnittain")
    accessible(page, "service matrix")
    page.get_by_role("checkbox", name="Sipoo").check()
    page.get_by_role("checkbox", name="Askola").check()
    page.get_by_role("button", name="Näytä").click()
    expect(page.locator("table.matrix thead th")).to_have_count(3)
    accessible(page, "two municipalities compared")
    page.get_by_role("link", name="Vastausmallit").click()
    accessible(page, "templates")
    page.get_by_role("link", name="Uusi vastausmalli").click()
    page.locator("#t-body-fi").fill("Hei {etunimi}")
    page.locator("form.instruction-form button[type=submit]").click()
    expect(page.get_by_role("alert")).to_contain_text("Vastausmallia ei tallennettu")
    expect(page.locator("#t-body-fi")).to_have_attribute("aria-invalid", "true")
    accessible(page, "template editor with errors")


@pytest.mark.console_allows("status of 422")
def test_the_access_log_is_accessible_to_its_auditor(page: Page, live):
    resident = identified_resident(live[1])
    sign_in(page, "tarkastaja", lands_on=r"/audit$")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lokitiedot")
    accessible(page, "access log search")
    page.get_by_label("Asukkaan henkilötunnus").fill(resident)
    page.get_by_role("button", name="Hae", exact=True).click()
    expect(page.get_by_role("link", name="Lataa asukkaan lokitiedot (CSV)")).to_be_visible()
    accessible(page, "access log of a resident")
    page.get_by_label("Asukkaan henkilötunnus").fill("123")
    page.get_by_role("button", name="Hae", exact=True).click()
    expect(page.get_by_role("alert")).to_be_visible()
    accessible(page, "access log search with an error")
    # The brand link takes an auditor to their own start page, not to a 403.
    page.get_by_role("link", name="Työpöytä", exact=True).click()
    expect(page).to_have_url(re.compile(r"/audit$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Lokitiedot")


def test_the_team_board_and_availability_are_accessible(page: Page, live):
    sign_in(page, "tiimivastaava")
    page.get_by_label("Oma tavoitettavuus").select_option(label="Vapaana")
    page.get_by_role("button", name="Vaihda").click()
    expect(page.locator("[data-flash]")).to_contain_text("Tilasi on nyt: Vapaana.")
    accessible(page, "My work with availability")
    page.get_by_role("link", name="Tiimi", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tiimi")
    accessible(page, "team board")
    page.get_by_role("link", name="Hanna Hoitaja").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hanna Hoitaja")
    accessible(page, "a person's load and settings")
    page.get_by_role("link", name="Tiimi", exact=True).first.click()
    page.get_by_role("link", name="Omaolo-arviot: Porvoo").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Omaolo-arviot: Porvoo")
    accessible(page, "a queue's items to give")
    page.get_by_role("link", name="Oma työ").first.click()
    page.get_by_role("button", name="Lopeta päivä").click()
    expect(page.locator("[data-flash]")).to_contain_text(re.compile("[Pp]oissa"))


def test_the_reports_are_accessible(page: Page, live):
    sign_in(page, "tiimivastaava")
    page.get_by_role("link", name="Raportit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Raportit")
    expect(page.get_by_role("img")).to_have_count(1)
    page.get_by_text("Kaavion luvut taulukkona", exact=True).click()
    accessible(page, "reports with the figures open")


def test_the_training_pages_are_accessible(page: Page, live):
    # A trainer new to the training space (the tour is remembered per account, on the server).
    with Session(live[1]) as s:
        trainer = make_user(s, role="trainer", queues=[], name="Uusi Kouluttaja")
        trainer.username = "kouluttaja-uusi"
        s.commit()
    sign_in(page, "kouluttaja-uusi")
    expect(page.locator(".training-banner")).to_be_visible()
    # The guided tour opens by itself on first use, and is walked by keyboard.
    tour = page.get_by_role("dialog", name="Esittelykierros")
    expect(tour).to_be_visible()
    accessible(page, "the guided tour")
    tour.get_by_role("button", name="Seuraava").click()
    expect(tour.get_by_role("heading", level=3)).to_have_text("2 / 6: Asia")
    expect(tour.get_by_role("heading", level=3)).to_be_focused()
    with page.expect_response(lambda answer: answer.url.endswith("/me/tour-seen")):
        tour.get_by_role("button", name="Sulje").click()
    expect(tour).to_be_hidden()
    page.reload()
    expect(page.get_by_role("dialog", name="Esittelykierros")).to_be_hidden()  # once only
    page.get_by_role("link", name="Koulutus").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Koulutus")
    accessible(page, "the trainer's page in the training space")


def test_a_trainee_practises_a_case_and_gets_feedback(page: Page, chromium, live):
    sign_in(page, "harjoittelija")  # mirrored into the training space
    tour_closed(page)
    trainer_context = chromium.new_context(locale="fi-FI")
    trainer = trainer_context.new_page()
    trainer.base_url = page.base_url
    try:
        trainer.evaluate("1")
        sign_in(trainer, "kouluttaja")
        tour_closed(trainer)
        trainer.goto(page.base_url + "/training")
        trainer.get_by_label("Heikki Harjoittelija").check()
        trainer.get_by_role("button", name="Aloita", exact=True).click()
        expect(trainer.locator("[data-flash]")).to_contain_text("Harjoitus alkoi")
        run_url = trainer.url
    finally:
        trainer_context.close()
    page.goto(page.base_url + "/work")
    first = page.locator("a[id^=item-link-]").first
    first.click()
    expect(page.locator(".training-banner")).to_be_visible()
    page.get_by_label("Lopputulos").select_option(index=1)
    page.get_by_role("button", name="Ratkaise").click()
    expect(page.locator("#item .alert-success")).to_have_text("Asia on ratkaistu.")
    page.reload()
    feedback = page.get_by_role("region", name="Palaute")
    expect(feedback).to_be_visible()
    accessible(page, "a practice case with its feedback")
    assert run_url


def test_the_scenario_form_is_accessible(page: Page, live):
    sign_in(page, "kouluttaja")
    tour_closed(page)
    page.goto(page.base_url + "/training")
    page.get_by_role("link", name="Kirjoita tapaus").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Uusi harjoitustapaus")
    accessible(page, "the scenario form")
    page.get_by_role("navigation", name="Murupolku").get_by_role("link").last.click()
    expect(page.get_by_role("table")).to_be_visible()
    accessible(page, "a pack's scenarios")
    page.get_by_role("table").get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Muokkaa tapausta")
    accessible(page, "editing a scenario")


def test_a_lead_who_also_trains_moves_to_the_training_space_and_back(page: Page, live):
    with Session(live[1]) as s:
        lead = s.scalar(select(User).where(User.username == "tiimivastaava"))
        lead.training_role = "trainer"
        s.commit()
    try:
        sign_in(page, "tiimivastaava")
        expect(page.locator(".training-banner")).to_have_count(0)
        page.get_by_role("button", name="Harjoitusympäristö").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Koulutus")
        expect(page.locator(".training-banner")).to_be_visible()
        page.get_by_role("dialog", name="Esittelykierros").get_by_role(
            "button", name="Sulje"
        ).click()
        # a trainer here
        expect(page.get_by_role("link", name="Tiimi", exact=True)).to_have_count(0)
        accessible(page, "the training space entered from the real desk")
        page.get_by_role("button", name="Takaisin oikealle työpöydälle").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Oma työ")
        expect(page.locator(".training-banner")).to_have_count(0)
        expect(page.get_by_role("link", name="Tiimi", exact=True)).to_be_visible()
    finally:
        with Session(live[1]) as s:
            s.scalar(select(User).where(User.username == "tiimivastaava")).training_role = None
            s.commit()


@pytest.mark.console_allows("422 (UNPROCESSABLE ENTITY)")  # the refused form, as intended
def test_the_service_editor_is_accessible_and_says_what_is_wrong(page: Page, live):
    sign_in(page, "tiimivastaava")
    page.goto(page.base_url + "/services")
    page.get_by_role("link", name="Lisää palvelu").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lisää palvelu")
    accessible(page, "adding a service")
    page.get_by_label("Osoite (https://…)").fill("javascript:alert(1)")
    page.get_by_role("button", name="Tallenna").click()
    expect(page.get_by_role("alert")).to_contain_text("Palvelua ei tallennettu")
    expect(page.get_by_label("Osoite (https://…)")).to_have_attribute("aria-invalid", "true")
    accessible(page, "a service with mistakes")
