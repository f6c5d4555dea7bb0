"""A team lead prepares the steering group's month in a real browser: the region's three
targets, a missing source said in words, the care figures imported, the targets table
downloaded, the residents' low-score comments read (and logged) and followed to their item,
the printable page; keyboard and axe-core on the way."""

from __future__ import annotations

import csv
import re
from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.inbound.deadlines import HELSINKI
from desk.models import AccessLog, ItemFeedback, User, WorkItem, utcnow
from tests.test_browser import accessible, new_item, sign_in, tour_closed
from tests.test_browser_leads import SHOTS, _reflows

COMMENT = "Chat katkesi kesken ja jouduin aloittamaan alusta."


def _answered_chat(live) -> int:
    """A chat of the lead's queue, resolved an hour ago, whose resident answered 2 of 10."""
    item_id = new_item(
        live,
        "Tavoitteet: katkennut chat",
        queue="chat-regional",
        channel="chat",
        submitted_at=utcnow() - timedelta(hours=2),
    )
    with Session(live[1]) as s:
        item = s.get(WorkItem, item_id)
        item.status, item.resolved_at = "resolved", utcnow() - timedelta(hours=1)
        s.add(
            ItemFeedback(
                item_id=item.id,
                feedback_id="fb-browser-1",
                at=utcnow() - timedelta(minutes=30),
                score=2,
                satisfied=False,
                comment=COMMENT,
                channel=item.channel,
                municipality_code=item.municipality_code,
                queue_code=item.queue_code,
            )
        )
        s.commit()
    return item_id


def test_a_lead_reads_imports_downloads_and_prints_the_regions_targets(page: Page, live):
    item_id = _answered_chat(live)
    month = utcnow().astimezone(HELSINKI).strftime("%Y-%m")
    sign_in(page, "tiimivastaava")
    tour_closed(page)
    page.get_by_role("link", name="Raportit").click()
    page.get_by_role("link", name="Alueen vuoden 2025 tavoitteet kuukausittain").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alueen vuoden 2025 tavoitteet")
    verdicts = page.get_by_role("table", name="Alueen vuoden 2025 tavoitteet jaksolla")
    first_line = verdicts.get_by_role("row", name=re.compile("^Ensilinjan"))
    # No phone statistics were imported: said in words, never 0 %.
    expect(first_line).to_contain_text("Ei mitattu")
    expect(page.locator("#digital_first_line-missing")).to_contain_text("Puhelintilastot puuttuvat")
    chart = page.get_by_role(
        "img", name=re.compile("^Ensilinjan yhteydenottojen digitaalinen osuus .*kuukausittain")
    )
    expect(chart).to_have_accessible_description(re.compile("Kaavion alla olevassa taulukossa"))
    expect(chart.locator("text.axis-title")).to_have_text(["Kuukausi", "Osuus"])
    expect(page.get_by_role("list", name="Selite").first).to_contain_text("Tavoite (katkoviiva)")

    # This month's care figures, as the municipalities sent them: 40 of 100 remote.
    lines = ["kuukausi;kunta;asiointitapa;määrä"] + [
        f"{month};{name};{mode};{n}"
        for name in ("Porvoo", "Loviisa", "Lapinjärvi", "Sipoo", "Askola", "Myrskylä", "Pukkila")
        for mode, n in (("lähikäynti", 60), ("etävastaanotto", 40))
    ]
    care = page.locator("form:has(#care-file)")
    care.locator("#care-file").set_input_files(
        files=[{"name": "hoito.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()}]
    )
    care.get_by_role("button", name="Tuo").click()
    expect(page.locator("[data-flash]")).to_contain_text("7")
    other = verdicts.get_by_role("row", name=re.compile("^Muiden yhteydenottojen"))
    expect(other).to_contain_text("40 %")
    expect(other).to_contain_text("Täyttyy")
    accessible(page, "the targets")
    page.screenshot(path=f"{SHOTS}/targets-fi.png", full_page=True)
    _reflows(page, "targets")

    # The targets table, downloaded as the steering group's spreadsheet gets it.
    with page.expect_download() as download:
        page.get_by_role("link", name="Tavoitetaulukko (CSV)").click()
    path = download.value.path()
    with open(path, encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    region = next(
        r
        for r in rows
        if (r["target"], r["month"], r["municipality"]) == ("digital_other", month, "region")
    )
    assert (region["digital"], region["total"], region["result"]) == ("280", "700", "met")

    # The low scores' comments, by keyboard, and on to the item they are about.
    page.get_by_role("link", name="Vain ne, joiden arvosana on matala (6 tai alle)").focus()
    page.keyboard.press("Enter")
    comments = page.get_by_role("table", name=re.compile("matala arvosana"))
    expect(comments).to_contain_text(COMMENT)
    accessible(page, "the residents' comments")
    with Session(live[1]) as s:
        lead = s.scalar(select(User.id).where(User.username == "tiimivastaava"))
        looked = s.scalars(
            select(AccessLog.purpose).where(AccessLog.item_id == item_id, AccessLog.user_id == lead)
        ).all()
    assert looked == ["feedback"], "reading the comment is a look at the resident's data"
    comments.get_by_role("link", name="Tavoitteet: katkennut chat").click()
    answer = page.get_by_role("region", name="Asukkaan tyytyväisyysvastaus")
    expect(answer).to_contain_text("2 / 10")
    expect(answer).to_contain_text(COMMENT)

    # The printable page: the figures without the forms, and a button that prints.
    page.go_back()
    page.get_by_role("link", name="Takaisin alueen tavoitteisiin").click()
    page.get_by_role("link", name="Tulostettava sivu").click()
    expect(page.get_by_role("button", name="Tulosta")).to_be_visible()
    expect(page.locator("main form")).to_have_count(0)
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Tulosta")).to_be_hidden()
    page.screenshot(path=f"{SHOTS}/targets-print.png", full_page=True)
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Takaisin tavoitteisiin").click()
    page.get_by_role("button", name="Svenska").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Områdets mål för 2025")
    accessible(page, "the targets in Swedish")
    page.get_by_role("button", name="Suomi").click()
