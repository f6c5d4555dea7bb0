"""Adding a channel is a new adapter module, a line of configuration and routing data."""

from __future__ import annotations

from datetime import date

from flask_migrate import upgrade

from desk import channels, create_app, reference, tokens
from desk.extensions import db
from desk.models import Queue, RoutingRule


def test_a_fifth_channel_needs_a_module_configuration_and_data(tmp_path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'desk.db'}",
            "SECRET_KEY": "t",
            "REDIS_URL": None,
            "DESK_JOBS_INLINE": True,
            "DESK_CHANNELS": [*channels.DEFAULT_CHANNELS, "tests.teleq_channel"],
        }
    )
    try:
        with app.app_context():
            upgrade()
            reference.load(db.session)
            db.session.add(
                Queue(
                    code="callback-regional",
                    kind="callback-regional",
                    service_area_code="health",
                    name_fi="Takaisinsoitot",
                    name_sv="Återuppringningar",
                    name_en="Callbacks",
                )
            )
            db.session.add(
                RoutingRule(
                    position=90,
                    channel="teleq",
                    queue_kind="callback-regional",
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
        assert state["queue"] == "callback-regional"
        assert state["due_at"] == "2026-11-25T16:00:00+02:00"
        with app.app_context():
            db.engine.dispose()
    finally:
        channels.configure()
