"""The real desk and the training space: the same app and pages on two databases.

Which one a request uses is decided once, from the signed session, before anything else
(`g.desk_space`); every query of that request then goes to that space's database, the user's
own row included. Training data never shares a database, a cache key or a live channel with
the real desk: isolation is structural, not a filter.
"""

from __future__ import annotations

from flask import Flask, g, session

from ..extensions import db
from .binding import REAL, TRAINING, SpaceSession, current

__all__ = ["REAL", "TRAINING", "SpaceSession", "current"]

#: roles that work only in the training space
TRAINING_ROLES = frozenset({"trainer", "trainee"})


def training_role(user) -> str | None:
    """What the account is in the training space: its role if it works only in training, its
    training role beside a real one, or None (no place in training)."""
    return user.role if user.role in TRAINING_ROLES else user.training_role


def may_switch(user_id: int) -> bool:
    """Whether the account holds both a real role and a training role, and so may move
    between the two spaces. Read from the real database, whatever the request's space."""
    from sqlalchemy.orm import Session

    from ..models import User

    with Session(db.engine) as real:
        user = real.get(User, user_id)
        return bool(
            user is not None
            and user.active
            and user.role not in TRAINING_ROLES
            and user.training_role in TRAINING_ROLES
        )


def enter(space: str) -> None:
    """Remember the space in the session (at sign-in, or when an account with both a real and
    a training role switches); it holds until sign-out or the next switch."""
    session["space"] = space
    g.desk_space = space


def prepare(app: Flask) -> None:
    """Migrate the training database and load the reference data into it (idempotent)."""
    from flask_migrate import upgrade

    from .. import reference
    from ..extensions import channel_registry
    from ..outbound import endpoints

    url = app.config.get("DESK_TRAINING_DATABASE_URL")
    if not url:
        return
    overrides = {
        key: app.config[key]
        for key in ("SECRET_KEY", "REDIS_URL", "DESK_JOBS_INLINE")
        if key in app.config
    }
    # The factory that made this app makes the training space's (create_app).
    training = app.extensions["desk.create_app"](
        {**overrides, "SQLALCHEMY_DATABASE_URI": url, "DESK_TRAINING_DATABASE_URL": None}
    )
    with training.app_context():
        upgrade()
        reference.load(db.session, app.config["DESK_REFERENCE_FILE"])
        _load_starter_pack(db.session)
        # Trainees answer residents too: to the training space's own, who never get it.
        endpoints.training_residents(db.session, channel_registry().names())
        db.session.commit()
        db.engine.dispose()


def _load_starter_pack(session) -> None:
    import json
    from pathlib import Path

    from . import load_pack

    path = Path(__file__).parent.parent / "data" / "training" / "starter_pack.json"
    load_pack(session, json.loads(path.read_text(encoding="utf-8")))


def mirror(user) -> None:
    """The account in the training database as it is in the real one (same id), with every
    queue and municipality of the training space: the training desk knows its users from
    here, and the real desk is never asked inside training."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from ..models import Municipality, Queue, User

    with Session(db.engines[TRAINING]) as training:
        copy = training.get(User, user.id) or User(id=user.id)
        copy.username = user.username
        copy.display_name = user.display_name
        copy.public_name = user.public_name  # what residents see, in practice too
        copy.title_fi, copy.title_sv, copy.title_en = user.title_fi, user.title_sv, user.title_en
        copy.role = training_role(user)
        copy.training_role = None
        copy.language = user.language
        copy.password_hash = None  # nobody signs in to the training database itself
        copy.queues = list(training.scalars(select(Queue)))
        copy.municipalities = list(training.scalars(select(Municipality)))
        training.add(copy)
        training.commit()


def init_app(app: Flask) -> None:
    @app.before_request
    def choose_space() -> None:
        g.desk_space = TRAINING if session.get("space") == TRAINING else REAL

    app.jinja_env.globals["in_training"] = lambda: current() == TRAINING
