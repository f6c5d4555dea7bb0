"""In a real browser against the desk with Redis, as in production: the pages of those who may
follow the live stream hold one SSE connection; an auditor's pages hold none, so they show no
refused request and no console error."""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from redis import Redis
from sqlalchemy import make_url
from sqlalchemy.orm import Session

from desk.inbound import tokens
from tests.conftest import BROWSER_DB_URL, REDIS_URL
from tests.factories import make_item, p0_delivery
from tests.live import identified_resident, serve
from tests.test_browser import accessible, sign_in


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
    # My work's stream names its lists, which the desk then pushes as they change.
    expect(page.locator("#live-stream")).to_have_attribute("sse-connect", "/events?view=work")
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
    assert page.locator("[sse-connect]").count() == 0
    assert page.locator("#emergency-watch").count() == 0
    assert _streams(requests) == [], "an auditor's page opened the live stream"


# --- Issue 15: the lists are live --------------------------------------------------------------


def _token(engine, channel: str = "omaolo") -> str:
    with Session(engine) as s:
        _, secret = tokens.create(s, f"Stories {uuid.uuid4()}", [channel])
        s.commit()
        return secret


def _deliver_p0(base_url: str, token: str, title: str) -> float:
    """An Omaolo P0 for Porvoo through the real inbound API, as the source system sends it;
    returns the moment the desk answered 202."""
    payload = p0_delivery(f"story-{uuid.uuid4()}")
    payload["municipality"] = "porvoo"
    payload["assessment"]["title"] = title
    request = urllib.request.Request(  # noqa: S310 (the served desk, http)
        f"{base_url}/api/v1/inbound/omaolo",
        data=json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert answer.status == 202
    return time.monotonic()


def _focus_a_waiting_row(page: Page) -> tuple[str, float]:
    """Keyboard focus on the first waiting item's link, scrolled to the middle of the screen;
    its id and where it is on the screen."""
    link = page.locator("#work-lists section:has(#available-heading) a[id^=item-link-]").first
    link.focus()
    link.evaluate("e => e.scrollIntoView({block: 'center'})")
    return link.get_attribute("id"), link.bounding_box()["y"]


def _still_in_place(page: Page, focused: str, top: float) -> None:
    assert page.evaluate("document.activeElement.id") == focused, "focus moved"
    moved = page.locator(f"#{focused}").bounding_box()["y"] - top
    assert abs(moved) < 3, f"the reader's place moved by {moved} px"


def test_a_p0_arriving_while_a_nurse_is_on_my_work_is_alerted_and_listed_at_once(
    page: Page, live_with_redis
):
    page.base_url, engine = live_with_redis
    token = _token(engine)
    sign_in(page, "hoitaja")
    expect(page.locator("#emergency-check")).to_have_count(1)
    expect(page.locator("#emergency-alert")).to_be_hidden()  # nothing new yet
    page.wait_for_timeout(500)  # the stream is open (the first story proves it opens)
    focused, top = _focus_a_waiting_row(page)
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/work" in r.url else None)

    answered = _deliver_p0(page.base_url, token, "Puristava rintakipu (tarina)")
    alert = page.locator("#emergency-alert")
    expect(alert).to_be_visible(timeout=2_000)
    assert time.monotonic() - answered < 2.0
    expect(alert).to_have_attribute("role", "alert")
    # Above everything, without a reload; focus and the reader's place stay where they were.
    # Among the emergencies (in the contract's order: an earlier deadline may come first).
    listed = page.locator("#emergencies-heading ~ table a[id^=item-link-]")
    expect(listed.filter(has_text="Puristava rintakipu (tarina)")).to_have_count(1, timeout=3_000)
    emergencies_top = page.locator("#emergencies-heading").bounding_box()["y"]
    assert emergencies_top < page.locator("#held-heading").bounding_box()["y"]
    _still_in_place(page, focused, top)
    expect(page.locator("#live")).to_contain_text("Jonoissasi odottaa")
    accessible(page, "My work with a new emergency and its alert")
    # The lists came with the stream: the page fetched nothing but the emergency check.
    assert [url for url in fetched if "/work/emergencies" not in url] == []
    # The next push names the rows the page has and carries only what is new: the page puts
    # its own rows back, with their take buttons, and still fetches nothing.
    rows = page.locator("#work-lists tr[data-row]")
    before = rows.count()
    _deliver_p0(page.base_url, token, "Hengenahdistus (tarina)")
    expect(listed.filter(has_text="Hengenahdistus (tarina)")).to_have_count(1, timeout=3_000)
    expect(rows).to_have_count(before + 1)
    expect(listed.filter(has_text="Puristava rintakipu (tarina)")).to_have_count(1)
    assert page.locator("#work-lists tr[data-row] button").count() == before + 1
    _still_in_place(page, focused, top)
    assert [url for url in fetched if "/work/emergencies" not in url] == []

    # She takes one in another tab: this page's "items I hold" fetches itself, and only that
    # (the lists of what waits come pushed); the reader's place stays.
    other = page.context.new_page()
    other.goto(f"{page.base_url}/work")
    row = other.locator("#work-waiting tr[data-row]").last
    # By its link's id: two items may have the same title (the demo's do, now and then).
    link = row.locator("a[id^=item-link-]").get_attribute("id")
    row.get_by_role("button").click()
    expect(other).to_have_url(re.compile(r"/items/\d+$"))  # taken: its page opens
    other.close()
    expect(page.locator(f"#work-held #{link}")).to_have_count(1, timeout=3_000)
    expect(page.locator(f"#work-waiting #{link}")).to_have_count(0, timeout=3_000)
    _still_in_place(page, focused, top)
    assert [url for url in fetched if "/work/emergencies" not in url] == [
        f"{page.base_url}/work/held"
    ]

    # On another page, the next one is alerted too.
    page.get_by_role("link", name="Tilannekuva").click()
    expect(page.locator("#emergency-alert")).to_be_hidden()
    expect(page.locator("#live-stream")).to_have_attribute("sse-connect", "/events")
    _deliver_p0(page.base_url, token, "Toinen rintakipu (tarina)")
    expect(page.locator("#emergency-alert")).to_be_visible(timeout=2_000)

    # Back on My work (a boosted move: the page's own stream, naming its lists again), the
    # next one is listed as it arrives.
    page.get_by_role("link", name="Oma työ").first.click()
    expect(page.locator("#live-stream")).to_have_attribute("sse-connect", "/events?view=work")
    page.wait_for_timeout(500)
    _deliver_p0(page.base_url, token, "Kolmas rintakipu (tarina)")
    expect(listed.filter(has_text="Kolmas rintakipu (tarina)")).to_have_count(1, timeout=3_000)


def test_the_team_board_follows_the_queues_by_itself(page: Page, live_with_redis):
    page.base_url, engine = live_with_redis
    token = _token(engine)
    sign_in(page, "tiimivastaava")
    page.goto(page.base_url + "/team")
    row = page.locator("#team-live tr:has(#queue-link-omaolo-porvoo)")
    waiting = int(row.locator("td").first.inner_text())
    # A lead choosing a policy is not interrupted: the refresh waits while the field is changed.
    policy = page.locator("#policy-omaolo-porvoo")
    chosen = policy.input_value()
    other = next(v for v in ("manual", "round_robin", "least_loaded") if v != chosen)
    policy.select_option(other)
    _deliver_p0(page.base_url, token, "Rintakipu tiimille")
    page.wait_for_timeout(2_500)
    expect(policy).to_have_value(other)
    assert int(row.locator("td").first.inner_text()) == waiting
    # Back to what it was: the board follows.
    policy.select_option(chosen)
    page.locator("#queue-link-omaolo-porvoo").focus()
    _deliver_p0(page.base_url, token, "Toinen rintakipu tiimille")
    expect(row.locator("td").first).to_have_text(str(waiting + 2), timeout=3_000)
    assert page.evaluate("document.activeElement.id") == "queue-link-omaolo-porvoo"
    expect(page.locator("#live")).to_contain_text("Tiimisi jonoissa odottaa")
    accessible(page, "the team board after a live refresh")


@pytest.fixture(scope="module")
def polling(tmp_path_factory):
    """The embedded default's way: no Redis, so pages poll (every second here)."""
    url = make_url(BROWSER_DB_URL)
    database = url.set(database=f"{url.database}_poll").render_as_string(hide_password=False)
    with serve(database, tmp_path_factory, DESK_POLL_SECONDS=1) as served:
        yield served


def test_without_redis_my_work_polls_and_the_alert_comes_within_one_interval(page: Page, polling):
    page.base_url, engine = polling
    token = _token(engine)
    sign_in(page, "hoitaja")
    expect(page.locator("[sse-connect]")).to_have_count(0)
    expect(page.locator("#work-lists")).to_have_attribute("hx-trigger", "every 1s")
    focused, top = _focus_a_waiting_row(page)
    answered = _deliver_p0(page.base_url, token, "Rintakipu ilman Redistä")
    expect(page.locator("#emergency-alert")).to_be_visible(timeout=3_000)
    assert time.monotonic() - answered < 3.0  # one poll interval, and the answer's way back
    # Among the emergencies (in the contract's order: an earlier deadline may come first).
    listed = page.locator("#emergencies-heading ~ table a[id^=item-link-]")
    expect(listed.filter(has_text="Rintakipu ilman Redistä")).to_have_count(1, timeout=3_000)
    _still_in_place(page, focused, top)
    # A boosted move to another page does not lose what this tab has already been told.
    page.get_by_role("link", name="Tilannekuva").click()
    page.wait_for_timeout(2_500)
    expect(page.locator("#emergency-alert")).to_be_hidden()


def test_show_more_grows_the_waiting_list_and_focus_lands_on_the_first_new_row(page: Page, polling):
    page.base_url, engine = polling
    with Session(engine) as s:
        for n in range(60):
            make_item(s, queue="help-regional", title=f"Lisää {n:02d}", due_in=timedelta(days=9))
        s.commit()
    sign_in(page, "hoitaja")
    more = page.locator(".beyond a.button")
    expect(page.locator(".beyond")).to_contain_text("Muista kiireellisin:")
    first_new = page.locator(".beyond a[lang]").inner_text()
    more.click()
    expect(page).to_have_url(re.compile(r"/work\?shown=100"))
    focused = page.locator(":focus")
    expect(focused).to_have_text(first_new)
    rows = page.locator("#work-lists section:has(#available-heading) [data-item-row]")
    expect(rows.nth(50).locator("a").first).to_have_text(first_new)
    accessible(page, "My work grown by 50")
