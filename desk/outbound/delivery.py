"""Delivering the outbox: one signed POST per attempt (Standard Webhooks v1), the contract's
retry schedule, permanent refusals, the order of an item's events, and an endpoint's recovery:
when a receiver that took nothing for a while takes an event again, its other waiting events go
at once instead of at their scheduled times (up to an hour away), and while it fails one of them
is tried every PROBE_EVERY (a probe), so that its return is noticed without new traffic. Plain
Python: the job (desk.tasks.outbound) commits after each attempt."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from .. import metrics
from ..models import EventState, ItemMessage, OutboundEndpoint, OutboxEvent
from . import messages, outbox
from .endpoints import GONE, disable, signing_secrets

#: a 2xx within this long is a success; anything slower is retried
TIMEOUT = 10.0
#: the waits after the 1st, 2nd, … failed attempt; then every LAST_WAIT
SCHEDULE = (5, 30, 120, 600, 1800)
LAST_WAIT = 3600
#: an event that has not succeeded this long after it was made is failed
GIVE_UP = timedelta(hours=24)
#: the most a receiver's Retry-After may hold an item's events back
MAX_RETRY_AFTER = 3600
#: how much of a refusing receiver's answer is kept as the reason
REASON_LIMIT = 500
#: an endpoint without a success this long that takes an event has recovered (its waiting
#: events go at once)
RECOVERY = timedelta(seconds=30)
#: while an endpoint fails and nothing was tried there this long, one waiting event goes (a
#: probe): a returning receiver is noticed within about this long plus a sweep, one request
#: per interval while it is down (a Retry-After quiets it)
PROBE_EVERY = timedelta(seconds=10)


@dataclass(frozen=True)
class Outcome:
    """How one attempt went."""

    status: int | None
    reason: str | None = None
    #: the receiver asked to wait this many seconds (Retry-After)
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """A timeout, a connection error, 408, 429 or 5xx: tried again later."""
        return self.status is None or self.status in (408, 429) or self.status >= 500

    @property
    def gone(self) -> bool:
        return self.status == 410


def headers(event: OutboxEvent, secrets: list[str], now: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers; one signature per secret, space-separated."""
    signatures = " ".join(
        Webhook(secret).sign(event.id, now, event.body.encode()) for secret in secrets
    )
    return {
        "content-type": "application/json",
        "webhook-id": event.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
    }


def retry_after(value: str | None, now: datetime) -> float | None:
    """A Retry-After header in seconds (delta-seconds or an HTTP date); None if absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def post(client: httpx.Client, endpoint: OutboundEndpoint, event: OutboxEvent, now: datetime):
    """One attempt: the event's body, signed now, to the endpoint. Redirects are not followed."""
    try:
        response = client.post(
            endpoint.url,
            content=event.body.encode(),
            headers=headers(event, signing_secrets(endpoint, now), now),
            timeout=TIMEOUT,
            follow_redirects=False,
        )
    except httpx.TimeoutException:
        return Outcome(None, f"no answer within {TIMEOUT:g} s")
    except httpx.HTTPError as error:
        return Outcome(None, f"{type(error).__name__}: {error}"[:REASON_LIMIT])
    if 200 <= response.status_code < 300:
        return Outcome(response.status_code)
    answer = response.text.strip()[:REASON_LIMIT]
    reason = f"{response.status_code} {response.reason_phrase}" + (f": {answer}" if answer else "")
    return Outcome(
        response.status_code, reason, retry_after(response.headers.get("retry-after"), now)
    )


def wait_after(attempts: int, outcome: Outcome, rng: random.Random = random) -> float:
    """Seconds until the next attempt after `attempts` failed ones: the schedule with ±10 %
    jitter (so that a returning receiver is not hit by every desk process at once), or the
    receiver's Retry-After when it gave one."""
    if outcome.retry_after is not None:
        return min(max(outcome.retry_after, 1.0), MAX_RETRY_AFTER)
    base = SCHEDULE[attempts - 1] if attempts <= len(SCHEDULE) else LAST_WAIT
    return base * rng.uniform(0.9, 1.1)


def next_event(session: Session, item_id: int, *, lock: bool) -> OutboxEvent | None:
    """The item's first undelivered event (in the order they were made), locked for this
    attempt: a later event never goes before it. Another worker on the same item waits here
    until this one's attempt is committed."""
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.item_id == item_id, OutboxEvent.state == EventState.PENDING.value)
        .order_by(OutboxEvent.seq)
        .limit(1)
    )
    if lock:
        query = query.with_for_update(of=OutboxEvent)
    return session.scalar(query)


def ready(event: OutboxEvent, now: datetime) -> bool:
    """Whether the event may be attempted now: due, and its endpoint enabled."""
    return event.next_attempt_at <= now and event.endpoint.enabled


def settle(session: Session, event: OutboxEvent, outcome: Outcome, now: datetime) -> None:
    """Record the attempt on the event, its endpoint and its message."""
    endpoint = event.endpoint
    message = session.get(ItemMessage, event.message_id) if event.message_id else None
    event.attempts += 1
    event.last_attempt_at = now
    event.last_status = outcome.status
    event.held_until = None
    if outcome.delivered:
        metrics.OUTBOX_ATTEMPTS.labels("delivered").inc()
        recovered = endpoint.last_success_at is None or now - endpoint.last_success_at >= RECOVERY
        event.state, event.delivered_at, event.last_error = EventState.DELIVERED.value, now, None
        endpoint.last_success_at = now
        if message is not None:
            messages.delivered(message, now)
        if recovered:
            recover(session, endpoint, now, but=event.item_id)
        return
    event.last_error = outcome.reason
    endpoint.last_failure_at, endpoint.last_failure = now, outcome.reason
    if outcome.retryable:
        wait = timedelta(seconds=wait_after(event.attempts, outcome))
        if now + wait <= event.created_at + GIVE_UP:
            event.next_attempt_at = now + wait
            if outcome.retry_after is not None:
                event.held_until = event.next_attempt_at
            metrics.OUTBOX_ATTEMPTS.labels("failed").inc()
            return
        reason = f"no success in 24 hours; the last answer: {outcome.reason}"
    else:
        reason = outcome.reason or "refused"
        if outcome.gone:
            disable(endpoint, f"{GONE} at {now.isoformat()}")
    event.state, event.last_error = EventState.FAILED.value, reason
    metrics.OUTBOX_ATTEMPTS.labels("given_up").inc()
    if message is not None:
        messages.failed(message, reason, now)


def _waiting(endpoint: OutboundEndpoint, now: datetime):
    """The endpoint's events that wait for a later attempt after failing (the first undelivered
    event of an item; those behind it wait for it, not for a time)."""
    return and_(
        OutboxEvent.endpoint_id == endpoint.id,
        OutboxEvent.state == EventState.PENDING.value,
        OutboxEvent.next_attempt_at > now,
    )


def recover(session: Session, endpoint: OutboundEndpoint, now: datetime, *, but: int) -> None:
    """The endpoint took an event after RECOVERY without a success: its waiting events are due
    now, except those its receiver held back with Retry-After, and delivery is woken for their
    items (item `but` is being delivered already). Each item's events still go in order."""
    session.flush()  # this attempt first: two recoveries of one endpoint take turns on its row
    items = session.scalars(
        update(OutboxEvent)
        .where(_waiting(endpoint, now), OutboxEvent.held_until.is_(None))
        .values(next_attempt_at=now)
        .returning(OutboxEvent.item_id)
        .execution_options(synchronize_session="fetch")
    ).all()
    for item_id in sorted(set(items) - {but}):
        outbox.wake(session, item_id)


def probe(session: Session, now: datetime) -> list[int]:
    """Endpoints whose events wait after failures, and where nothing was tried for PROBE_EVERY:
    the waiting event of each that was tried longest ago is due now (a probe; if it goes, the
    endpoint recovers). Not while the receiver holds one of the endpoint's events back with
    Retry-After, nor while one of its retries is due anyway. Returns the probes' items."""
    probed = []
    for endpoint in session.scalars(
        select(OutboundEndpoint).where(OutboundEndpoint.enabled.is_(True))
    ):
        tried = [t for t in (endpoint.last_success_at, endpoint.last_failure_at) if t]
        if not tried or now - max(tried) < PROBE_EVERY:
            continue
        pending = (
            OutboxEvent.endpoint_id == endpoint.id,
            OutboxEvent.state == EventState.PENDING.value,
        )
        held_or_due = or_(
            OutboxEvent.held_until > now,
            and_(OutboxEvent.attempts > 0, OutboxEvent.next_attempt_at <= now),
        )
        if (
            session.scalar(select(OutboxEvent.seq).where(*pending, held_or_due).limit(1))
            is not None
        ):
            continue
        event = session.scalar(
            select(OutboxEvent)
            .where(_waiting(endpoint, now))
            .order_by(OutboxEvent.last_attempt_at, OutboxEvent.seq)
            .limit(1)
        )
        if event is not None:
            event.next_attempt_at = now
            probed.append(event.item_id)
    return probed
