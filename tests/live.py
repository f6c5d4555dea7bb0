"""The real desk served on a free 127.0.0.1 port against PostgreSQL, for browser tests and
screenshots: a migrated database with reference data, known accounts and realistic items."""

from __future__ import annotations

import hashlib
import json
import random
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from desk import demo
from desk.extensions import db
from desk.inbound import intake
from desk.models import InboundDelivery, WorkItem, utcnow
from tests.conftest import _migrated_app, _recreate_pg_database
from tests.factories import CHANNELS, make_user

ACCOUNTS = {
    "hoitaja": dict(
        name="Hanna Hoitaja",
        role="professional",
        language="fi",
        queues=[
            "chat-regional",
            "help-regional",
            "chat-id-porvoo",
            "omaolo-porvoo",
            "health-porvoo",
            "social-porvoo",
        ],
    ),
    "sjukskotare": dict(
        name="Sara Sjöberg",
        role="professional",
        language="sv",
        queues=["chat-regional", "chat-id-porvoo", "omaolo-porvoo"],
    ),
    "kouluttaja": dict(name="Kalle Kouluttaja", role="trainer", language="fi", queues=[]),
    "tarkastaja": dict(name="Tuula Tarkastaja", role="auditor", language="fi", queues=[]),
    "harjoittelija": dict(name="Heikki Harjoittelija", role="trainee", language="fi", queues=[]),
    "tiimivastaava": dict(
        name="Tiina Tiimivastaava",
        role="team_lead",
        language="fi",
        queues=["chat-regional", "omaolo-porvoo", "health-porvoo", "social-porvoo"],
    ),
}


def seed(session: Session, items: int = 60, seed_value: int = 7) -> None:
    """Accounts (password: tests.factories.PASSWORD) and demo deliveries routed to items."""
    for username, spec in ACCOUNTS.items():
        user = make_user(
            session,
            role=spec["role"],
            queues=spec["queues"],
            name=spec["name"],
            language=spec["language"],
        )
        user.username = username
        user.tour_seen_at = utcnow()  # seasoned users: the first-day tour does not open
    rng = random.Random(seed_value)
    for channel, payload in demo.deliveries(rng, utcnow(), items):
        deliver(session, channel, payload)
    session.commit()


def deliver(session: Session, channel: str, payload: dict):
    """Store a delivery as the inbound API would and route it through the real intake."""
    body = json.dumps(payload, sort_keys=True).encode()
    delivery = InboundDelivery(
        id=str(uuid.uuid4()),
        channel=channel,
        external_id=payload["external_id"],
        payload=payload,
        content_hash=hashlib.sha256(body).hexdigest(),
    )
    session.add(delivery)
    session.flush()
    return intake.process(session, delivery, CHANNELS)


def identified_resident(engine) -> str:
    """The personal identity code of a resident of the seeded items."""
    with Session(engine) as s:
        return s.scalar(
            select(WorkItem.personal_id).where(WorkItem.personal_id.is_not(None)).limit(1)
        )


def sample_items(engine) -> dict[str, int]:
    """One item of each channel that "hoitaja" may open."""
    queues = ACCOUNTS["hoitaja"]["queues"]
    with Session(engine) as s:
        return {
            channel: s.scalar(
                select(WorkItem.id)
                .where(WorkItem.channel == channel, WorkItem.queue_code.in_(queues))
                .order_by(WorkItem.id)
                .limit(1)
            )
            for channel in ("chat", "omaolo", "eform", "help-request")
        }


@contextmanager
def serve(database_url: str, tmp_path_factory, **config) -> Iterator[tuple[str, object]]:
    """Recreate the database, seed it, and serve the app (with `config` over the tests'
    settings, e.g. a REDIS_URL for live updates); yields (base URL, engine)."""
    _recreate_pg_database(database_url)
    app = _migrated_app(
        database_url, tmp_path_factory, TESTING=False, DESK_PRESENCE_POLL_SECONDS=1, **config
    )
    with app.app_context():
        seed(db.session)
        engine = db.engine
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}", engine
    finally:
        server.shutdown()
        thread.join(timeout=10)
        if app.extensions.get("desk.courier") is not None:
            app.extensions["desk.courier"].close()  # its delivery thread ends with it
        if app.extensions.get("desk_live") is not None:
            app.extensions["desk_live"].close()  # Redis channels are server-wide: leave none
        engine.dispose()
