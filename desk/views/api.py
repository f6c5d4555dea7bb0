"""The inbound API of ../shared/contract/inbound.md: source systems deliver work items here.

Bearer tokens per source system; every answer is JSON. A delivery is committed before `202`
is sent, then handed to the intake job; if Redis is down the sweep hands it over later.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from redis.exceptions import RedisError
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from .. import metrics
from ..channels.base import InvalidJson, parse_json
from ..channels.base import problems as problems_of_model
from ..errors import ResidentNotIdentified
from ..extensions import channel_registry, csrf, db
from ..inbound import answers, feedback, tokens
from ..inbound.deadlines import HELSINKI
from ..inbound.openapi import spec
from ..inbound.receive import Receipt, receive
from ..models import InboundDelivery, ItemMessage, WorkItem, utcnow
from ..outbound import messages
from ..security import too_many
from ..tasks.assign import request_dispatch
from ..tasks.inbound import process_delivery, request_drain
from ..work import worklist

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def error(status: int, code: str, message: str | None = None, **extra) -> Response:
    """A JSON error answer."""
    body = {"error": code, **({"message": message} if message else {}), **extra}
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="desk"'
    return response


def _slow_down(wait: int) -> Response:
    response = error(429, "too_many_requests", f"retry after {wait} s")
    response.headers["Retry-After"] = str(wait)
    return response


def _token(channel: str, *, kept: bool = False) -> tokens.Bearer | Response:
    """The active token the request came with, if it may use `channel`; else the answer
    that refuses it (401, 429, 403).

    With `kept` (a delivery, whose insert checks that its token is still active), a token
    this process found active before is not read again; one it would refuse is read afresh
    first, so that a revoked token is refused as unknown."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    secret = secret.strip() if scheme.lower() == "bearer" else ""
    token = tokens.find(db.session, secret, kept=kept)
    if token is None:
        return _unknown_token()
    refusal = None
    if wait := too_many(f"api:token:{token.id}", "api_token"):
        refusal = _slow_down(wait)
    elif channel not in token.channels:
        refusal = error(403, "forbidden", f"this token may not deliver to {channel}")
    if refusal is not None:
        return _token(channel) if kept else refusal
    tokens.touch(db.session, token)
    return token


def _unknown_token() -> Response:
    # Guessing tokens is slowed down per address.
    if wait := too_many(f"api:refused:{request.remote_addr}", "api_refused"):
        return _slow_down(wait)
    return error(401, "unauthorized", "a valid bearer token is required")


def _item_url(item_id: int | None) -> str | None:
    return url_for("items.show", item_id=item_id, _external=True) if item_id else None


def _hand_over(delivery_id: str) -> None:
    # The delivery is already committed: a failure here only delays it until the sweep.
    try:
        if current_app.config["DESK_JOBS_INLINE"]:
            process_delivery(delivery_id)
        else:
            request_drain()
    except RedisError:
        # The outage itself is logged once (desk.tasks); one line per delivery would flood.
        current_app.logger.debug("Redis unavailable; delivery %s left for the sweep", delivery_id)
    except Exception:
        current_app.logger.exception("routing delivery %s failed; left for the sweep", delivery_id)


def _body() -> bytes:
    """The request body; 413 when it is over MAX_CONTENT_LENGTH, also when it came without a
    Content-Length (chunked). werkzeug stops reading such a stream at the limit and returns
    what it read, cut short and sometimes still JSON: one byte more in the server's stream
    tells a body over the limit from one exactly at it."""
    data = request.get_data()
    limit = request.max_content_length
    if (
        request.content_length is None
        and limit is not None
        and len(data) >= limit
        and request.environ["wsgi.input"].read(1)
    ):
        raise RequestEntityTooLarge()
    return data


def _json_object() -> tuple[bytes, dict] | Response:
    """The request's JSON object and its bytes, or the 400 that says why there is none."""
    if request.mimetype != "application/json":
        return error(400, "invalid_json", "the body must be JSON (Content-Type: application/json)")
    try:
        body = _body()
        payload = parse_json(body)
    except InvalidJson as invalid:
        return error(400, "invalid_json", f"the body {invalid}")
    if not isinstance(payload, dict):
        return error(400, "invalid_json", "the body must be a JSON object")
    return body, payload


def _received(channel: str, *, kept: bool = False) -> tuple[tokens.Bearer, bytes, dict] | Response:
    """A POST about `channel`: the token that may send it and the JSON object it carries, or
    the answer that says why not (404 channel, 401/403 token, 400/413 body). `kept`: as for
    `_token`."""
    if channel_registry().get(channel) is None:
        return error(404, "unknown_channel", f"no channel {channel!r}")
    token = _token(channel, kept=kept)
    if isinstance(token, Response):
        return token
    read = _json_object()
    if isinstance(read, Response):
        return read
    return token, *read


@bp.post("/inbound/<channel>")
def deliver(channel: str):
    """Accept one delivery from a source system."""
    registry = channel_registry()
    adapter = registry.get(channel)
    # A token this process knows is not read again: the insert checks that it is active.
    received = _received(channel, kept=True)
    if isinstance(received, Response):
        return received
    token, body, payload = received
    problems = registry.problems(adapter, payload, text=body)
    if problems:
        metrics.DELIVERIES.labels(channel, "invalid").inc()
        return error(422, "invalid", problems=problems)
    received = receive(db.session, adapter, payload, token_id=token.id, source=token.name)
    if received.receipt == Receipt.REVOKED:
        # Revoked since this process kept it: unknown from now on.
        db.session.rollback()
        tokens.forget(token.digest)
        return _unknown_token()
    db.session.commit()
    receipt = received.receipt
    metrics.DELIVERIES.labels(channel, receipt.value).inc()
    if receipt == Receipt.FOREIGN:
        # Another source system's external_id: it cannot be stored again, and nothing of the
        # other system's delivery is told (not its id, nor whether the content matched).
        return error(409, "conflict", "this external_id was received from another source system")
    if receipt == Receipt.CONFLICT:
        return error(
            409,
            "conflict",
            "this external_id was received with other content",
            delivery_id=received.delivery_id,
        )
    if receipt in (Receipt.ACCEPTED, Receipt.UPDATED):
        _hand_over(received.delivery_id)
    body = {
        "status": receipt.value,
        "delivery_id": received.delivery_id,
        "item_url": _item_url(received.item_id),
    }
    return jsonify(body), 202 if receipt == Receipt.ACCEPTED else 200


@bp.get("/inbound/<channel>/<path:external_id>")
def state(channel: str, external_id: str):
    """The processing state of a delivery, for the source system to show the resident."""
    if channel_registry().get(channel) is None:
        return error(404, "unknown_channel", f"no channel {channel!r}")
    token = _token(channel)
    if isinstance(token, Response):
        return token
    delivery = _own_delivery(channel, external_id, token)
    db.session.commit()
    if delivery is None:
        return error(404, "not_found", "no delivery with this external_id")
    item = db.session.get(WorkItem, delivery.item_id) if delivery.item_id else None
    place = worklist.position(db.session, item) if item else None
    wait = worklist.estimated_wait(db.session, item, place, utcnow()) if item else None
    return jsonify(
        {
            "status": delivery.status,
            "item_id": str(item.id) if item else None,
            "queue": item.queue_code if item else None,
            "item_status": item.status if item else None,
            "due_at": item.due_at.astimezone(HELSINKI).isoformat()
            if item and item.due_at
            else None,
            "reason": delivery.reason,
            # For an item nobody has taken yet: its place in the queue and an estimate.
            "position": place,
            "estimated_wait_seconds": wait,
        }
    )


def _own_delivery(channel: str, external_id: str, token: tokens.Bearer) -> InboundDelivery | None:
    """The delivery, if this token's source system made it: another's is as if unknown."""
    return db.session.scalar(
        select(InboundDelivery).where(
            InboundDelivery.channel == channel,
            InboundDelivery.external_id == external_id,
            InboundDelivery.token_id.in_(tokens.source_token_ids(db.session, token)),
        )
    )


def _answer_to(channel: str, external_id: str, model) -> tuple[WorkItem, dict] | Response:
    """For what comes back in about a delivery: its item and the valid payload, or the
    answer that says why not (401/403 token, 404 unknown, 400/422 body)."""
    received = _received(channel)
    if isinstance(received, Response):
        return received
    token, body, payload = received
    if problems := problems_of_model(model, payload, text=body):
        return error(422, "invalid", problems=problems)
    delivery = _own_delivery(channel, external_id, token)
    if delivery is None:
        return error(404, "not_found", "no delivery with this external_id")
    if delivery.item_id is None:
        reason = "was rejected" if delivery.status == "rejected" else "is not routed yet"
        return error(409, "conflict", f"the delivery {reason}: it has no item to answer")
    # The item's row is locked: the resident's answer and a professional's action on the item
    # never interleave (its holder and status are read and changed together).
    item = db.session.scalar(
        select(WorkItem).where(WorkItem.id == delivery.item_id).with_for_update(of=WorkItem)
    )
    return item, payload


@bp.post("/inbound/<channel>/<path:external_id>/messages")
def resident_message(channel: str, external_id: str):
    """The resident's answer outside a chat: added to the item's conversation, and the item
    goes back to whoever works on it."""
    found = _answer_to(channel, external_id, answers.ResidentMessage)
    if isinstance(found, Response):
        return found
    item, payload = found
    answer = messages.Answer(
        message_id=payload["message_id"],
        sent_at=datetime.fromisoformat(payload["sent_at"]),
        text=payload["text"],
        in_reply_to=payload.get("in_reply_to"),
        attachments=payload.get("attachments") or [],
    )
    try:
        _message, new = messages.resident_message(
            db.session, item, channel_registry().get(channel), answer
        )
    except ResidentNotIdentified:
        db.session.rollback()
        return error(409, "not_identified", "the item's resident is not identified")
    db.session.commit()
    if new:
        request_dispatch()  # back in its queue: someone may be given it
        return jsonify({"status": "accepted"}), 202
    return jsonify({"status": "duplicate"}), 200


@bp.post("/inbound/<channel>/<path:external_id>/receipts")
def receipt(channel: str, external_id: str):
    """The source system reports the desk's message delivered to or read by the resident."""
    found = _answer_to(channel, external_id, answers.MessageReceipt)
    if isinstance(found, Response):
        return found
    item, payload = found
    message = db.session.get(ItemMessage, payload["message_id"])
    if message is None or message.item_id != item.id or not message.outgoing:
        db.session.rollback()
        return error(404, "not_found", "no message of the desk with this message_id here")
    changed = messages.receipt(message, payload["state"], datetime.fromisoformat(payload["at"]))
    db.session.commit()
    return jsonify({"status": "accepted" if changed else "duplicate"}), 202 if changed else 200


@bp.post("/inbound/<channel>/<path:external_id>/feedback")
def resident_feedback(channel: str, external_id: str):
    """The resident's answer to the satisfaction question after the matter ended."""
    found = _answer_to(channel, external_id, answers.Feedback)
    if isinstance(found, Response):
        return found
    item, payload = found
    try:
        _answer, new = feedback.record(db.session, item, payload)
    except feedback.NotResolved:
        db.session.rollback()
        return error(409, "not_resolved", "the item is not resolved yet: ask after it ends")
    db.session.commit()
    return jsonify({"status": "accepted" if new else "duplicate"}), 202 if new else 200


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 description of the inbound API."""
    return jsonify(
        spec(url_for("api.openapi", _external=True).rsplit("/api/v1", 1)[0], channel_registry())
    )
