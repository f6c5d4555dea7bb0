"""Adding a channel is a new adapter module, a line of configuration and routing data; and
the validation every channel shares."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from flask_migrate import upgrade

from desk import create_app, reference
from desk.channels import DEFAULT_CHANNELS
from desk.extensions import db
from desk.inbound import tokens
from desk.models import Queue, RoutingRule
from tests.contract import example
from tests.factories import CHANNELS, make_user
from tests.web import Browser, text


def test_another_channel_needs_a_module_configuration_and_data(tmp_path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'desk.db'}",
            "SECRET_KEY": "t",
            "REDIS_URL": None,
            "DESK_JOBS_INLINE": True,
            "DESK_CHANNELS": [*DEFAULT_CHANNELS, "tests.teleq_channel"],
        }
    )
    try:
        with app.app_context():
            upgrade()
            reference.load(db.session)
            db.session.add(
                Queue(
                    code="phone-test",
                    kind="phone-test",
                    service_area_code="health",
                    name_fi="Puhelinkokeilu",
                    name_sv="Telefonförsök",
                    name_en="Phone trial",
                )
            )
            db.session.add(
                RoutingRule(
                    position=190,
                    channel="teleq",
                    queue_kind="phone-test",
                    regional=True,
                    valid_from=date(2023, 1, 1),
                )
            )
            _, secret = tokens.create(db.session, "TeleQ", ["teleq"])
            db.session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        response = client.post(
            "/api/v1/inbound/teleq",
            headers=headers,
            json={
                "external_id": "teleq-1",
                "submitted_at": "2026-11-25T10:00:00+02:00",
                "callback": {"topic": "Soittopyyntö: lääkitys"},
            },
        )
        assert response.status_code == 202, response.json
        state = client.get("/api/v1/inbound/teleq/teleq-1", headers=headers).json
        assert state["queue"] == "phone-test"
        assert state["due_at"] == "2026-11-25T16:00:00+02:00"
        # The channel is in the published contract and among the situation view's filters.
        document = client.get("/api/v1/openapi.json").json
        assert "/api/v1/inbound/teleq" in document["paths"]
        assert "callback" in document["components"]["schemas"]["TeleQDelivery"]["required"]
        # Its items show on their page field by field (it brings no template of its own).
        with app.app_context():
            nurse = make_user(db.session, queues=["phone-test"])
            db.session.commit()
            db.session.refresh(nurse)
            db.session.expunge(nurse)
        page = text(Browser(app.test_client()).login(nurse).get(f"/items/{state['item_id']}"))
        assert "Soittopyyntö: lääkitys" in page
        refused = client.post(
            "/api/v1/inbound/teleq",
            headers=headers,
            json={"external_id": "teleq-2", "submitted_at": "2026-11-25T10:00:00+02:00"},
        )
        assert refused.json["problems"] == [{"field": "callback", "message": "is required"}]
    finally:
        with app.app_context():
            db.engine.dispose()


# --- validation of the common fields ---------------------------------------------------------

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # after every example was sent


def _fields(problems: list[dict]) -> list[str]:
    return [p["field"] for p in problems]


def _help_request(**changes) -> dict:
    payload = example("help-request.json")
    payload.update(changes)
    return payload


def test_submitted_at_begins_with_the_wellbeing_services_county():
    """Nothing before 2023-01-01 00:00 Finnish time: no routing rule is older, and a resident's
    matter from before the county existed is not one to promise an item for."""
    adapter = CHANNELS.get("help-request")
    first = _help_request(submitted_at="2023-01-01T00:00:00+02:00")
    assert CHANNELS.problems(adapter, first, now=NOW) == []
    same_moment_in_utc = _help_request(submitted_at="2022-12-31T22:00:00+00:00")
    assert CHANNELS.problems(adapter, same_moment_in_utc, now=NOW) == []
    second_before = _help_request(submitted_at="2022-12-31T23:59:59+02:00")
    assert CHANNELS.problems(adapter, second_before, now=NOW) == [
        {"field": "submitted_at", "message": "is before 2023-01-01T00:00:00+02:00"}
    ]


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+00:00",
        "0001-01-01T00:00:00+23:59",  # a moment before year 1 in UTC
        "1900-01-01T12:00:00+02:00",
        "9999-12-31T23:59:59-23:59",  # a moment after year 9999 in UTC
        "2026-11-26T12:05:01+00:00",  # a second beyond the 5 minutes' tolerance
    ],
)
def test_timestamps_outside_the_desks_years_are_refused_without_error(moment):
    adapter = CHANNELS.get("chat")
    payload = example("chat-anonymous.json")
    payload["submitted_at"] = moment
    payload["conversation"][-1]["sent_at"] = moment
    last = f"conversation[{len(payload['conversation']) - 1}].sent_at"
    assert set(_fields(CHANNELS.problems(adapter, payload, now=NOW))) == {"submitted_at", last}


def test_a_chat_message_time_is_bounded_like_submitted_at():
    adapter = CHANNELS.get("chat")
    payload = example("chat-anonymous.json")
    payload["conversation"][0]["sent_at"] = "2022-12-31T23:59:59+02:00"
    assert CHANNELS.problems(adapter, payload, now=NOW) == [
        {"field": "conversation[0].sent_at", "message": "is before 2023-01-01T00:00:00+02:00"}
    ]


@pytest.mark.parametrize(
    "external_id",
    ["EF-2026/000123", "omaolo:3f2a9c1e-7b1d-4c55-9d0e", "Pyydä apua #12 ÄÖ", "x", "x" * 128],
)
def test_an_external_id_may_be_any_printable_text(external_id):
    payload = _help_request(external_id=external_id)
    assert CHANNELS.problems(CHANNELS.get("help-request"), payload, now=NOW) == []


@pytest.mark.parametrize(
    "external_id",
    [
        "   ",
        " hr-1",
        "hr-1 ",
        "hr-1\n",
        "hr\t1",
        "hr\u00a01",  # no-break space
        "hr\u200b1",  # zero-width space
        "hr\u20281",  # line separator
        "hr\x7f1",
    ],
)
def test_an_external_id_of_blanks_or_invisible_characters_is_refused(external_id):
    payload = _help_request(external_id=external_id)
    assert CHANNELS.problems(CHANNELS.get("help-request"), payload, now=NOW) == [
        {
            "field": "external_id",
            "message": "must be printable characters (the space the only white space), "
            "not beginning or ending with a space",
        }
    ]


def test_a_municipality_added_to_the_reference_data_is_accepted_without_code(tmp_path):
    """The municipalities the API accepts are the reference data's: a new one (here Pernå,
    joining Loviisa's system area) is in the published contract, accepted and routed."""
    data = json.loads(reference.REFERENCE_FILE.read_text(encoding="utf-8"))
    data["municipalities"].append(
        {"code": "pernaja", "name_fi": "Pernaja", "name_sv": "Pernå", "name_en": "Pernaja"}
    )
    data["system_area_memberships"].append(
        {"municipality": "pernaja", "system_area": "loviisa-lapinjarvi", "valid_from": "2023-01-01"}
    )
    path = tmp_path / "reference.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    payload = {**example("omaolo-symptom.json"), "municipality": "pernaja"}
    payload["submitted_at"] = datetime.now(UTC).isoformat()

    def desk(**config):
        return create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'desk.db'}",
                "SECRET_KEY": "t",
                "REDIS_URL": None,
                "DESK_JOBS_INLINE": True,
                **config,
            }
        )

    app = desk(DESK_REFERENCE_FILE=path)
    with app.app_context():
        upgrade()
        reference.load(db.session, app.config["DESK_REFERENCE_FILE"])
        _, secret = tokens.create(db.session, "Omaolo", ["omaolo"])
        db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    as_usual = desk().test_client()
    refused = as_usual.post("/api/v1/inbound/omaolo", headers=headers, json=payload)
    assert refused.status_code == 422
    assert refused.json["problems"][0]["field"] == "municipality"

    client = app.test_client()
    document = client.get("/api/v1/openapi.json").json
    enum = document["components"]["schemas"]["OmaoloDelivery"]["properties"]["municipality"]
    assert "pernaja" in enum["enum"]
    assert client.post("/api/v1/inbound/omaolo", headers=headers, json=payload).status_code == 202
    state = client.get(f"/api/v1/inbound/omaolo/{payload['external_id']}", headers=headers).json
    assert state["queue"] == "omaolo-loviisa-lapinjarvi"
    with app.app_context():
        db.engine.dispose()
