"""The synthetic demo deliveries: deterministic, varied and valid by the inbound contract."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from desk.demo import deliveries
from desk.pid import birth_date, problem
from tests.factories import CHANNELS

NOW = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)
MUNICIPALITIES = {"porvoo", "loviisa", "lapinjarvi", "sipoo", "askola", "myrskyla", "pukkila"}
PHONE = re.compile(r"^\+358\d{6,11}$")


@pytest.fixture(scope="module")
def sample() -> list[tuple[str, dict]]:
    return deliveries(random.Random(2026), NOW)


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() is not None, text
    return moment


def _problems(channel: str, payload: dict) -> list[dict[str, str]]:
    """The inbound contract's problems of a delivery, as the desk's API finds them."""
    return CHANNELS.problems(CHANNELS.get(channel), payload, now=NOW)


def test_same_seed_gives_the_same_deliveries():
    first = deliveries(random.Random(11), NOW, 60)
    assert first == deliveries(random.Random(11), NOW, 60)
    assert first != deliveries(random.Random(12), NOW, 60)


def test_every_delivery_keeps_the_contract(sample):
    assert len(sample) == 300
    for channel, payload in sample:
        assert _problems(channel, payload) == [], (channel, payload)
        assert json.loads(json.dumps(payload)) == payload
    ids = [payload["external_id"] for _, payload in sample]
    assert len(set(ids)) == len(ids)


def test_mix_covers_channels_municipalities_and_languages(sample):
    channels = Counter(channel for channel, _ in sample)
    assert set(channels) == {"chat", "omaolo", "eform", "help-request", "callback"}
    # Chat and the phone's callback requests are the two largest channels, a third each.
    assert 85 <= channels["chat"] <= 110 and 85 <= channels["callback"] <= 110
    assert {p["municipality"] for _, p in sample} - {None} == MUNICIPALITIES
    languages = Counter(p["language"] for _, p in sample)
    assert {"fi", "sv"} <= set(languages)
    assert languages["fi"] > languages["sv"] > languages.get("en", 0)


def test_identified_residents_have_valid_test_range_codes(sample):
    identified = [p["resident"] for _, p in sample if p.get("resident", {}).get("identification")]
    strong = [r for r in identified if r["identification"] == "strong"]
    assert strong
    for resident in strong:
        code = resident["personal_id"]
        assert problem(code) is None, code
        assert 900 <= int(code[7:10]) <= 999
        assert 1935 <= birth_date(code).year <= 2006


def test_anonymous_residents_have_no_personal_id(sample):
    anonymous = [p for _, p in sample if p.get("resident", {}).get("identification") != "strong"]
    assert anonymous
    for payload in anonymous:
        assert "personal_id" not in payload.get("resident", {})


def test_submitted_within_four_days_before_now(sample):
    for _, payload in sample:
        assert NOW - timedelta(days=4) <= _when(payload["submitted_at"]) <= NOW


def test_chat_messages_in_time_order_and_not_after_submission(sample):
    chats = [p for channel, p in sample if channel == "chat"]
    for payload in chats:
        times = [_when(m["sent_at"]) for m in payload["conversation"]]
        assert times == sorted(times)
        assert times[-1] <= _when(payload["submitted_at"])


def test_recent_omaolo_assessments_have_deadlines_ahead(sample):
    omaolo = [p for channel, p in sample if channel == "omaolo"]
    recent = [p for p in omaolo if NOW - _when(p["submitted_at"]) < timedelta(hours=2)]
    assert len(recent) == 8
    limits = {"P0": timedelta(minutes=15), "P1": timedelta(hours=2)}
    urgencies = Counter(p["assessment"].get("urgency") for p in recent)
    assert urgencies["P0"] >= 1 and urgencies["P1"] >= 1
    for payload in recent:
        limit = limits.get(payload["assessment"]["urgency"], timedelta(hours=2))
        assert NOW - _when(payload["submitted_at"]) < limit


def test_some_texts_need_escaping(sample):
    texts = json.dumps([p for _, p in sample], ensure_ascii=False)
    assert "<" in texts and ">" in texts and "&" in texts
    assert "😷" in texts or "😟" in texts or "😊" in texts


@pytest.mark.parametrize("count", [0, 1, 5, 20])
def test_small_counts(count):
    made = deliveries(random.Random(3), NOW, count)
    assert len(made) == count
    for channel, payload in made:
        assert _problems(channel, payload) == []
