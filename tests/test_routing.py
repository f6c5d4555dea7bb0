"""Routing by the rules valid on the day of arrival, and turning deliveries into items."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from desk.inbound import intake
from desk.inbound.routing import RoutingError, route
from desk.models import InboundDelivery, SystemAreaMembership
from tests import contract
from tests.factories import CHANNELS


def queue_for(
    session, channel, identified=False, municipality=None, form_type=None, day=date(2026, 11, 25)
):
    return route(
        session,
        channel=channel,
        identified=identified,
        municipality=municipality,
        form_type=form_type,
        day=day,
    ).code


def test_the_contract_routing_table(session):
    assert queue_for(session, "chat") == "chat-regional"
    assert queue_for(session, "chat", municipality="askola") == "chat-regional"
    assert queue_for(session, "chat", True, "loviisa") == "chat-id-loviisa-lapinjarvi"
    assert queue_for(session, "chat", True, "lapinjarvi") == "chat-id-loviisa-lapinjarvi"
    assert queue_for(session, "omaolo", True, "porvoo") == "omaolo-porvoo"
    assert queue_for(session, "omaolo", False, "myrskyla") == "omaolo-porvoo"
    for form in ("income-support", "disability-services", "social-care-need"):
        assert queue_for(session, "eform", True, "sipoo", form) == "social-sipoo"
    for form in ("health-questionnaire", "other"):
        assert queue_for(session, "eform", True, "askola", form) == "health-askola"
    assert queue_for(session, "help-request", False, "porvoo") == "help-regional"


def test_moving_pukkila_to_askolas_system_area_is_a_data_change_from_a_date(session):
    session.add(
        SystemAreaMembership(
            municipality_code="pukkila", system_area_code="askola", valid_from=date(2027, 1, 1)
        )
    )
    session.flush()
    assert queue_for(session, "omaolo", True, "pukkila", day=date(2026, 12, 31)) == (
        "omaolo-porvoo"
    )
    assert queue_for(session, "omaolo", True, "pukkila", day=date(2027, 1, 1)) == ("omaolo-askola")
    assert queue_for(session, "omaolo", True, "myrskyla", day=date(2027, 1, 1)) == ("omaolo-porvoo")


def test_an_identified_delivery_without_municipality_cannot_be_routed(session):
    with pytest.raises(RoutingError):
        queue_for(session, "omaolo", True, None)


@pytest.mark.parametrize(
    ("example", "channel", "queue", "due"),
    [
        ("chat-anonymous.json", "chat", "chat-regional", None),
        ("chat-identified-sv.json", "chat", "chat-id-loviisa-lapinjarvi", None),
        ("omaolo-symptom.json", "omaolo", "omaolo-porvoo", "2026-11-25T16:00:00+02:00"),
        ("omaolo-service.json", "omaolo", "omaolo-porvoo", "2026-11-25T16:00:00+02:00"),
        (
            "eform-income-support.json",
            "eform",
            "social-loviisa-lapinjarvi",
            "2026-12-04T16:00:00+02:00",
        ),
        ("help-request.json", "help-request", "help-regional", "2026-11-26T16:00:00+02:00"),
        ("callback.json", "callback", "callback-regional", "2026-12-07T16:00:00+02:00"),
    ],
)
def test_contract_examples_become_routed_items_once(session, example, channel, queue, due):
    payload = contract.example(example)
    delivery = InboundDelivery(
        id=f"d-{example}",
        channel=channel,
        external_id=payload["external_id"],
        payload=payload,
        content_hash="x",
    )
    session.add(delivery)
    session.flush()  # stored before it is processed, as the API does
    item = intake.process(session, delivery, CHANNELS)
    assert item.queue_code == queue
    assert item.due_at == (datetime.fromisoformat(due) if due else None)
    assert delivery.status == "routed" and delivery.item_id == item.id
    assert [e.kind for e in item.events] == ["created", "routed"]
    assert intake.process(session, delivery, CHANNELS).id == item.id
