"""A team lead's Monday morning and an auditor's question in a real browser: the reports read
at a glance (the 2025 targets met or not, a chart with axes, dates and a legend, axe clean) in
Finnish and Swedish; giving items to someone who is away asks first, with script and without;
the access log names queues and leads from an item's number to that item's log."""

from __future__ import annotations

import re
import tempfile
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.models import User, WorkItem, utcnow
from tests.test_browser import accessible, new_item, sign_in, tour_closed

#: screenshots of what the stories saw, to look at (not compared)
SHOTS = Path(tempfile.gettempdir()) / "shots_leads"
SHOTS.mkdir(exist_ok=True)


def _status(live, username: str, status: str) -> str:
    """Set someone's availability as they would have; returns what it was."""
    with Session(live[1]) as s:
        user = s.scalar(select(User).where(User.username == username))
        before, user.status = user.status, status
        s.commit()
        return before


def _holders(live, ids: list[int]) -> set:
    with Session(live[1]) as s:
        return {s.get(WorkItem, i).assignee_id for i in ids}


def _sara(live) -> int:
    with Session(live[1]) as s:
        return s.scalar(select(User.id).where(User.username == "sjukskotare"))


def _three_waiting(live, word: str) -> list[int]:
    now = utcnow()
    return [
        new_item(
            live,
            f"{word} {n}: takaisinsoittopyyntö",
            queue="omaolo-porvoo",
            channel="omaolo",
            municipality="porvoo",
            submitted_at=now - timedelta(hours=2, minutes=n),
        )
        for n in range(3)
    ]


def _reflows(page: Page, state: str) -> None:
    """At 320 CSS px (1280 px at 400 %) the page scrolls only up and down (WCAG 1.4.10); the
    chart and wide tables scroll within their own boxes."""
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 800})
    try:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{state}: {width} px wide at 320 px"
        page.screenshot(path=f"{SHOTS}/{state.replace(' ', '-')}-320.png", full_page=True)
        chart = page.locator("svg.chart").first
        if chart.count():
            chart.scroll_into_view_if_needed()
            assert chart.bounding_box()["width"] >= 470, "the chart keeps a readable size"
            chart.screenshot(path=f"{SHOTS}/{state.replace(' ', '-')}-chart-320.png")
    finally:
        page.set_viewport_size(size)


def test_a_lead_is_warned_before_giving_items_to_someone_on_a_break(page: Page, live):
    ids = _three_waiting(live, "Tauko")
    before = _status(live, "sjukskotare", "break")
    try:
        sign_in(page, "tiimivastaava")
        tour_closed(page)
        page.goto(page.base_url + "/team/queues/omaolo-porvoo")
        expect(page.get_by_role("heading", level=1)).to_have_text("Omaolo-arviot: Porvoo")
        # The list says where each item is from and how long it has waited, and links it.
        row = page.locator("tr", has=page.locator(f"#pick-{ids[0]}"))
        expect(row).to_contain_text("Porvoo")
        expect(row).to_contain_text(re.compile(r"2 h \d+ min"))
        expect(row.get_by_role("link", name="Tauko 0: takaisinsoittopyyntö")).to_have_attribute(
            "href", f"/items/{ids[0]}"
        )
        accessible(page, "a queue's items to move")
        page.screenshot(path=f"{SHOTS}/queue-fi.png", full_page=True)
        _reflows(page, "a queue's items to move")
        for item_id in ids:
            page.get_by_role("checkbox", name=re.compile(f"^Tauko {ids.index(item_id)}:")).check()
        page.get_by_label("Siirrä kenelle").select_option(label="Sara Sjöberg (Tauolla)")
        page.get_by_role("button", name="Siirrä", exact=True).click()

        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text("Siirretäänkö 3 asiaa henkilölle Sara Sjöberg?")
        expect(heading).to_be_focused()
        expect(page.locator("#reassign-cautions")).to_contain_text(
            "Sara Sjöberg on tauolla: asiat jäisivät odottamaan häntä"
        )
        expect(page).to_have_url(re.compile(r"/team/queues/omaolo-porvoo$"))
        assert _holders(live, ids) == {None}, "nothing moved before the lead confirms"
        accessible(page, "the warning before moving items")
        page.screenshot(path=f"{SHOTS}/reassign-warning-fi.png", full_page=True)

        page.get_by_role("button", name="Siirrä silti").click()
        expect(page.locator("[data-flash]")).to_contain_text("3")
        expect(page).to_have_url(re.compile(r"/team/queues/omaolo-porvoo$"))
        assert _holders(live, ids) == {_sara(live)}
        row = page.locator("tr", has=page.locator(f"#pick-{ids[0]}"))
        expect(row).to_contain_text("Sara Sjöberg")
    finally:
        _status(live, "sjukskotare", before)


def test_without_script_the_warning_is_a_page_and_cancelling_moves_nothing(chromium, live):
    ids = _three_waiting(live, "Ilman skriptiä")
    before = _status(live, "sjukskotare", "offline")
    context = chromium.new_context(java_script_enabled=False, locale="fi-FI")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.base_url = live[0]
    try:
        sign_in(page, "tiimivastaava")
        page.goto(page.base_url + "/team/queues/omaolo-porvoo")
        page.get_by_role("checkbox", name=re.compile("^Ilman skriptiä 1:")).check()
        page.get_by_label("Siirrä kenelle").select_option(label="Sara Sjöberg (Poissa)")
        page.get_by_role("button", name="Siirrä", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Siirretäänkö 1 asia henkilölle Sara Sjöberg?"
        )
        expect(page.locator("#reassign-cautions")).to_contain_text("Sara Sjöberg on poissa")
        page.get_by_role("link", name="Peruuta").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Omaolo-arviot: Porvoo")
        assert _holders(live, ids) == {None}
    finally:
        context.close()
        _status(live, "sjukskotare", before)


def test_the_reports_read_at_a_glance_in_finnish_and_swedish(page: Page, live):
    sign_in(page, "tiimivastaava")
    tour_closed(page)
    page.get_by_role("link", name="Raportit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Raportit")
    targets = page.get_by_role("table", name="Alueen vuoden 2025 tavoitteet jaksolla")
    expect(targets).to_contain_text("Ensilinjan yhteydenottojen digitaalinen osuus")
    expect(targets).to_contain_text("yli 50 %")
    expect(targets).to_contain_text("Ei mitattu: tuo jakson TeleQ-takaisinsoittotilastot")
    chart = page.get_by_role("img", name=re.compile("^Saapuneet ja ratkaistut asiat päivittäin"))
    expect(chart).to_be_visible()
    expect(chart).to_have_accessible_description(re.compile("Kaavion alla olevassa taulukossa"))
    expect(page.get_by_role("list", name="Selite")).to_contain_text("Saapuneet (täytetyt pylväät)")
    expect(chart.locator("text.axis-title")).to_have_text(["Päivä", "Asioita"])
    first_day = page.locator("#r-from").input_value()  # yyyy-mm-dd
    year, month, day = (int(part) for part in first_day.split("-"))
    expect(chart.locator("text.x-label").first).to_have_text(f"{day}.{month}.")
    accessible(page, "reports")
    page.screenshot(path=f"{SHOTS}/reports-fi.png", full_page=True)
    _reflows(page, "reports")

    # A TeleQ file with the municipality as people write it is taken.
    page.locator("#phone-file").set_input_files(
        files=[
            {
                "name": "teleq.csv",
                "mimeType": "text/csv",
                "buffer": f"Päivä;Kunta;Puhelut\n{first_day};Porvoo;1\n".encode(),
            }
        ]
    )
    page.get_by_role("button", name="Tuo").click()
    expect(page.locator("[data-flash]")).to_contain_text("1")
    expect(targets).to_contain_text(re.compile("Täyttyy|Ei täyty"))

    page.get_by_role("button", name="Svenska").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rapporter")
    expect(page.get_by_role("table", name="Områdets mål för 2025 under perioden")).to_contain_text(
        re.compile("Uppfyllt|Inte uppfyllt")
    )
    chart = page.get_by_role("img", name=re.compile("^Inkomna och avslutade ärenden per dag"))
    expect(chart.locator("text.axis-title")).to_have_text(["Dag", "Ärenden"])
    expect(page.get_by_role("list", name="Teckenförklaring")).to_contain_text(
        "Avslutade (staplar med kontur)"
    )
    accessible(page, "reports in Swedish")
    page.screenshot(path=f"{SHOTS}/reports-sv.png", full_page=True)
    page.get_by_role("button", name="Suomi").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Raportit")


def test_an_auditor_reads_names_and_follows_an_item_number_to_its_log(page: Page, live):
    from desk.models import AccessPurpose
    from desk.work.access import record_access

    item_id = new_item(
        live, "Lokin asia", queue="omaolo-porvoo", channel="omaolo", municipality="porvoo"
    )
    with Session(live[1]) as s:
        nurse = s.scalar(select(User).where(User.username == "sjukskotare"))
        record_access(s, nurse, AccessPurpose.VIEW, item=s.get(WorkItem, item_id))
        s.commit()
    sign_in(page, "tarkastaja", lands_on=r"/audit$")
    page.get_by_label("Ammattilaisen käyttäjätunnus").fill("sjukskotare")
    page.get_by_role("button", name="Hae", exact=True).click()
    row = page.locator("tr", has=page.get_by_role("link", name=re.compile(f"^{item_id}\\b")))
    expect(row.first).to_contain_text("Omaolo-arviot: Porvoo · Porvoo")
    expect(page.get_by_text("Ajat ovat Suomen aikaa")).to_be_visible()
    accessible(page, "the access log by professional")
    row.first.get_by_role("link", name=re.compile(f"^{item_id}\\b")).click()
    expect(page).to_have_url(re.compile(rf"/audit\?item={item_id}$"))
    expect(page.get_by_label("Asian numero")).to_have_value(str(item_id))
    expect(page.locator("tbody tr").first).to_contain_text("Sara Sjöberg")
    accessible(page, "the access log of an item")
    page.get_by_role("button", name="Svenska").click()
    expect(page.locator("tbody tr").first).to_contain_text("Omaolo-bedömningar: Borgå · Borgå")
    expect(page.get_by_text("Tiderna är finsk tid")).to_be_visible()
    page.get_by_role("button", name="Suomi").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lokitiedot")
