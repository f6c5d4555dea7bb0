"""The simulator posts a realistic, valid mix to the live desk: every delivery is accepted."""

from __future__ import annotations

import random
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk.demo import simulate
from desk.inbound import tokens
from desk.models import InboundDelivery, WorkItem, utcnow


def test_the_mix_is_mostly_chat_with_under_a_tenth_omaolo_and_repeats_and_growing_chats():
    stream = simulate.events(random.Random(3), utcnow)
    sample = [next(stream) for _ in range(2000)]
    channels = Counter(channel for channel, _ in sample)
    assert channels["chat"] / len(sample) > 0.3 and channels["callback"] / len(sample) > 0.25
    assert channels["omaolo"] / len(sample) < 0.1
    ids = Counter((channel, payload["external_id"]) for channel, payload in sample)
    assert sum(n - 1 for n in ids.values()) > 100  # repeats and grown chats
    languages = Counter(payload.get("language", "fi") for _, payload in sample)
    assert languages["fi"] and languages["sv"]


def test_a_simulated_minute_reaches_the_live_desk_without_a_refusal(live):
    url, engine = live
    with Session(engine) as s:
        _, secret = tokens.create(
            s, "Simulator", ["chat", "omaolo", "eform", "help-request", "callback"]
        )
        s.commit()
        before = s.scalar(select(func.count()).select_from(InboundDelivery))
    reports = []
    results = simulate.run(
        url, secret, rate=40, minutes=0.05, seed=11, clock=utcnow, report=reports.append
    )
    assert sum(results.values()) >= 100
    assert set(results) <= {200, 202}, results  # accepted, duplicate or updated: never refused
    with Session(engine) as s:
        received = s.scalar(select(func.count()).select_from(InboundDelivery)) - before
        assert received == results[202]
        items = s.scalar(
            select(func.count()).select_from(WorkItem).where(WorkItem.external_id.like("sim-%"))
        )
        assert items == received
