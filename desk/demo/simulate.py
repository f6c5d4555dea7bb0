"""A living desk for demos and load tests: realistic deliveries posted over HTTP at a rate.

Most traffic is chat and phone callbacks, and under a tenth Omaolo; some deliveries are
repeated (as a source system retrying would) and some chats grow after they were first sent.
Plain Python.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from . import deliveries

# The phone is the largest channel: a third of what arrives is a callback request.
MIX = {"chat": 0.4, "callback": 0.33, "eform": 0.11, "help-request": 0.1, "omaolo": 0.06}
REPEAT = 0.03  # share of events that resend an earlier delivery unchanged
GROW = 0.10  # share of events that resend an earlier chat with more messages
POOL = 600


def restamp(payload: dict, now: datetime, external_id: str) -> dict:
    """A copy of `payload` sent now, under a new external id, its times moved alike."""
    fresh = copy.deepcopy(payload)
    shift = now - datetime.fromisoformat(payload["submitted_at"])
    fresh["external_id"] = external_id
    fresh["submitted_at"] = (datetime.fromisoformat(payload["submitted_at"]) + shift).isoformat()
    for message in fresh.get("conversation", []):
        message["sent_at"] = (datetime.fromisoformat(message["sent_at"]) + shift).isoformat()
    # A callback's window is office hours of the day it was asked on; moved, it may not be.
    fresh.get("callback", {}).pop("window", None)
    return fresh


def grow(payload: dict, rng: random.Random, now: datetime) -> dict:
    """The same chat a moment later, with the resident and the bot having written more."""
    grown = copy.deepcopy(payload)
    last = max(datetime.fromisoformat(m["sent_at"]) for m in grown["conversation"])
    moment = max(last, now)
    lines = {
        "fi": ["Vielä yksi kysymys.", "Kiitos, odotan vastausta."],
        "sv": ["En fråga till.", "Tack, jag väntar på svar."],
        "en": ["One more question.", "Thank you, I will wait for an answer."],
    }
    language = grown.get("language", "fi")
    for n in range(rng.randint(1, 2)):
        grown["conversation"].append(
            {
                "sender": "resident",
                "sent_at": (moment + timedelta(seconds=n + 1)).isoformat(),
                "text": rng.choice(lines.get(language, lines["fi"])),
            }
        )
    return grown


def events(
    rng: random.Random, clock: Callable[[], datetime], channels: Collection[str] = tuple(MIX)
) -> Iterator[tuple[str, dict]]:
    """An endless stream of (channel, payload) in the simulator's mix, of the `channels` in
    use (the desk's registry names them)."""
    mix = {channel: share for channel, share in MIX.items() if channel in channels}
    pool: dict[str, list[dict]] = {}
    for channel, payload in deliveries(rng, clock(), POOL):
        pool.setdefault(channel, []).append(payload)
    # The latest version of what was sent: a repeat resends it as it is now, so a retried chat
    # is never older than what the desk already has.
    latest: dict[str, tuple[str, dict]] = {}
    recent: list[str] = []
    chats: list[str] = []
    while True:
        roll = rng.random()
        if recent and roll < REPEAT:
            yield latest[rng.choice(recent)]
            continue
        if chats and roll < REPEAT + GROW:
            key = rng.choice(chats)
            latest[key] = ("chat", grow(latest[key][1], rng, clock()))
            yield latest[key]
            continue
        channel = rng.choices(list(mix), weights=list(mix.values()))[0]
        template = rng.choice(pool[channel])
        key = f"sim-{uuid.UUID(int=rng.getrandbits(128))}"
        latest[key] = (channel, restamp(template, clock(), key))
        recent.append(key)
        if channel == "chat":
            chats.append(key)
        if len(recent) > 500:
            gone = recent.pop(0)
            latest.pop(gone, None)
            if gone in chats:
                chats.remove(gone)
        yield latest[key]


def post(url: str, token: str, channel: str, payload: dict, timeout: float = 10) -> int:
    """POST one delivery; the HTTP status, or 0 when the desk could not be reached."""
    if not url.startswith(("http://", "https://")):
        raise ValueError("the desk's URL must be http:// or https://")
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        f"{url.rstrip('/')}/api/v1/inbound/{channel}",
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        return 0


def _wait_for(url: str, seconds: float = 60) -> None:
    # Started together with the desk (make run SIMULATE=…), give it time to come up.
    deadline = time.monotonic() + seconds
    probe = f"{url.rstrip('/')}/api/v1/openapi.json"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(probe, timeout=2):  # noqa: S310 (scheme checked in run)
                return
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            time.sleep(0.5)


def run(
    url: str,
    token: str,
    rate: float,
    minutes: float,
    *,
    seed: int | None = None,
    clock: Callable[[], datetime],
    report: Callable[[Counter], None],
    channels: Collection[str] = tuple(MIX),
) -> Counter:
    """Post `rate` deliveries a second for `minutes`; returns the count of each status."""
    if not url.startswith(("http://", "https://")):
        raise ValueError("the desk's URL must be http:// or https://")
    _wait_for(url)
    rng = random.Random(seed)
    stream = events(rng, clock, channels)
    results: Counter = Counter()
    lock = threading.Lock()

    def send(channel: str, payload: dict) -> None:
        status = post(url, token, channel, payload)
        with lock:
            results[status] += 1

    interval = 1 / rate
    start = time.monotonic()
    end = start + minutes * 60
    next_report = start + 10
    # One sending thread per lane, and a delivery always in the same lane: versions of a growing
    # chat arrive in the order they were written, as from a real source system.
    lanes = [ThreadPoolExecutor(max_workers=1) for _ in range(min(64, max(4, int(rate))))]
    try:
        n = 0
        while (due := start + n * interval) < end:
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            channel, payload = next(stream)
            lane = lanes[hash((channel, payload["external_id"])) % len(lanes)]
            lane.submit(send, channel, payload)
            n += 1
            if time.monotonic() >= next_report:
                with lock:
                    report(Counter(results))
                next_report += 10
    finally:
        for lane in lanes:
            lane.shutdown(wait=True)
    report(results)
    return results
