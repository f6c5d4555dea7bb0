"""The webhook receiver: the desk's events (outbound.md), verified as Standard Webhooks and
stored once per webhook-id."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, current_app, jsonify, request
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from . import store as db
from .common import later, now, send_receipts, settings, the_store

bp = Blueprint("events", __name__)

KINDS = ("reply", "message", "request-for-information")


class BadEvent(ValueError):
    """A signed event that does not have what its type needs."""


def _refuse(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _text(data: dict, name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadEvent(f"data.{name} must be a non-empty string")
    return value


@bp.post("/desk-events")
def receive():
    """Receive one event of the desk: 401 unless the signature is right, 204 once stored (or
    already stored, or of a type the partner does not know)."""
    found, why = settings()
    if found is None:
        return _refuse(503, f"the partner is not registered ({why})")
    try:
        hook = Webhook(found.secret)
    except Exception:  # a secret that is not whsec_ and base64
        current_app.logger.error("partner: the webhook secret in the settings is not valid")
        return _refuse(503, "the partner's webhook secret is not valid")
    body = request.get_data()
    try:
        event = hook.verify(body, dict(request.headers))
    except WebhookVerificationError:
        return _refuse(401, "signature not verified")
    except ValueError:
        return _refuse(400, "the body is not JSON")
    if not isinstance(event, dict):
        return _refuse(400, "the body is not a JSON object")
    webhook_id = request.headers["webhook-id"]
    delivered: tuple[str, str, str] | None = None
    try:
        with the_store().connect(write=True) as conn:
            if not db.add_event(conn, webhook_id, event.get("type"), body, now()):
                return Response(status=204)
            delivered = _handle(conn, event)
    except BadEvent as bad:
        # Nothing was stored: the transaction is rolled back with the event's row.
        return _refuse(400, str(bad))
    if delivered:
        later(send_receipts, delivered[0], delivered[1], [delivered[2]], "delivered")
    return Response(status=204)


def _handle(conn, event: dict) -> tuple[str, str, str] | None:
    """Apply one new event; (channel, external_id, message_id) of a new message to receipt."""
    kind = event.get("type")
    if kind not in ("message.created", "conversation.closed", "item.updated"):
        return None
    data = event.get("data")
    if not isinstance(data, dict):
        raise BadEvent("data must be an object")
    channel, external_id = _text(data, "channel"), _text(data, "external_id")
    db.ensure_matter(conn, channel, external_id, data.get("language"), now())
    if kind == "message.created":
        return _message(conn, channel, external_id, data)
    if kind == "conversation.closed":
        db.update_matter(
            conn,
            channel,
            external_id,
            closed_at=_text(data, "at", required=False) or now(),
            closing_text=data.get("text") if isinstance(data.get("text"), str) else None,
        )
        return None
    db.update_matter(
        conn,
        channel,
        external_id,
        **{
            name: data.get(name) if isinstance(data.get(name), str) else None
            for name in ("item_id", "item_status", "queue", "due_at")
        },
        updated_at=_text(data, "at", required=False) or now(),
    )
    return None


def _message(conn, channel: str, external_id: str, data: dict) -> tuple[str, str, str] | None:
    message_id = _text(data, "message_id")
    kind = data.get("kind") if data.get("kind") in KINDS else "message"
    links = [
        {"title": str(link.get("title") or link.get("url")), "url": str(link["url"])}
        for link in data.get("links") or []
        if isinstance(link, dict) and isinstance(link.get("url"), str)
    ]
    sender = data.get("sender") if isinstance(data.get("sender"), dict) else {}
    sent_at = _text(data, "sent_at")
    try:
        aware = datetime.fromisoformat(sent_at).utcoffset() is not None
    except ValueError:
        aware = False
    if not aware:
        raise BadEvent("data.sent_at must be ISO 8601 with a UTC offset")
    seq = db.append_message(
        conn,
        channel,
        external_id,
        sender="professional",
        text=_text(data, "text"),
        sent_at=sent_at,
        received_at=now(),
        message_id=message_id,
        kind=kind,
        links=links,
        display_name=sender.get("display_name"),
        title=sender.get("title"),
        reply_by=data.get("reply_by") if isinstance(data.get("reply_by"), str) else None,
    )
    if seq is None:
        return None  # the same message under another event id: already stored
    return channel, external_id, message_id
