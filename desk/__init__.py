"""desk: the professional's digital desktop of Itä-Uusimaa's digital social and health centre."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, security headers, CLI."""
    from . import i18n

    app = Flask(__name__, instance_relative_config=True, static_folder="../static")
    app.jinja_environment = i18n.Environment  # templates compiled once per language
    # The embedded default keeps its databases there (the training space's too), also when
    # the secret key comes from the environment and nothing else would create it.
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    from . import config

    app.config.from_mapping(config.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    if problems := config.production_problems(app.config):
        raise RuntimeError(
            "DESK_PRODUCTION=1, and the desk refuses to start:\n"
            + "\n".join(f"- {problem}" for problem in problems)
        )
    from . import ops

    ops.init_app(app)  # /healthz, /readyz, /metrics: before sessions, sign-in and logging
    if hops := app.config.get("DESK_TRUSTED_PROXIES", 0):
        # Behind that many proxies: their X-Forwarded-For, -Proto, -Host and -Port give the client's
        # address (rate limits) and the public URL (links to Keycloak and source systems).
        # Without trusted proxies a client's own such headers are ignored.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    from . import auth, i18n, live, logs, reference, security
    from .channels import Registry
    from .extensions import csrf, db, keep_prepared_statements, migrate
    from .training import spaces
    from .views import guard

    logs.init_app(app)  # the request id and the access line, before any other request hook
    ops.refuse_stale(app)  # shed requests that waited too long, before any work is done
    guard.init_app(app)  # ids and control characters, before any route or other request hook

    training = app.config.get("DESK_TRAINING_DATABASE_URL")
    if training:
        if training == app.config["SQLALCHEMY_DATABASE_URI"]:
            raise RuntimeError("the training space needs a database of its own")
        app.config["SQLALCHEMY_BINDS"] = {spaces.TRAINING: training}
    spaces.init_app(app)  # before anything reads the database in a request
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            keep_prepared_statements(engine)
    migrate.init_app(app, db, directory=str(_project_path("migrations")))
    csrf.init_app(app)
    auth.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    live.init_app(app)
    registry = Registry(
        app.config["DESK_CHANNELS"],
        municipalities=reference.municipality_codes(app.config["DESK_REFERENCE_FILE"]),
        languages=app.config["LANGUAGES"],
    )
    app.extensions["desk.channels"] = registry
    app.extensions["desk.create_app"] = create_app  # the training space's app is made alike
    # Each channel's content template lives in its own folder: channel-<name>/content.html.
    app.jinja_loader = ChoiceLoader(
        [
            app.jinja_loader,
            PrefixLoader(
                {
                    f"channel-{n}": FileSystemLoader(d)
                    for n, d in registry.template_folders().items()
                }
            ),
        ]
    )

    from .views import (
        api,
        audit,
        endpoints,
        errors,
        figures,
        fixed,
        guidance,
        items,
        labels,
        orientation,
        profile,
        reports,
        rows,
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
    app.register_blueprint(orientation.bp)
    app.register_blueprint(endpoints.bp)
    app.register_blueprint(profile.bp)
    situation.init_app(app)
    guidance.init_app(app)
    team.init_app(app)
    training.init_app(app)
    errors.init_app(app)
    labels.init_app(app)
    rows.init_app(app)
    fixed.init_app(app)
    figures.init_app(app)
    orientation.init_app(app)

    from . import cli
    from .tasks import outbound

    outbound.init_app(app)
    cli.init_app(app)
    return app


def _project_path(name: str):
    return Path(__file__).resolve().parent.parent / name
