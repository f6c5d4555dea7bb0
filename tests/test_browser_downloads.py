"""Every download downloads: the real link is clicked and the file arrives, with the page left
where it was (the body's hx-boost must not swap the file's text into the page)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.live import identified_resident
from tests.test_browser import sign_in, tour_closed


def download(page: Page, link_name: str) -> tuple[str, str]:
    """Click the link named `link_name`; the file's suggested name and its text. The page
    stays where it was."""
    link = page.get_by_role("link", name=link_name)
    expect(link).to_be_visible()
    before = page.url
    with page.expect_download() as arrived:
        link.click()
    file = arrived.value
    assert page.url == before, "the link navigated instead of downloading"
    return file.suggested_filename, Path(file.path()).read_text(encoding="utf-8-sig")


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_a_lead_downloads_the_reports_items(page: Page, live):
    sign_in(page, "tiimivastaava")
    page.get_by_role("link", name="Raportit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Raportit")
    name, text = download(page, "Rivi asiaa kohden (CSV)")
    assert name.endswith(".csv")
    table = rows(text)
    assert table and "queue" in table[0]
    expect(page.get_by_role("heading", level=1)).to_have_text("Raportit")


def test_an_auditor_downloads_a_residents_log_as_csv_and_json(page: Page, live):
    resident = identified_resident(live[1])
    sign_in(page, "tarkastaja", lands_on=r"/audit$")
    page.get_by_label("Asukkaan henkilötunnus").fill(resident)
    page.get_by_role("button", name="Hae", exact=True).click()
    name, text = download(page, "Lataa asukkaan lokitiedot (CSV)")
    assert name == f"access-log-{resident}.csv"
    assert {row["resident_id"] for row in rows(text)} <= {resident}
    name, text = download(page, "Lataa asukkaan lokitiedot (JSON)")
    assert name == f"access-log-{resident}.json"
    assert json.loads(text)["resident"] == resident


def test_a_trainer_downloads_a_pack_and_a_sessions_results(page: Page, chromium, live):
    trainee = chromium.new_context(locale="fi-FI").new_page()
    trainee.base_url = page.base_url
    try:
        sign_in(trainee, "harjoittelija")  # mirrored into the training space
    finally:
        trainee.context.close()
    sign_in(page, "kouluttaja")
    tour_closed(page)
    page.goto(page.base_url + "/training")
    name, text = download(page, "Lataa (JSON)")
    assert name.endswith(".json") and json.loads(text)["scenarios"]
    page.get_by_label("Heikki Harjoittelija").check()
    page.get_by_role("button", name="Aloita", exact=True).click()
    expect(page.locator("[data-flash]")).to_contain_text("Harjoitus alkoi")
    name, text = download(page, "Tulokset (CSV)")
    assert name.endswith(".csv")
    assert rows(text) and "Heikki Harjoittelija" in text
