"""Which database a query goes to: the real desk's, or the training space's in a training
request. Flask-SQLAlchemy's session is made with `SpaceSession` (desk.extensions); the request's
space is decided in desk.training.spaces."""

from __future__ import annotations

from flask import g, has_request_context
from flask_sqlalchemy.session import Session as FlaskSession

REAL = "real"
TRAINING = "training"


def current() -> str:
    """The space of this request (the real desk outside requests: jobs, commands)."""
    if has_request_context():
        return g.get("desk_space", REAL)
    return REAL


class SpaceSession(FlaskSession):
    """Flask-SQLAlchemy's session, bound to the training database in training requests."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and current() == TRAINING:
            return self._db.engines[TRAINING]
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
