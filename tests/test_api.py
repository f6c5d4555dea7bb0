"""The inbound contract, as a source system sees it: status codes, bodies, idempotency."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desk import tokens
from desk.models import InboundDelivery, ItemEvent, WorkItem, utcnow

EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "contract" / "examples"
# The contract's examples carry personal identity codes of 12 characters, which no valid code
# has; these valid test-range codes stand in for them so the rest of each example is tested.
VALID_PIDS = {
    "chat-identified-sv.json": "120578-9385",
    "eform-income-support.json": "281199-935M",
    "omaolo-service.json": "170342-904C",
    "omaolo-symptom.json": "030485-912H",
}
CHANNELS = {"chat": "chat", "omaolo": "omaolo", "eform": "eform", "help": "help-request"}


def example(name: str) -> dict:
    payload = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    if name in VALID_PIDS:
        payload["resident"]["personal_id"] = VALID_PIDS[name]
    return payload


def channel_of(name: str) -> str:
    return CHANNELS[name.split("-")[0]]


@pytest.fixture
def token(app_session) -> str:
    _, secret = tokens.create(app_session, "All channels", list(CHANNELS.values()))
    app_session.commit()
    return secret


@pytest.fixture
def api(client, token):
    class Api:
        def post(self, channel, payload, secret=token, **kw):
            headers = {"Authorization": f"Bearer {secret}"} if secret else {}
            if "data" in kw:
                return client.post(f"/api/v1/inbound/{channel}", headers=headers, **kw)
            return client.post(f"/api/v1/inbound/{channel}", json=payload, headers=headers)

        def state(self, channel, external_id, secret=token):
            return client.get(
                f"/api/v1/inbound/{channel}/{external_id}",
                headers={"Authorization": f"Bearer {secret}"},
            )

    return Api()


@pytest.mark.parametrize(
    ("name", "queue", "due"),
    [
        ("chat-anonymous.json", "chat-regional", None),
        ("chat-identified-sv.json", "chat-id-loviisa-lapinjarvi", None),
        ("omaolo-symptom.json", "omaolo-porvoo", "2026-11-25T16:00:00+02:00"),
        ("omaolo-service.json", "omaolo-porvoo", "2026-11-25T16:00:00+02:00"),
        ("eform-income-support.json", "social-loviisa-lapinjarvi", "2026-12-04T16:00:00+02:00"),
        ("help-request.json", "help-regional", "2026-11-26T16:00:00+02:00"),
    ],
)
def test_each_example_is_accepted_routed_and_reported(api, name, queue, due):
    payload = example(name)
    channel = channel_of(name)
    response = api.post(channel, payload)
    assert response.status_code == 202, response.json
    body = response.json
    assert body["status"] == "accepted" and body["delivery_id"] and body["item_url"] is None
    state = api.state(channel, payload["external_id"])
    assert state.status_code == 200
    assert state.json["status"] == "routed" and state.json["queue"] == queue
    assert state.json["item_status"] == "new" and state.json["due_at"] == due
    assert state.json["item_id"] and state.json["reason"] is None


def test_the_contracts_example_personal_ids_are_refused_as_invalid(api):
    payload = json.loads((EXAMPLES / "omaolo-symptom.json").read_text(encoding="utf-8"))
    response = api.post("omaolo", payload)
    assert response.status_code == 422
    assert response.json["problems"] == [
        {"field": "resident.personal_id", "message": "not a personal identity code (DDMMYYCZZZQ)"}
    ]


def test_every_problem_is_listed_at_once(api, app_session):
    payload = example("omaolo-symptom.json")
    payload["external_id"] = ""
    payload["submitted_at"] = (utcnow() + timedelta(minutes=10)).isoformat()
    payload["language"] = "de"
    payload["resident"]["personal_id"] = "131052-308U"
    payload["resident"]["phone"] = "0401234567"
    del payload["assessment"]["urgency"]
    payload["assessment"]["answers"] = [{"question": "Kuumetta?"}]
    response = api.post("omaolo", payload)
    assert response.status_code == 422
    assert response.json["error"] == "invalid"
    assert {p["field"] for p in response.json["problems"]} == {
        "external_id",
        "submitted_at",
        "language",
        "resident.personal_id",
        "resident.phone",
        "assessment.urgency",
        "assessment.answers[0].answer",
    }
    assert app_session.scalar(select(func.count()).select_from(InboundDelivery)) == 0


@pytest.mark.parametrize(
    ("pid", "message"),
    [
        ("131052-308U", "checksum does not match"),
        ("310252-308T", "not a real calendar date"),
        ("131052G308T", "not a personal identity code (DDMMYYCZZZQ)"),
    ],
)
def test_personal_identity_codes_are_checked(api, pid, message):
    payload = example("omaolo-symptom.json")
    payload["resident"]["personal_id"] = pid
    response = api.post("omaolo", payload)
    assert response.json["problems"] == [{"field": "resident.personal_id", "message": message}]


def test_anonymous_resident_may_not_carry_a_personal_id_and_identified_needs_one(api):
    payload = example("help-request.json")
    payload["resident"]["personal_id"] = "131052-308T"
    assert api.post("help-request", payload).json["problems"] == [
        {"field": "resident.personal_id", "message": "is forbidden when the resident is anonymous"}
    ]
    payload = example("chat-identified-sv.json")
    del payload["resident"]["personal_id"]
    payload["municipality"] = None
    fields = {p["field"] for p in api.post("chat", payload).json["problems"]}
    assert fields == {"resident.personal_id", "municipality"}


def test_tokens_are_required_and_limited_to_their_channels(api, app_session):
    payload = example("omaolo-symptom.json")
    assert api.post("omaolo", payload, secret=None).status_code == 401
    assert api.post("omaolo", payload, secret="desk_unknown").status_code == 401
    row, chat_only = tokens.create(app_session, "Chat platform", ["chat"])
    app_session.commit()
    assert api.post("omaolo", payload, secret=chat_only).status_code == 403
    assert api.state("omaolo", payload["external_id"], secret=chat_only).status_code == 403
    tokens.revoke(app_session, row.id)
    app_session.commit()
    assert api.post("chat", example("chat-anonymous.json"), secret=chat_only).status_code == 401


def test_bodies_that_are_not_json_objects_are_refused(api):
    assert (
        api.post("chat", None, data="{not json", content_type="application/json").status_code == 400
    )
    assert api.post("chat", None, data="[1, 2]", content_type="application/json").status_code == 400
    assert (
        api.post(
            "chat", None, data="a=1", content_type="application/x-www-form-urlencoded"
        ).status_code
        == 400
    )
    big = json.dumps({"x": "a" * (257 * 1024)})
    response = api.post("chat", None, data=big, content_type="application/json")
    assert response.status_code == 413 and response.json["error"] == "too_large"
    assert api.post("fax", {}).status_code == 404


def test_a_repeat_is_a_duplicate_and_never_a_second_item(api, app_session):
    payload = example("eform-income-support.json")
    first = api.post("eform", payload).json
    shuffled = json.loads(json.dumps(payload, sort_keys=True))  # same content, other key order
    again = api.post("eform", shuffled)
    assert again.status_code == 200
    assert again.json["status"] == "duplicate"
    assert again.json["delivery_id"] == first["delivery_id"]
    assert again.json["item_url"].endswith(
        "/items/" + api.state("eform", payload["external_id"]).json["item_id"]
    )
    count = (
        select(func.count())
        .select_from(WorkItem)
        .where(WorkItem.external_id == payload["external_id"])
    )
    assert app_session.scalar(count) == 1


def test_a_repeat_with_other_content_is_a_conflict_and_changes_nothing(api, app_session):
    payload = example("help-request.json")
    api.post("help-request", payload)
    changed = copy.deepcopy(payload)
    changed["request"]["message"] = "Toinen viesti"
    response = api.post("help-request", changed)
    assert response.status_code == 409 and response.json["error"] == "conflict"
    item = app_session.scalar(
        select(WorkItem).where(WorkItem.external_id == payload["external_id"])
    )
    assert item.content["request"]["message"] == payload["request"]["message"]


def test_a_growing_chat_updates_its_item_and_loses_nothing(api, app_session):
    payload = example("chat-anonymous.json")
    api.post("chat", payload)
    grown = copy.deepcopy(payload)
    grown["conversation"].append(
        {
            "sender": "resident",
            "sent_at": "2026-11-25T09:12:30+02:00",
            "text": "Olen jo asiakas <Askolassa>.",
        }
    )
    response = api.post("chat", grown)
    assert response.status_code == 200 and response.json["status"] == "updated"
    item = app_session.scalar(
        select(WorkItem).where(WorkItem.external_id == payload["external_id"])
    )
    app_session.refresh(item)
    assert item.content["conversation"] == grown["conversation"]
    kinds = app_session.scalars(
        select(ItemEvent.kind).where(ItemEvent.item_id == item.id).order_by(ItemEvent.id)
    ).all()
    assert kinds == ["created", "routed", "updated"]
    # The same grown chat again is a duplicate; an edited earlier message is a conflict.
    assert api.post("chat", grown).json["status"] == "duplicate"
    edited = copy.deepcopy(grown)
    edited["conversation"][1]["text"] = "muutettu"
    edited["conversation"].append(
        {"sender": "resident", "sent_at": "2026-11-25T09:13:00+02:00", "text": "lisää"}
    )
    assert api.post("chat", edited).status_code == 409


def test_state_of_an_unknown_delivery_is_404(api):
    response = api.state("chat", "never-sent")
    assert response.status_code == 404 and response.json["error"] == "not_found"


def test_openapi_describes_the_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {
        "/api/v1/inbound/chat",
        "/api/v1/inbound/omaolo",
        "/api/v1/inbound/eform",
        "/api/v1/inbound/help-request",
        "/api/v1/inbound/{channel}/{external_id}",
    }


def test_text_no_database_can_store_is_refused_not_crashed(api):
    payload = example("help-request.json")
    payload["request"]["message"] = "nolla\u0000merkki"
    payload["extra"] = {"x": "\ud800"}
    response = api.post("help-request", payload)
    assert response.status_code == 422
    assert {p["field"] for p in response.json["problems"]} == {"request.message", "extra.x"}
    nan = json.dumps(example("help-request.json")).replace('"fi"', "NaN", 1)
    assert (
        api.post("help-request", None, data=nan, content_type="application/json").status_code == 400
    )


def test_an_item_delivered_through_the_api_is_shown_as_typed(api, client, app_session):
    from tests.factories import make_user
    from tests.web import Browser

    payload = example("chat-anonymous.json")
    payload["conversation"][1]["text"] = '<img src=x onerror="alert(1)"> & "kuume" > 38 😷'
    api.post("chat", payload)
    nurse = make_user(app_session, queues=["chat-regional"])
    app_session.commit()
    browser = Browser(client).login(nurse)
    work = browser.get("/work").get_data(as_text=True)
    item_id = api.state("chat", payload["external_id"]).json["item_id"]
    assert f'href="/items/{item_id}"' in work
    page = browser.get(f"/items/{item_id}").get_data(as_text=True)
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; &#34;kuume&#34; &gt; 38 😷" in page
    assert "<img src=x" not in page
