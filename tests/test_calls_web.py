# ruff: noqa: F401, F811 (the answering tests' fixtures, used by name)
"""Phone calls through the desk's pages and the real stack: a TeleQ callback called three times
without an answer (out of My work between tries), the decision, a caller identified on the
phone, and an identified resident told by a message through the outbound contract that the
centre could not reach them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from sqlalchemy import select

from desk.models import ItemEvent, ItemMessage, OutboxEvent, WorkItem
from desk.work import calls
from tests.contract import example
from tests.factories import make_user
from tests.test_answering import deliver, partner, receiver  # fixtures
from tests.test_callback import callback
from tests.web import Browser, text


def item_of(app_session, channel, payload) -> WorkItem:
    return app_session.scalar(
        select(WorkItem).where(
            WorkItem.channel == channel, WorkItem.external_id == payload["external_id"]
        )
    )


def version(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def comes_back(app_session, item: WorkItem) -> None:
    """The sweep at the item's next try (the clock moved there)."""
    assert calls.bring_back(app_session, now=item.retry_at) == [item.id]
    app_session.commit()


def test_a_callback_called_three_times_then_resolved_as_not_reached(
    client,
    app_session,
    partner,
):
    nurse = make_user(app_session, queues=["callback-regional", "health-sipoo"])
    payload = callback(municipality=None)
    assert deliver(client, partner, "callback", payload).status_code == 202
    item = item_of(app_session, "callback", payload)
    assert item.resident_phone == payload["callback"]["phone"]
    browser = Browser(client).login(nurse)

    page = text(browser.get(f"/items/{item.id}"))
    assert "Ota asia soittaaksesi." in page  # take it to record calls
    for attempt in (1, 2):
        page = text(browser.post(f"/items/{item.id}/take"))
        assert 'id="call-form"' in page and 'data-call-key="2"' in page
        page = text(
            browser.post(
                f"/items/{item.id}/call",
                {"result": "no-answer", "note": f"Yritys {attempt}", "version": version(page)},
            )
        )
        assert "Soitto kirjattu: Ei vastausta." in page
        assert "Odottaa seuraavaa soittoa" in page
        app_session.refresh(item)
        assert (item.status, item.assignee_id, item.call_attempts) == ("waiting", None, attempt)
        # Out of My work, and take next does not give it.
        assert f"/items/{item.id}" not in text(browser.get("/work"))
        # The situation view counts it as waiting for the next call, and lists it there.
        situation = text(browser.get("/situation"))
        retrying = re.search(
            r'<a id="n-callback-regional-retrying" href="([^"]+)"[^>]*>1<', situation
        )
        assert retrying, "one item of the queue waits for the next call"
        listed = text(browser.get(retrying.group(1).replace("&amp;", "&")))
        assert f"/items/{item.id}" in listed
        assert "Odottaa seuraavaa soittoa" in listed and "Odottaa asukasta" not in listed
        comes_back(app_session, item)
    page = text(browser.post(f"/items/{item.id}/take"))
    page = text(
        browser.post(f"/items/{item.id}/call", {"result": "busy", "version": version(page)})
    )
    # The third of three: the holder decides. The caller is not identified: no message.
    assert 'id="call-decision"' in page and 'id="call-form"' not in page
    assert "Ratkaise ei tavoitettuna" in page and 'name="send_message"' not in page
    refused = browser.post(
        f"/items/{item.id}/call", {"result": "reached", "version": version(page)}
    )
    assert refused.status_code == 409 and "3 soittoyritystä" in text(refused)
    app_session.refresh(item)
    assert item.call_attempts == 3

    # A wrong personal identity code: refused, with what was typed kept.
    bad = browser.post(
        f"/items/{item.id}/identify",
        {
            "personal_id": "131052-308X",
            "name": "Maija",
            "municipality": "sipoo",
            "version": version(page),
        },
    )
    assert bad.status_code == 409 and "ei ole kelvollinen henkilötunnus" in text(bad)
    assert 'value="131052-308X"' in text(bad)
    app_session.refresh(item)
    assert item.identification == "none"

    page = text(browser.post(f"/items/{item.id}/not-reached", {"version": version(text(bad))}))
    assert "Asia on ratkaistu: asukasta ei tavoitettu." in page
    app_session.refresh(item)
    assert (item.status, item.outcome_code) == ("resolved", "resident-unreachable")
    timeline = [
        (e.kind, e.outcome_code)
        for e in app_session.scalars(
            select(ItemEvent).where(ItemEvent.item_id == item.id).order_by(ItemEvent.id)
        )
        if e.kind in ("call_attempt", "retry_due", "resolved")
    ]
    # The source system follows the item's state: out to its queue to wait, back, resolved.
    told = [
        json.loads(e.body)["data"]["item_status"]
        for e in app_session.scalars(
            select(OutboxEvent).where(OutboxEvent.item_id == item.id).order_by(OutboxEvent.seq)
        )
        if json.loads(e.body)["type"] == "item.updated"
    ]
    assert told == [
        "in_progress",
        "waiting",
        "new",
        "in_progress",
        "waiting",
        "new",
        "in_progress",
        "resolved",
    ]
    # The team lead's report: one resident called three times, not reached, by the deadline.
    lead = Browser(client.application.test_client()).login(make_user(app_session, role="team_lead"))
    report = text(lead.get("/reports"))
    assert (
        "1 asukkaalle soitettiin jaksolla ensimmäisen kerran, 3 yrityksellä; 0 tavoitettiin."
        in (" ".join(report.split()))
    )
    assert timeline == [
        ("call_attempt", "no-answer"),
        ("retry_due", "2"),
        ("call_attempt", "no-answer"),
        ("retry_due", "3"),
        ("call_attempt", "busy"),
        ("resolved", "resident-unreachable"),
    ]


def test_a_caller_identified_on_the_phone_and_reached(client, app_session, partner):
    nurse = make_user(app_session, queues=["callback-regional", "health-sipoo"], language="sv")
    payload = callback(municipality=None, topic="medication")
    deliver(client, partner, "callback", payload)
    item = item_of(app_session, "callback", payload)
    browser = Browser(client).login(nurse)
    page = text(browser.post(f"/items/{item.id}/take"))
    page = text(
        browser.post(f"/items/{item.id}/call", {"result": "reached", "version": version(page)})
    )
    assert "Samtalet antecknat: Nådd." in page
    page = text(
        browser.post(
            f"/items/{item.id}/identify",
            {
                "personal_id": "131052-308T",
                "name": "Maija Meikäläinen",
                "municipality": "sipoo",
                "version": version(page),
            },
        )
    )
    assert "Den som ringde är identifierad." in page
    assert "Identifierad per telefon" in page and "Maija Meikäläinen" in page
    assert 'id="identify-pid"' not in page, "identified once: the form is gone"
    app_session.refresh(item)
    assert (item.queue_code, item.assignee_id, item.identification) == (
        "health-sipoo",
        nurse.id,
        "phone",
    )


def test_an_identified_resident_not_reached_gets_a_message(
    client,
    app_session,
    partner,
    receiver,
):
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    payload = example("omaolo-symptom.json")
    payload["external_id"] += "-calls"
    payload["submitted_at"] = datetime.now(UTC).isoformat()
    payload["resident"]["phone"] = "+358405556677"
    assert deliver(client, partner, "omaolo", payload).status_code == 202
    item = item_of(app_session, "omaolo", payload)
    browser = Browser(client).login(nurse)
    page = text(browser.post(f"/items/{item.id}/take"))
    page = text(
        browser.post(f"/items/{item.id}/call", {"result": "wrong-number", "version": version(page)})
    )
    # A wrong number asks for the decision at once; the standard message is offered.
    assert (
        'name="send_message"' in page and "yritimme soittaa sinulle numeroon +358405556677" in page
    )
    page = text(
        browser.post(
            f"/items/{item.id}/not-reached",
            {
                "version": version(page),
                "send_message": "1",
                "message": "Yritimme soittaa, mutta numero oli väärä. Ota yhteyttä chatissa.",
            },
        )
    )
    app_session.refresh(item)
    assert item.outcome_code == "resident-unreachable"
    sent = app_session.scalar(select(ItemMessage).where(ItemMessage.item_id == item.id))
    assert sent.kind == "message" and sent.text.startswith("Yritimme soittaa")
    documents = [r.document for r in receiver.received]
    assert any(d["type"] == "message.created" and d["data"]["text"] == sent.text for d in documents)
