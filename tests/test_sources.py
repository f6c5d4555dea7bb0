"""Source systems are kept apart: one system's token reads and touches only its own deliveries."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from desk.inbound import tokens
from desk.models import InboundDelivery, WorkItem
from tests.contract import example


@pytest.fixture
def systems(app_session):
    """Two e-form systems (a revoked token of the first one too) and their secrets."""
    old, old_secret = tokens.create(app_session, "Sipoo e-forms", ["eform", "chat"])
    _, first = tokens.create(app_session, "Sipoo e-forms", ["eform", "chat"])
    _, second = tokens.create(app_session, "Loviisa e-forms", ["eform", "chat"])
    app_session.commit()
    return {"old": old_secret, "old_id": old.id, "first": first, "second": second}


def deliver(client, secret, payload, channel="eform"):
    return client.post(
        f"/api/v1/inbound/{channel}", json=payload, headers={"Authorization": f"Bearer {secret}"}
    )


def state(client, secret, external_id, channel="eform"):
    return client.get(
        f"/api/v1/inbound/{channel}/{external_id}", headers={"Authorization": f"Bearer {secret}"}
    )


def test_a_state_belongs_to_the_source_system_that_delivered_it(client, systems, app_session):
    payload = example("eform-income-support.json")
    assert deliver(client, systems["first"], payload).status_code == 202

    mine = state(client, systems["first"], payload["external_id"])
    assert mine.status_code == 200 and mine.json["queue"] == "social-loviisa-lapinjarvi"
    theirs = state(client, systems["second"], payload["external_id"])
    assert theirs.status_code == 404
    assert theirs.json == {"error": "not_found", "message": "no delivery with this external_id"}
    assert "item_id" not in theirs.json and "queue" not in theirs.json


def test_a_replacement_token_of_the_same_system_reads_its_predecessors_deliveries(
    client, systems, app_session
):
    payload = example("eform-income-support.json")
    assert deliver(client, systems["old"], payload).status_code == 202
    tokens.revoke(app_session, systems["old_id"])
    app_session.commit()
    assert state(client, systems["old"], payload["external_id"]).status_code == 401
    assert state(client, systems["first"], payload["external_id"]).json["status"] == "routed"


@pytest.mark.parametrize("same_content", [True, False])
def test_a_repeat_of_another_systems_external_id_changes_and_tells_nothing(
    client, systems, app_session, same_content
):
    payload = example("chat-anonymous.json")
    first = deliver(client, systems["first"], payload, "chat")
    assert first.status_code == 202
    repeat = example("chat-anonymous.json")
    if not same_content:  # a longer conversation would update the first system's chat
        repeat["conversation"].append(
            {"sender": "resident", "sent_at": repeat["submitted_at"], "text": "Injected"}
        )
    answer = deliver(client, systems["second"], repeat, "chat")
    assert answer.status_code == 409
    assert answer.json == {
        "error": "conflict",
        "message": "this external_id was received from another source system",
    }
    assert first.json["delivery_id"] not in answer.get_data(as_text=True)
    item = app_session.scalar(
        select(WorkItem).where(WorkItem.external_id == payload["external_id"])
    )
    assert "Injected" not in str(item.content)
    assert app_session.scalar(select(func.count()).select_from(InboundDelivery)) == 1
    # The first system's own repeat is still a duplicate with its delivery id.
    again = deliver(client, systems["first"], payload, "chat")
    assert again.status_code == 200 and again.json["delivery_id"] == first.json["delivery_id"]
