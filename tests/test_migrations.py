"""The models and the migrations describe the same database: what the migrations build on
PostgreSQL is what `desk.models` declares, so neither can drift from the other unseen."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from desk.extensions import db


def test_the_migrated_database_is_what_the_models_declare(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        drift = compare_metadata(context, db.metadata)
    assert drift == [], "run `flask db revision --autogenerate` or fix the model"
