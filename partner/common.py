"""What the partner's views share: its store, its settings and desk client, the clock, and
work done after the answer (receipts to the desk)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app

from . import store as db
from .client import Answer, Desk, Settings, inbound_path, load_settings

HELSINKI = ZoneInfo("Europe/Helsinki")


def now() -> str:
    """The current moment, ISO 8601 in Helsinki time with its offset."""
    return datetime.now(HELSINKI).isoformat(timespec="seconds")


def the_store() -> db.Store:
    """The partner's SQLite store."""
    return current_app.extensions["partner.store"]


def settings() -> tuple[Settings | None, str | None]:
    """The partner's settings, or None and why not."""
    return load_settings(current_app.config["PARTNER_CONFIG"])


def desk() -> Desk | None:
    """A client of the desk's inbound API, or None when the partner is not registered."""
    found, _ = settings()
    return Desk(found, current_app.config["PARTNER_TIMEOUT"]) if found else None


def not_registered() -> Answer:
    """The answer when there is no desk to call."""
    return Answer(None, None, "not registered (no settings file)")


def later(work: Callable[..., None], *args) -> None:
    """Do `work` after this request, in a thread of its own with the app's context, so that
    the answer does not wait for it. A failure is logged, never raised. With
    PARTNER_BACKGROUND false (tests), at once."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        with app.app_context():
            try:
                work(*args)
            except Exception:
                app.logger.exception("partner: background work failed")

    if app.config["PARTNER_BACKGROUND"]:
        threading.Thread(target=run, name="partner-later", daemon=True).start()
    else:
        run()


def send_receipts(channel: str, external_id: str, message_ids: list[str], state: str) -> None:
    """Tell the desk its messages were delivered to or read by the resident. The desk's
    failures are logged: a receipt is optional for a source system."""
    client = desk()
    if client is None or not message_ids:
        return
    for message_id in message_ids:
        answer = client.post(
            inbound_path(channel, external_id, "receipts"),
            {"message_id": message_id, "state": state, "at": now()},
        )
        if not answer.ok:
            current_app.logger.warning(
                "partner: receipt %s of %s refused: %s %s",
                state,
                message_id,
                answer.status,
                answer.error or answer.body,
            )
