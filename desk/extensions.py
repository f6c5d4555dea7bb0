"""Flask extensions, created unbound and bound to the app in `create_app`."""

from flask import current_app
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, event

from .channels import Registry
from .models import Base
from .training.binding import SpaceSession

db = SQLAlchemy(model_class=Base, session_options={"class_": SpaceSession})
migrate = Migrate()
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()


@event.listens_for(Engine, "connect")
def _short_queries_on_postgresql(dbapi_connection, connection_record) -> None:
    """The desk's queries are short: compiling them (JIT) costs more than it saves, and on
    PostgreSQL it kicks in by cost estimate alone, adding tens of milliseconds to a page."""
    if type(dbapi_connection).__module__.startswith("psycopg"):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()


def channel_registry() -> Registry:
    """The channels in use by the current app (built from DESK_CHANNELS in create_app)."""
    return current_app.extensions["desk.channels"]
