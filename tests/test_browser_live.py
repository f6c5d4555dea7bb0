"""In a real browser against the desk with Redis, as in production: the pages of those who may
follow the live stream hold one SSE connection; an auditor's pages hold none, so they show no
refused request and no console error."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from redis import Redis
from sqlalchemy import make_url

from tests.conftest import BROWSER_DB_URL, REDIS_URL
from tests.live import identified_resident, serve
from tests.test_browser import sign_in


@pytest.fixture(scope="module")
def live_with_redis(tmp_path_factory):
    """The desk served with Redis (so with live updates) on a database of its own."""
    url = make_url(BROWSER_DB_URL)
    database = url.set(database=f"{url.database}_live").render_as_string(hide_password=False)
    Redis.from_url(REDIS_URL).flushdb()
    with serve(database, tmp_path_factory, REDIS_URL=REDIS_URL) as served:
        yield served
    Redis.from_url(REDIS_URL).flushdb()


def _streams(requests: list[str]) -> list[str]:
    return [url for url in requests if url.split("?")[0].endswith("/events")]


def test_an_auditors_pages_open_no_live_stream(page: Page, live_with_redis):
    page.base_url, engine = live_with_redis
    resident = identified_resident(engine)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    # A professional's page follows the live stream: this desk has one to offer.
    sign_in(page, "hoitaja")
    expect(page.locator("body")).to_have_attribute("sse-connect", "/events")
    for _ in range(50):
        if _streams(requests):
            break
        page.wait_for_timeout(100)
    assert _streams(requests), "the professional's page opened no stream"
    page.get_by_role("button", name="Kirjaudu ulos").click()
    expect(page).to_have_url(re.compile(r"/login"))

    requests.clear()
    sign_in(page, "tarkastaja", lands_on=r"/audit$")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lokitiedot")
    page.get_by_label("Asukkaan henkilötunnus").fill(resident)
    page.get_by_role("button", name="Hae", exact=True).click()
    expect(page.get_by_role("link", name="Lataa asukkaan lokitiedot (CSV)")).to_be_visible()
    page.get_by_label("Ammattilaisen käyttäjätunnus").fill("hoitaja")
    page.get_by_role("button", name="Hae", exact=True).click()
    expect(page.get_by_label("Ammattilaisen käyttäjätunnus")).to_have_value("hoitaja")
    page.wait_for_timeout(1000)  # time enough for a stream to be opened, and refused
    assert page.locator("body").get_attribute("sse-connect") is None
    assert page.locator("#emergency-watch").count() == 0
    assert _streams(requests) == [], "an auditor's page opened the live stream"
