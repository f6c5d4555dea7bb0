"""The embedded default: `flask desk init --demo` on a fresh SQLite file gives a working desk."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from desk import create_app
from desk.extensions import db
from desk.models import InboundDelivery, ItemEvent, User, WorkItem

ROOT = Path(__file__).resolve().parents[1]


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
        assert channels == {"chat", "omaolo", "eform", "help-request", "callback"}
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


def test_init_on_a_fresh_checkout_with_the_secret_key_set(tmp_path):
    """Production sets DESK_SECRET_KEY, so nothing writes instance/secret_key; `flask desk
    init` must still find instance/ for the embedded databases (the training one too)."""
    checkout = tmp_path / "checkout"
    for part in ("desk", "migrations"):
        shutil.copytree(ROOT / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DESK_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(DESK_SECRET_KEY="from-the-environment", PYTHONPATH=str(checkout), FLASK_APP="desk")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "desk", "init"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (checkout / "instance" / "desk.db").is_file()
    assert (checkout / "instance" / "training.db").is_file()
    assert not (checkout / "instance" / "secret_key").exists()
