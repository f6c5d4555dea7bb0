"""TeleQ's callback requests as the fifth channel: the contract's fields and their problems,
routing by the menu topic and the municipality, the deadline (the end of the requested window,
or the same working day), and the item page's number to dial."""

from __future__ import annotations

import copy
import itertools
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from desk.inbound import tokens
from desk.inbound.deadlines import HELSINKI, next_working_day, same_working_day
from desk.models import WorkItem
from tests.contract import example
from tests.factories import make_user
from tests.web import Browser, text


@pytest.fixture
def token(app_session):
    _row, secret = tokens.create(app_session, "TeleQ", ["callback"])
    app_session.commit()
    return secret


_made = itertools.count()


def callback(**changes) -> dict:
    """The contract's example, called a minute ago."""
    payload = copy.deepcopy(example("callback.json"))
    now = datetime.now(UTC).replace(microsecond=0)
    payload["external_id"] += f"-{now.timestamp():.0f}-{next(_made)}"
    payload["submitted_at"] = (now - timedelta(minutes=1)).isoformat()
    for key, value in changes.items():
        if key in payload["callback"] or key in ("window", "topic", "phone"):
            payload["callback"][key] = value
        else:
            payload[key] = value
    return payload


def deliver(client, token, payload):
    return client.post(
        "/api/v1/inbound/callback", json=payload, headers={"Authorization": f"Bearer {token}"}
    )


def item_of(app_session, payload) -> WorkItem:
    return app_session.scalar(
        select(WorkItem).where(
            WorkItem.channel == "callback", WorkItem.external_id == payload["external_id"]
        )
    )


def window_on(day, start: int, end: int) -> dict:
    return {
        "from": datetime.combine(day, time(start), HELSINKI).isoformat(),
        "to": datetime.combine(day, time(end), HELSINKI).isoformat(),
    }


def test_a_callback_lands_in_the_regional_queue_due_the_same_working_day(
    client, app_session, token
):
    payload = callback()
    assert deliver(client, token, payload).status_code == 202
    item = item_of(app_session, payload)
    assert item.queue_code == "callback-regional"
    assert item.due_at == same_working_day(datetime.fromisoformat(payload["submitted_at"]))
    assert item.identification == "none" and item.language == "sv"


def test_the_social_topic_goes_to_the_system_areas_social_services_when_the_municipality_is_known(
    client, app_session, token
):
    known = callback(topic="social")
    assert deliver(client, token, known).status_code == 202
    assert item_of(app_session, known).queue_code == "social-loviisa-lapinjarvi"
    unknown = callback(topic="social", municipality=None)
    assert deliver(client, token, unknown).status_code == 202
    assert item_of(app_session, unknown).queue_code == "callback-regional"


def test_a_requested_window_sets_the_deadline_at_its_end(client, app_session, token):
    day = next_working_day(datetime.now(HELSINKI).date())
    payload = callback(window=window_on(day, 12, 14))
    assert deliver(client, token, payload).status_code == 202
    item = item_of(app_session, payload)
    assert item.due_at == datetime.combine(day, time(14), HELSINKI)
    nurse = make_user(app_session, queues=["callback-regional"])
    page = text(Browser(client).login(nurse).get(f"/items/{item.id}"))
    shown = f"{day.day}.{day.month}.{day.year} 12.00</time>–<time"
    assert "Toivottu soittoaika" in page and shown in page and ">14.00</time>" in page


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "040 123 4567"}, "callback.phone"),
        ({"topic": "weather"}, "callback.topic"),
        ({"queue_position": 0}, "callback.queue_position"),
        ({"window": "later"}, "callback.window"),
        ({"resident": {"identification": "strong", "personal_id": "010280-952L"}}, "resident"),
    ],
)
def test_a_callback_that_breaks_the_contract_is_refused_with_its_field(
    client, app_session, token, change, field
):
    payload = callback(**change)
    answer = deliver(client, token, payload)
    assert answer.status_code == 422
    assert field in {p["field"].split(".identification")[0] for p in answer.json["problems"]}
    assert item_of(app_session, payload) is None


def test_a_window_must_lie_in_one_working_days_office_hours_after_the_call(
    client, app_session, token
):
    today = datetime.now(HELSINKI).date()
    day = next_working_day(today)
    saturday = day + timedelta(days=(5 - day.weekday()) % 7)
    refused = {
        "to before from": window_on(day, 14, 12),
        "after office hours": window_on(day, 15, 17),
        "on a Saturday": window_on(saturday, 9, 10),
        "across two days": {
            "from": datetime.combine(day, time(15), HELSINKI).isoformat(),
            "to": datetime.combine(next_working_day(day), time(9), HELSINKI).isoformat(),
        },
        "before the call": window_on(day - timedelta(days=400), 9, 10),
    }
    for why, window in refused.items():
        answer = deliver(client, token, callback(window=window))
        assert answer.status_code == 422, why
        assert any(p["field"].startswith("callback.window") for p in answer.json["problems"]), (
            why,
            answer.json,
        )


def test_the_item_page_dials_the_number_and_shows_the_topic_and_place(client, app_session, token):
    payload = callback(queue_position=14, recording_seconds=22)
    deliver(client, token, payload)
    item = item_of(app_session, payload)
    nurse = make_user(app_session, queues=["callback-regional"])
    page = text(Browser(client).login(nurse).get(f"/items/{item.id}"))
    content = re.search(r'<section aria-labelledby="content-heading".*?</section>', page, re.S)
    facts = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", content.group(0)))
    assert '<a class="phone-link" href="tel:+358401234567">+358401234567</a>' in content.group(0)
    assert "Aihe puhelinvalikossa Terveys" in facts
    assert "Sija puhelinjonossa 14" in facts
    assert "Nauhoitettu viesti 22 sekuntia, puhelinjärjestelmässä" in facts
    badges = re.search(r'<div class="badges">.*?</div>', page, re.S).group(0)
    assert "Takaisinsoitto" in badges
