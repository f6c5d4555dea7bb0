"""Outbound endpoints: where each source system receives the desk's events, and the secrets
the events are signed with (Standard Webhooks: `whsec_` and base64 of 32 random bytes)."""

from __future__ import annotations

import base64
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InvalidEndpoint
from ..models import EventState, OutboundEndpoint, OutboxEvent

#: during a rotation the previous secret signs beside the new one for this long
ROTATION_OVERLAP = timedelta(hours=24)
#: how an endpoint's disabled_reason begins (desk.outbound.delivery writes the first)
GONE = "the receiver answered 410 Gone"
BY_ADMINISTRATOR = "disabled by an administrator"
#: the training space's residents: an endpoint at this address takes each event as it is
#: made, and nothing leaves the desk (a trainee's messages are practice, to nobody)
TRAINING_RESIDENTS = "training:residents"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """The URL, if events may be sent to it: `https`, or `http` on loopback only."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError as error:
        raise InvalidEndpoint(reason="url") from error
    if not parts.hostname or len(url) > 500 or parts.username or parts.password:
        raise InvalidEndpoint(reason="url")
    if parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname)):
        return url
    raise InvalidEndpoint(reason="scheme")


def register(
    session: Session, name: str, url: str, channels: Iterable[str], known: Iterable[str]
) -> tuple[OutboundEndpoint, str]:
    """A new, enabled endpoint and its secret (shown once: the caller prints it)."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise InvalidEndpoint(reason="name")
    if session.scalar(select(OutboundEndpoint.id).where(OutboundEndpoint.name == name)):
        raise InvalidEndpoint(reason="name_taken")
    chosen = sorted(set(channels))
    if not chosen or set(chosen) - set(known):
        raise InvalidEndpoint(reason="channels")
    secret = new_secret()
    endpoint = OutboundEndpoint(
        name=name, url=check_url(url), channels=",".join(chosen), secret=secret, enabled=True
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def training_residents(session: Session, channels: Iterable[str]) -> OutboundEndpoint:
    """The training space's endpoint for every channel (made once; idempotent)."""
    endpoint = session.scalar(
        select(OutboundEndpoint).where(OutboundEndpoint.url == TRAINING_RESIDENTS)
    )
    if endpoint is None:
        endpoint = OutboundEndpoint(
            name="Training residents", url=TRAINING_RESIDENTS, secret=new_secret(), enabled=True
        )
        session.add(endpoint)
    endpoint.channels = ",".join(sorted(set(channels)))
    session.flush()
    return endpoint


def stalled(session: Session, item_id: int) -> bool:
    """Whether some of the item's events wait for an endpoint that is turned off (a 410, or an
    administrator): they go only once it is on again."""
    return (
        session.scalar(
            select(OutboxEvent.seq)
            .join(OutboundEndpoint, OutboundEndpoint.id == OutboxEvent.endpoint_id)
            .where(
                OutboxEvent.item_id == item_id,
                OutboxEvent.state == EventState.PENDING.value,
                OutboundEndpoint.enabled.is_(False),
            )
            .limit(1)
        )
        is not None
    )


def simulated(endpoint: OutboundEndpoint) -> bool:
    """Whether the endpoint is the training space's, where events never leave the desk."""
    return endpoint.url == TRAINING_RESIDENTS


def rotate(endpoint: OutboundEndpoint, now: datetime) -> str:
    """A new secret; the old one keeps signing beside it for ROTATION_OVERLAP."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_until = now + ROTATION_OVERLAP
    endpoint.secret = new_secret()
    return endpoint.secret


def disable(endpoint: OutboundEndpoint, reason: str) -> None:
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:500]


def enable(endpoint: OutboundEndpoint) -> None:
    endpoint.enabled = True
    endpoint.disabled_reason = None


def signing_secrets(endpoint: OutboundEndpoint, now: datetime) -> list[str]:
    """The secrets that sign an attempt now: the current one, and the previous one during a
    rotation's overlap."""
    keys = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_until and now < endpoint.previous_until:
        keys.append(endpoint.previous_secret)
    return keys


#: built once: every item page that may answer asks it
_ENABLED = (
    select(OutboundEndpoint).where(OutboundEndpoint.enabled.is_(True)).order_by(OutboundEndpoint.id)
)


def for_channel(session: Session, channel: str) -> OutboundEndpoint | None:
    """The enabled endpoint that serves `channel` (the oldest, if several claim it)."""
    for endpoint in session.scalars(_ENABLED):
        if channel in endpoint.channel_list:
            return endpoint
    return None


@dataclass(frozen=True)
class Counts:
    """An endpoint's events still to deliver (its backlog) and those that failed."""

    pending: int = 0
    failed: int = 0


def event_counts(session: Session) -> dict[int, Counts]:
    """Each endpoint's backlog and failed events, by endpoint id (absent: none of either)."""
    rows = session.execute(
        select(OutboxEvent.endpoint_id, OutboxEvent.state, func.count())
        .where(OutboxEvent.state.in_([EventState.PENDING.value, EventState.FAILED.value]))
        .group_by(OutboxEvent.endpoint_id, OutboxEvent.state)
    )
    found: dict[int, dict[str, int]] = {}
    for endpoint_id, state, count in rows:
        found.setdefault(endpoint_id, {})[state] = count
    return {
        endpoint_id: Counts(
            pending=states.get(EventState.PENDING.value, 0),
            failed=states.get(EventState.FAILED.value, 0),
        )
        for endpoint_id, states in found.items()
    }


def is_gone(endpoint: OutboundEndpoint) -> bool:
    """Whether the endpoint was disabled because its receiver answered 410 Gone."""
    return not endpoint.enabled and (endpoint.disabled_reason or "").startswith(GONE)
