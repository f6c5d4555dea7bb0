"""The inbound contract, as a source system sees it: status codes, bodies, idempotency."""

from __future__ import annotations

import copy
import io
import json
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from desk.inbound import tokens
from desk.models import ApiToken, InboundDelivery, ItemEvent, WorkItem, utcnow
from tests.contract import example
from tests.factories import make_item

CHANNELS = {
    "chat": "chat",
    "omaolo": "omaolo",
    "eform": "eform",
    "help": "help-request",
    "callback.json": "callback",
}


def channel_of(name: str) -> str:
    return CHANNELS.get(name) or CHANNELS[name.split("-")[0]]


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


def test_a_token_revoked_elsewhere_is_refused_though_this_process_kept_it(api, app_session):
    """A delivery does not read again a token this process found active before (its insert
    checks it): revoked by another process, the token is still refused at once, as unknown,
    whatever it sends, and nothing it sends is stored."""

    def kept_then_revoked(name: str) -> tuple[str, dict]:
        row, secret = tokens.create(app_session, name, ["omaolo"])
        app_session.commit()
        first = dict(example("omaolo-symptom.json"), external_id=f"{name}-first")
        assert api.post("omaolo", first, secret=secret).status_code == 202  # now kept
        # Another process revokes it: this one is not told.
        app_session.execute(
            update(ApiToken).where(ApiToken.id == row.id).values(revoked_at=utcnow())
        )
        app_session.commit()
        return secret, first

    secret, first = kept_then_revoked("new")
    new = dict(first, external_id="new-second")
    assert api.post("omaolo", new, secret=secret).status_code == 401
    secret, first = kept_then_revoked("repeat")
    assert api.post("omaolo", first, secret=secret).status_code == 401
    secret, first = kept_then_revoked("other-channel")
    chat = example("chat-anonymous.json")
    assert api.post("chat", chat, secret=secret).status_code == 401  # not 403: unknown
    stored = app_session.scalars(select(InboundDelivery.external_id)).all()
    assert sorted(stored) == ["new-first", "other-channel-first", "repeat-first"]


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
        "/api/v1/inbound/callback",
        "/api/v1/inbound/{channel}/{external_id}",
        "/api/v1/inbound/{channel}/{external_id}/messages",
        "/api/v1/inbound/{channel}/{external_id}/receipts",
        "/api/v1/inbound/{channel}/{external_id}/feedback",
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


# --- what can never become an item is refused at the door -------------------------------------

EXAMPLES = [
    "chat-anonymous.json",
    "chat-identified-sv.json",
    "omaolo-symptom.json",
    "omaolo-service.json",
    "eform-income-support.json",
    "help-request.json",
    "callback.json",
]
EARLIEST = "2023-01-01T00:00:00+02:00"  # the wellbeing services county's first day
A_SECOND_BEFORE = "2022-12-31T23:59:59+02:00"


def _stored(app_session) -> int:
    return app_session.scalar(select(func.count()).select_from(InboundDelivery))


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+00:00", "1900-01-01T12:00:00+02:00"])
def test_a_delivery_from_before_the_county_is_refused_not_promised(api, app_session, moment):
    payload = example("omaolo-symptom.json")
    payload["submitted_at"] = moment
    response = api.post("omaolo", payload)
    assert response.status_code == 422
    assert response.json["problems"] == [
        {"field": "submitted_at", "message": f"is before {EARLIEST}"}
    ]
    assert _stored(app_session) == 0


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_earliest_moment_allowed_is_routed_and_a_second_before_it_refused(api, name):
    """Every `submitted_at` validation lets through can be routed: the first allowed moment
    lands in a queue (the routing rules and system areas are valid from then)."""
    channel = channel_of(name)
    first = example(name)
    first["submitted_at"] = EARLIEST
    assert api.post(channel, first).status_code == 202
    state = api.state(channel, first["external_id"]).json
    assert state["status"] == "routed" and state["queue"], state
    before = example(name)
    before["external_id"] += "-before"
    before["submitted_at"] = A_SECOND_BEFORE
    response = api.post(channel, before)
    assert response.status_code == 422
    assert [p["field"] for p in response.json["problems"]] == ["submitted_at"]


def test_an_external_id_of_spaces_or_with_white_space_around_it_is_refused(api, app_session):
    for external_id in ("   ", " hr-1", "hr-1 ", "hr-1\t"):
        payload = example("help-request.json")
        payload["external_id"] = external_id
        response = api.post("help-request", payload)
        assert response.status_code == 422, external_id
        assert [p["field"] for p in response.json["problems"]] == ["external_id"]
    assert _stored(app_session) == 0


# --- JSON the desk could not hold, or would read otherwise than the sender meant -------------


def _raw(api, text: str):
    return api.post("help-request", None, data=text, content_type="application/json")


def _with_extra(extra: str) -> str:
    """The help-request example with an unknown field whose JSON text is `extra`."""
    return json.dumps(example("help-request.json"))[:-1] + f', "extra": {extra}}}'


@pytest.mark.parametrize(
    "extra",
    [
        "[" * 1000 + "]" * 1000,
        '{"a": ' * 5000 + "1" + "}" * 5000,
        "[" * 33 + "]" * 33,  # the first level too many
        "1e999",
        "-1e999",
        "[1, 2, 1e400]",
    ],
    ids=["1000-levels", "5000-levels", "33-levels", "1e999", "-1e999", "1e400-in-a-list"],
)
def test_json_nested_too_deep_or_with_infinite_numbers_is_invalid(api, app_session, extra):
    assert json.loads(_with_extra("1"))  # the frame itself is good JSON
    response = _raw(api, _with_extra(extra))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_json"
    assert _stored(app_session) == 0


def test_json_nested_as_deep_as_allowed_is_accepted(api):
    assert _raw(api, _with_extra("[" * 31 + "]" * 31)).status_code == 202


def test_an_infinite_number_in_a_form_answer_is_invalid_json(api):
    payload = json.dumps(example("eform-income-support.json"))
    broken = payload.replace('"form": {', '"form": {"x": 1e999, ', 1)
    assert broken != payload
    assert _raw(api, broken).status_code == 400


def test_a_key_given_twice_is_refused_and_named(api, app_session):
    text = json.dumps(example("help-request.json")).replace(
        '"identification": "none"', '"identification": "none", "identification": "strong"', 1
    )
    assert text.count('"identification"') == 2
    response = _raw(api, text)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_json"
    assert "identification" in response.json["message"]
    assert _stored(app_session) == 0


def _chunked(client, token, body: bytes):
    """A body sent in chunks, without Content-Length, as the WSGI server hands it over (it
    ends the stream itself: `wsgi.input_terminated`)."""
    return client.post(
        "/api/v1/inbound/help-request",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_over_256_kib_is_too_large_and_one_at_the_limit_is_taken(client, token):
    limit = 256 * 1024
    text = json.dumps(example("help-request.json")).encode()
    over = text + b" " * (limit + 1 - len(text))  # still JSON: trailing white space
    response = _chunked(client, token, over)
    assert response.status_code == 413 and response.json["error"] == "too_large"
    at_the_limit = text + b" " * (limit - len(text))
    assert _chunked(client, token, at_the_limit).status_code == 202


def test_the_description_names_the_earliest_moment_the_endpoint_takes(api, client):
    spec = client.get("/api/v1/openapi.json").json
    schema = spec["components"]["schemas"]["HelpRequestDelivery"]["properties"]
    earliest = re.search(r"not before (\S+)", schema["submitted_at"]["description"]).group(1)
    first = example("help-request.json")
    first["submitted_at"] = earliest
    assert api.post("help-request", first).status_code == 202
    before = example("help-request.json")
    before["external_id"] += "-before"
    before["submitted_at"] = (datetime.fromisoformat(earliest) - timedelta(seconds=1)).isoformat()
    assert api.post("help-request", before).status_code == 422


def test_an_address_with_a_control_character_is_refused_in_json(api):
    response = api.state("help-request", "hr%00x")
    assert response.status_code == 400 and response.json["error"] == "bad_request"


def test_the_state_tells_an_untaken_items_place_and_an_estimate_from_the_recent_pace(
    api, app_session
):
    sent = []
    for n in range(3):
        payload = example("omaolo-service.json")
        payload["external_id"] = f"pace-{n}"
        payload["submitted_at"] = (utcnow() - timedelta(minutes=30 - n)).isoformat()
        assert api.post("omaolo", payload).status_code == 202
        sent.append(payload["external_id"])
    state = api.state("omaolo", sent[2]).json
    assert state["position"] == 3
    assert state["estimated_wait_seconds"] is None, "no history: no estimate"

    def taken(count: int) -> None:
        for _ in range(count):
            done = make_item(app_session, queue="omaolo-porvoo", channel="omaolo")
            done.status, done.first_action_at = "resolved", utcnow() - timedelta(minutes=30)
            done.resolved_at = done.first_action_at
        app_session.commit()

    taken(12)  # 12 first actions in two hours: one every 10 minutes
    assert api.state("omaolo", sent[2]).json["estimated_wait_seconds"] == 3 * 600
    taken(12)  # twice the pace: half the wait
    assert api.state("omaolo", sent[2]).json["estimated_wait_seconds"] == 3 * 300
    assert api.state("omaolo", sent[0]).json["position"] == 1
    # Taken: neither is told.
    item = app_session.scalar(select(WorkItem).where(WorkItem.external_id == sent[0]))
    item.status, item.first_action_at = "in_progress", utcnow()
    app_session.commit()
    state = api.state("omaolo", sent[0]).json
    assert (state["position"], state["estimated_wait_seconds"]) == (None, None)
    assert api.state("omaolo", sent[2]).json["position"] == 2
