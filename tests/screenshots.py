"""Regenerate screenshots of the main pages in each language into docs/screenshots/.

Run with `make screenshots`: serves the real desk on PostgreSQL with synthetic data and
photographs it in Debian's Chromium.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.conftest import CHROMIUM
from tests.factories import PASSWORD
from tests.live import sample_items, serve

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/desk_screenshots"
LANGUAGES = {"fi": "Suomi", "sv": "Svenska", "en": "English"}


class _Tmp:
    """The bit of pytest's tmp_path_factory that `serve` uses."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def mktemp(self, name: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=name, dir=self.root))
        return path


def signed_in(browser, base: str, username: str):
    """A new tab signed in as `username` (through the login form)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fi-FI")
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/work")
    return page


def tour_closed(page) -> None:
    """Close the tour that opens on a first visit (remembered on the server once closed)."""
    if page.locator("dialog[data-tour][open]").count():
        with page.expect_response(lambda answer: answer.url.endswith("/me/tour-seen")):
            page.keyboard.press("Escape")


def signed_in_as_auditor(browser, base: str):
    """The auditor starts at the access log; search it for one resident."""
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fi-FI")
    page.goto(base + "/login")
    page.fill("#username", "tarkastaja")
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/audit")
    return page


LAPTOP = {"width": 1366, "height": 768}
NARROW = {"width": 320, "height": 640}  # 1280 px at 400 % zoom (WCAG 2.1 1.4.10)


def laptop_and_narrow(page, base: str, code: str, item_id: int) -> None:
    """The item page as a laptop shows it (the first view, and scrolled to the end with the
    action bar still at hand) and at 320 CSS px, and My work at 320 px; the item is taken
    first, so that the bar shows what its holder can do."""
    page.set_viewport_size(LAPTOP)
    page.goto(f"{base}/items/{item_id}")
    take = page.locator(".action-bar [data-action=take]")
    if take.count():
        take.click()
        expect(page.locator("#item .alert-success")).to_be_visible()
        page.goto(f"{base}/items/{item_id}")
    page.screenshot(path=OUT / f"{code}-item-1366x768.png")
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.screenshot(path=OUT / f"{code}-item-1366x768-scrolled.png")
    page.set_viewport_size(NARROW)
    page.goto(f"{base}/items/{item_id}")
    page.screenshot(path=OUT / f"{code}-item-320.png", full_page=True)
    page.goto(base + "/work")
    height = min(1800, page.evaluate("document.documentElement.scrollHeight"))
    page.screenshot(
        path=OUT / f"{code}-my-work-320.png",
        full_page=True,
        clip={"x": 0, "y": 0, "width": NARROW["width"], "height": height},
    )
    page.set_viewport_size({"width": 1280, "height": 900})


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, serve(DATABASE, _Tmp(tmp)) as (base, engine):
        samples = sample_items(engine)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            login = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fi-FI")
            login.goto(base + "/login")
            login.screenshot(path=OUT / "fi-login.png")
            page = signed_in(browser, base, "hoitaja")
            for code, label in LANGUAGES.items():
                page.get_by_role("button", name=label).click()
                expect(page.locator("html")).to_have_attribute("lang", code)
                page.goto(base + "/work")
                page.screenshot(path=OUT / f"{code}-my-work.png")
                page.goto(base + "/situation")
                page.screenshot(path=OUT / f"{code}-situation.png", full_page=True)
                for channel, item_id in samples.items():
                    page.goto(f"{base}/items/{item_id}")
                    page.screenshot(path=OUT / f"{code}-item-{channel}.png", full_page=True)
                page.click("[data-dialog-open=transfer-dialog]")
                page.screenshot(path=OUT / f"{code}-transfer-dialog.png")
                page.keyboard.press("Escape")
                page.keyboard.press("?")
                page.screenshot(path=OUT / f"{code}-shortcuts.png")
                page.keyboard.press("Escape")
                page.keyboard.press("i")
                page.screenshot(path=OUT / f"{code}-templates-dialog.png")
                page.keyboard.press("Escape")
                page.goto(base + "/instructions")
                page.screenshot(path=OUT / f"{code}-instructions.png", full_page=True)
                page.goto(
                    base + "/instructions/preview?municipality=sipoo&channel=omaolo"
                    "&service_area=health&topic=respiratory-infection&requested=porvoo"
                )
                page.screenshot(path=OUT / f"{code}-instruction-preview.png", full_page=True)
                page.goto(base + "/services?on=2027-01-15&compare=sipoo&compare=porvoo")
                page.screenshot(path=OUT / f"{code}-services-compare.png", full_page=True)
                page.goto(base + "/services")
                page.screenshot(path=OUT / f"{code}-services.png", full_page=True)
                page.goto(base + "/templates")
                page.screenshot(path=OUT / f"{code}-templates.png", full_page=True)
                page.goto(base + "/search?q=kipu")
                page.screenshot(path=OUT / f"{code}-search.png", full_page=True)
                if code in ("fi", "sv"):
                    laptop_and_narrow(page, base, code, samples["eform"])
            page.get_by_role("button", name="Suomi").click()
            # Two people on one item: the second sees the collision warning.
            item_id = samples["omaolo"]
            page.goto(f"{base}/items/{item_id}")
            other = signed_in(browser, base, "sjukskotare")
            other.goto(f"{base}/items/{item_id}")
            other.screenshot(path=OUT / "sv-item-collision-warning.png")
            # A team lead's editor.
            lead = signed_in(browser, base, "tiimivastaava")
            lead.goto(base + "/instructions")
            lead.locator("table.list a").first.click()
            lead.locator("a[href$=edit]").click()
            lead.screenshot(path=OUT / "fi-instruction-edit.png", full_page=True)
            lead.goto(base + "/services/new?municipality=askola")
            lead.screenshot(path=OUT / "fi-service-edit.png", full_page=True)
            lead.goto(base + "/team")
            lead.screenshot(path=OUT / "fi-team-board.png", full_page=True)
            lead.locator("table.list a").first.click()
            lead.screenshot(path=OUT / "fi-team-person.png", full_page=True)
            lead.goto(base + "/reports")
            lead.locator("details summary").first.click()
            lead.screenshot(path=OUT / "fi-reports.png", full_page=True)
            auditor = signed_in_as_auditor(browser, base)
            auditor.screenshot(path=OUT / "fi-access-log.png", full_page=True)
            # The training space: the trainee's first look (the tour), the trainer starting a
            # session, and a practice case with its feedback.
            trainee = signed_in(browser, base, "harjoittelija")
            trainee.screenshot(path=OUT / "fi-training-tour.png")
            tour_closed(trainee)
            trainer = signed_in(browser, base, "kouluttaja")
            tour_closed(trainer)
            trainer.goto(base + "/training")
            trainer.get_by_label("Heikki Harjoittelija").check()
            trainer.get_by_role("button", name="Aloita", exact=True).click()
            trainer.wait_for_url("**/training/runs/*")
            trainer.screenshot(path=OUT / "fi-training-session.png", full_page=True)
            trainee.goto(base + "/work")
            trainee.locator("a[id^=item-link-]").first.click()
            trainee.get_by_label("Lopputulos").select_option(index=1)
            trainee.get_by_role("button", name="Ratkaise").click()
            trainee.wait_for_selector("#item .alert-success")
            trainee.reload()
            trainee.screenshot(path=OUT / "fi-training-feedback.png", full_page=True)
            trainer.reload()
            trainer.screenshot(path=OUT / "fi-training-progress.png", full_page=True)
            trainer.goto(base + "/training")
            trainer.get_by_role("link", name="Kirjoita tapaus").first.click()
            trainer.wait_for_url("**/scenarios/new")
            trainer.screenshot(path=OUT / "fi-training-scenario.png", full_page=True)
            browser.close()
    print(f"Screenshots in {OUT}")


if __name__ == "__main__":
    main()
