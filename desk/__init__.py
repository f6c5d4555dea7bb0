"""desk: the professional's digital desktop of Itä-Uusimaa's digital social and health centre."""

from __future__ import annotations

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, security headers, CLI."""
    app = Flask(__name__, instance_relative_config=True, static_folder="../static")
    from . import config

    app.config.from_mapping(config.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)

    from . import auth, channels, i18n, live, security, spaces
    from .extensions import csrf, db, migrate

    training = app.config.get("DESK_TRAINING_DATABASE_URL")
    if training:
        if training == app.config["SQLALCHEMY_DATABASE_URI"]:
            raise RuntimeError("the training space needs a database of its own")
        app.config["SQLALCHEMY_BINDS"] = {spaces.TRAINING: training}
    spaces.init_app(app)  # before anything reads the database in a request
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_project_path("migrations")))
    csrf.init_app(app)
    auth.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    live.init_app(app)
    channels.configure(app.config["DESK_CHANNELS"])

    from .views import (
        api,
        audit,
        errors,
        guidance,
        items,
        labels,
        reports,
        search,
        situation,
        team,
        training,
        work,
    )
    from .views import auth as auth_views
    from .views import live as live_views

    app.register_blueprint(api.bp)
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(work.bp)
    app.register_blueprint(items.bp)
    app.register_blueprint(live_views.bp)
    app.register_blueprint(situation.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(guidance.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(team.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(training.bp)
    situation.init_app(app)
    guidance.init_app(app)
    team.init_app(app)
    training.init_app(app)
    errors.init_app(app)
    labels.init_app(app)

    from . import cli

    cli.init_app(app)
    return app


def _project_path(name: str):
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / name
