"""Script and HTML typed by a resident, in every text field of every channel, delivered
through the real intake and opened in a real browser: shown as typed, never run."""

from __future__ import annotations

import copy
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from desk.models import utcnow
from tests.live import deliver
from tests.test_api import example
from tests.test_browser import sign_in

HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2"><b>lihava</b>"\'&'


def _hostile(channel: str, base: str) -> dict:
    payload = copy.deepcopy(example(base))
    payload["external_id"] = f"xss-{channel}-{uuid.uuid4().hex[:8]}"
    payload["submitted_at"] = utcnow().isoformat()
    resident = payload.get("resident")
    if resident is not None:
        resident["name"] = HOSTILE
        if "email" in resident:
            resident["email"] = "x@example.fi"
    if channel == "chat":
        payload["topic"] = HOSTILE
        payload["bot_summary"] = HOSTILE
        for message in payload["conversation"]:
            message["text"] = HOSTILE
    elif channel == "omaolo":
        payload["municipality"] = "porvoo"
        assessment = payload["assessment"]
        assessment["title"] = HOSTILE
        assessment["recommendation"] = HOSTILE
        assessment["answers"] = [{"question": HOSTILE, "answer": HOSTILE}]
    elif channel == "eform":
        payload["municipality"] = "porvoo"
        form = payload["form"]
        form["title"] = HOSTILE
        form["fields"] = {HOSTILE: HOSTILE, "lista": [HOSTILE, HOSTILE]}
        for attachment in form["attachments"]:
            attachment["name"] = HOSTILE
    else:
        payload["municipality"] = "porvoo"
        payload["request"]["topic"] = HOSTILE
        payload["request"]["message"] = HOSTILE
    return payload


def _deliver(engine, channel: str, payload: dict) -> int:
    with Session(engine) as session:
        item = deliver(session, channel, payload)
        session.commit()
        return item.id


@pytest.mark.parametrize(
    "channel, base",
    [
        ("chat", "chat-anonymous.json"),
        ("omaolo", "omaolo-symptom.json"),
        ("eform", "eform-income-support.json"),
        ("help-request", "help-request.json"),
    ],
)
def test_resident_text_is_inert_in_the_browser(page: Page, live, channel, base):
    item_id = _deliver(live[1], channel, _hostile(channel, base))
    sign_in(page)
    page.goto(f"{page.base_url}/items/{item_id}")
    item = page.locator("#item")
    expect(item).to_contain_text("<script>window.pwned=1</script>")
    assert item.locator("script, img, [onerror]").count() == 0
    assert item.locator(".transcript b, .answers b, dd b, .text b").count() == 0
    # Every copy of the text is text: the visible count matches what was typed in.
    assert page.evaluate("window.pwned") is None
    page.keyboard.press("i")  # the template dialog fills in the resident's name, too
    expect(page.get_by_role("dialog", name="Vastausmallit")).to_be_visible()
    assert page.locator("#template-dialog script, #template-dialog img").count() == 0
    assert page.evaluate("window.pwned") is None
