"""Words and dates in the browser (issue 15): a Swedish-speaking nurse and a Finnish one on the
same Finnish Omaolo emergency. Each reads the instructions in their own language first, the
emergency's first of all; dates are written as in Finland (4.12.2026); the reply templates
speak to the resident in Finnish and say so when a promised date has already passed. axe-core
finds nothing and the page fails on any console error or CSP violation."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk import formats
from desk.models import Instruction, utcnow
from tests.factories import make_item
from tests.test_browser import accessible, settled, sign_in

FINNISH_MOMENT = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}\.\d{2}$")


def _emergency(live) -> int:
    """A Finnish-speaking Myrskylä resident's Omaolo chest pain, urgency P0, already overdue."""
    with Session(live[1]) as s:
        item = make_item(
            s,
            title="Omaolo: rintakipu (P0)",
            channel="omaolo",
            queue="omaolo-porvoo",
            municipality="myrskyla",
            emergency=True,
            submitted_at=utcnow() - timedelta(minutes=40),
            due_in=timedelta(minutes=-25),
            content={
                "assessment": {
                    "kind": "symptom",
                    "code": "chest-pain",
                    "title": "Rintakipu",
                    "urgency": "P0",
                    "recommendation": "Soita 112.",
                }
            },
        )
        item.language = "fi"
        item.resident_name = "Aino Virtanen"
        s.commit()
        return item.id


def _titles(live, code: str) -> tuple[str, str]:
    with Session(live[1]) as s:
        current = s.scalar(select(Instruction).where(Instruction.code == code)).current
        return current.title_fi, current.title_sv


def _no_tour(page: Page) -> None:
    """A first-day tour, should one open, is closed with Esc (the seeded accounts have seen it)."""
    tour = page.locator("dialog[data-tour][open]")
    if tour.count():
        page.keyboard.press("Escape")
        expect(tour).to_have_count(0)


def _open_and_take(page: Page, item_id: int, take: str) -> None:
    page.goto(f"{page.base_url}/items/{item_id}")
    _no_tour(page)
    page.get_by_role("button", name=take, exact=True).first.click()
    settled(page)


def _first_instruction(page: Page):
    return page.locator("section.instructions article.instruction").first


def test_a_swedish_speaking_nurse_reads_swedish_first_and_finland_swedish_dates(page: Page, live):
    item_id = _emergency(live)
    p0_fi, p0_sv = _titles(live, "omaolo-p0-emergency")
    sign_in(page, "sjukskotare")
    _open_and_take(page, item_id, "Ta")

    # The emergency's instruction first, in Swedish; Finnish one click away.
    first = _first_instruction(page)
    expect(first.locator("h3")).to_have_text(p0_sv)
    expect(first.locator("h3")).to_have_attribute("lang", "sv")
    toggle = first.locator("details.other-language summary")
    expect(toggle).to_have_text("På finska")
    toggle.click()
    expect(first.locator("details.other-language .instruction-title")).to_have_text(p0_fi)
    # Myrskylä's own (transition) text comes after it, and topics are named, not coded.
    headings = page.locator("section.instructions article.instruction h3").all_inner_texts()
    assert headings[0] == p0_sv and any(h.startswith("Mörskom:") for h in headings[1:])
    scope = first.locator(".instruction-scope")
    expect(scope).to_contain_text("ämne brådskandeklass P0 (nödsituation)")
    expect(scope).not_to_contain_text("ämne P0")

    # Dates as Finland-Swedish writes them, in the details and in the timeline.
    received = page.locator("dt", has_text="Mottaget").locator("xpath=following-sibling::dd[1]")
    assert FINNISH_MOMENT.match(received.locator("time").inner_text().strip())
    for moment in page.locator(".timeline time").all_inner_texts()[:3]:
        assert FINNISH_MOMENT.match(moment.strip()), moment
    accessible(page, "the item in Swedish, instructions open")

    # The callback template speaks Finnish to the resident and says the date has passed.
    page.locator("#note-form").get_by_role("button", name="Infoga en svarsmall…").click()
    dialog = page.locator("#template-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Sök svarsmallar").fill("lupaus takaisinsoitosta")
    expect(dialog.locator("#template-count")).to_have_text("1 svarsmall visas")
    callback = dialog.locator("[data-template-choice]", has_text="Omaolo: lupaus takaisinsoitosta")
    expect(callback.locator("h3")).to_have_attribute("lang", "fi")
    promise = callback.locator("[data-template-text]").inner_text()
    finnish_deadline = r"\d{1,2}\.\d{1,2}\.\d{4} klo \d{1,2}\.\d{2}"
    assert re.search(rf"soittaa sinulle viimeistään {finnish_deadline}\.", promise), promise
    warning = callback.locator(".template-past")
    expect(warning).to_contain_text("har redan passerat")
    accessible(page, "the template dialog in Swedish, a date already past")
    callback.get_by_role("button", name="Infoga").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#note-text")).to_have_value(re.compile("viimeistään"))
    expect(page.locator("#live")).to_contain_text("har redan passerat")


def test_a_finnish_nurse_reads_finnish_first_on_the_same_kind_of_item(page: Page, live):
    item_id = _emergency(live)
    p0_fi, p0_sv = _titles(live, "omaolo-p0-emergency")
    sign_in(page, "hoitaja")
    _open_and_take(page, item_id, "Ota")
    first = _first_instruction(page)
    expect(first.locator("h3")).to_have_text(p0_fi)
    toggle = first.locator("details.other-language summary")
    expect(toggle).to_have_text("Ruotsiksi")
    scope = first.locator(".instruction-scope")
    expect(scope).to_contain_text("aihe kiireellisyysluokka P0 (hätätilanne)")
    received = page.locator("dt", has_text="Vastaanotettu").locator(
        "xpath=following-sibling::dd[1]"
    )
    assert FINNISH_MOMENT.match(received.locator("time").inner_text().strip())
    page.locator("#note-form").get_by_role("button", name="Lisää vastausmalli…").click()
    callback = page.locator("#template-dialog [data-template-choice]", has_text="Omaolo: lupaus")
    expect(callback.locator(".template-past")).to_contain_text("on jo mennyt")
    accessible(page, "the template dialog in Finnish, a date already past")


def test_the_service_matrix_in_swedish_names_services_and_sorts_places_in_swedish(page: Page, live):
    sign_in(page, "sjukskotare")
    page.goto(page.base_url + "/services")
    _no_tour(page)
    table = page.locator("table.matrix")
    expect(table).to_contain_text("eHälsa – tidsbokning")
    expect(table).to_contain_text("PHHYKY:s e-tjänster")
    expect(table).not_to_contain_text("eTerveys – ajanvaraus")
    heads = table.locator("thead th").all_inner_texts()[1:]
    assert heads == sorted(heads, key=lambda name: formats.sort_key(name, "sv")), heads
    assert heads.index("Mörskom") < heads.index("Pukkila") < heads.index("Sibbo")
    accessible(page, "the service matrix in Swedish")
