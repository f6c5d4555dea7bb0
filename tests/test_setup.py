"""The embedded default: `flask desk init --demo` on a fresh SQLite file gives a working desk."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from desk import create_app
from desk.extensions import db
from desk.models import InboundDelivery, ItemEvent, User, WorkItem


def test_init_demo_on_a_fresh_sqlite_file_is_ready_to_sign_in(tmp_path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'desk.db'}",
            "REDIS_URL": None,
            "DESK_JOBS_INLINE": True,
            "SECRET_KEY": "t",
        }
    )
    app.instance_path = str(tmp_path)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["desk", "init", "--demo", "--items", "120"])
    assert result.exit_code == 0, result.output
    passwords = json.loads((tmp_path / "demo-accounts.json").read_text())
    for role in ("professional", "team_lead", "trainer", "admin"):
        assert role in result.output
    assert passwords["hoitaja"] in result.output

    # Running it again changes nothing and keeps the passwords.
    again = runner.invoke(args=["desk", "init", "--demo"])
    assert again.exit_code == 0 and passwords["hoitaja"] in again.output

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WorkItem)) == 120
        channels = set(db.session.scalars(select(WorkItem.channel).distinct()))
        assert channels == {"chat", "omaolo", "eform", "help-request"}
        assert set(db.session.scalars(select(WorkItem.language).distinct())) >= {"fi", "sv"}
        # Every delivery went through the intake job into exactly one routed item.
        statuses = set(db.session.scalars(select(InboundDelivery.status).distinct()))
        assert statuses == {"routed"}
        routed = db.session.scalar(select(func.count()).where(ItemEvent.kind == "routed"))
        assert routed == 120
        roles = set(db.session.scalars(select(User.role)))
        assert roles == {"professional", "team_lead", "trainer", "admin", "auditor", "trainee"}
        db.engine.dispose()

    client = app.test_client()
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"username": "hoitaja", "password": passwords["hoitaja"], "csrf_token": token},
    )
    assert response.status_code == 302
    assert "Oma työ" in client.get("/work").get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()
