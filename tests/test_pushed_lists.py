"""My work's lists pushed to open pages (issue 21): rendered once per change of a view's
queues for everyone who sees the same, pushed by the live stream with each page's own CSRF
token, and never rendered per page or per change in a burst."""

from __future__ import annotations

import itertools
import json
import queue
import re
import time

from redis import Redis

from desk import live
from desk.extensions import db
from desk.live import Broadcaster, Pushed
from desk.models import WorkItem
from desk.views.work import shorten
from desk.work import lifecycle
from tests.factories import make_item, make_user
from tests.test_live import _subscribed
from tests.web import Browser, text

REFRESH = {"HX-Request": "true", "X-Desk-Background": "1"}


def _publish(redis_url: str, queues: list[str], places: list | None = None) -> None:
    redis = Redis.from_url(redis_url)
    message = {"queues": queues} | ({"places": places} if places is not None else {})
    redis.publish(live.CHANNEL, json.dumps(message))
    redis.close()


def _pushes(page: queue.Queue, seconds: float) -> list[str]:
    """The lists pushed to `page` within `seconds` (its changes left aside)."""
    got, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = page.get(timeout=left)
        except queue.Empty:
            break
        if isinstance(message, tuple) and message[0] == "lists":
            got.append(message[1])
    return got


def test_a_burst_of_changes_renders_each_view_at_most_twice_a_second_and_never_drops_the_last(
    redis_url,
):
    renderings = {"porvoo": 0, "sipoo": 0}

    def render(view: str):
        def go() -> str:
            renderings[view] += 1
            return json.dumps({"view": view, "n": renderings[view], "token": live.CSRF_PLACEHOLDER})

        return go

    hub = Broadcaster(redis_url)
    porvoo = [
        hub.listen(Pushed(("porvoo",), frozenset({"q-porvoo"}), render("porvoo"), f"t{n}"))
        for n in range(3)
    ]
    sipoo = hub.listen(Pushed(("sipoo",), frozenset({"q-sipoo"}), render("sipoo"), "ts"))
    plain = hub.listen()  # a page that has nothing pushed
    try:
        _subscribed(redis_url, hub)
        started = time.monotonic()
        for _ in range(20):  # 20 changes of one queue within about a second
            _publish(redis_url, ["q-porvoo"])
            time.sleep(0.05)
        received = [_pushes(page, 1.5) for page in porvoo]
        took = time.monotonic() - started
    finally:
        hub.close()
    # One rendering per half second at most, shared by the three pages of the view...
    assert 1 < renderings["porvoo"] <= took / live.PUSH_SECONDS + 1
    assert renderings["sipoo"] == 0, "a view whose queues did not change renders nothing"
    for n, pushes in enumerate(received):
        assert len(pushes) == renderings["porvoo"]
        # ...each with the page's own token, and the last rendering came after the last change.
        assert [json.loads(p)["token"] for p in pushes] == [f"t{n}"] * len(pushes)
        assert json.loads(pushes[-1])["n"] == renderings["porvoo"]
    assert _pushes(sipoo, 0.1) == [] and _pushes(plain, 0.1) == []
    for page in (*porvoo, sipoo, plain):
        hub.leave(page)
    assert hub.views == {} and hub.listeners == set(), "the pages left: nothing is kept"


def test_a_change_renders_again_only_the_views_of_its_municipality(redis_url):
    """A change names the municipalities it happened in, per queue (null: an item of none):
    a view of the same queue but other municipalities is not rendered for it. A change that
    names no municipality for a queue renders every view of the queue."""
    renderings: list[str] = []

    def render(view: str):
        return lambda: renderings.append(view) or {"view": view}

    hub = Broadcaster(redis_url)
    hub.push_seconds = 0.1
    views = {
        "porvoo": frozenset({"porvoo", None}),
        "sipoo": frozenset({"sipoo", None}),
        "any": None,  # any municipality (an admin's)
    }
    for name, municipalities in views.items():
        hub.listen(
            Pushed((name,), frozenset({"q"}), render(name), "t", municipalities=municipalities)
        )
    try:
        _subscribed(redis_url, hub)

        def rendered_after(*change) -> list[str]:
            renderings.clear()
            _publish(redis_url, *change)
            time.sleep(0.6)
            return sorted(renderings)

        assert rendered_after(["q"], [["q", "porvoo"]]) == ["any", "porvoo"]
        assert rendered_after(["q"], [["q", None]]) == ["any", "porvoo", "sipoo"]
        assert rendered_after(["q"], [["q", "loviisa"], ["q", "sipoo"]]) == ["any", "sipoo"]
        assert rendered_after(["q"]) == ["any", "porvoo", "sipoo"], "no places: the queue"
        assert rendered_after(["other"], [["other", "porvoo"]]) == [], "another queue"
    finally:
        hub.close()


def test_a_view_nothing_changes_is_pushed_again_as_its_times_move_on(redis_url):
    """Its rows' times (how long waited, time left) move on without a change: the stream
    renders each view at least once a `refresh_seconds` and pushes it to its pages, so
    that the pages need not each ask; not at once for a view whose pages were just drawn."""
    renderings = []

    def render() -> dict:
        renderings.append(time.monotonic())
        return {"n": len(renderings), "token": live.CSRF_PLACEHOLDER}

    hub = Broadcaster(redis_url)
    hub.push_seconds, hub.refresh_seconds = 0.1, 0.8
    opened = time.monotonic()
    pages = [hub.listen(Pushed(("v",), frozenset({"q"}), render, f"t{n}")) for n in (1, 2)]
    try:
        early = [_pushes(page, 0.3) for page in pages]  # within 0.6 s of their drawing
        later = [_pushes(page, 1.5) for page in pages]
    finally:
        hub.close()
    assert early == [[], []], "the pages were just drawn: nothing is due yet"
    # Again and again, each a refresh_seconds after the one before, and no more often.
    assert len(renderings) >= 2 and renderings[0] - opened >= 0.8
    assert all(0.8 <= b - a < 1.6 for a, b in itertools.pairwise([opened, *renderings]))
    for n, pushes in enumerate(later, start=1):
        assert pushes, "each page was pushed the view again"
        assert [json.loads(p) for p in pushes] == [
            {"n": k, "token": f"t{n}"} for k in range(1, len(pushes) + 1)
        ]


#: a row that may be taken, with its name, as desk.js finds it (`ROW`)
PUSHED_ROW = re.compile(r'<tr [^>]*data-row="([0-9a-f]+)"[^>]*>.*?</tr>\n?', re.DOTALL)


def _as_the_page_has_it(pushes: list[str]) -> dict:
    """The last of `pushes` with the rows it names put back from those before, as desk.js
    does."""
    rows: dict[str, str] = {}
    for push in pushes:
        lists = json.loads(push)
        for part in ("emergencies", "waiting"):
            lists[part] = re.sub(r"<!--row:(\w+)-->", lambda m, rows=rows: rows[m[1]], lists[part])
        rows = {
            m[1]: m[0]
            for part in ("emergencies", "waiting")
            for m in PUSHED_ROW.finditer(lists[part])
        }
    return lists


def _row(name: str, title: str) -> str:
    return (
        f'<tr class="" data-item-row data-row="{name}"><td>{title}</td><td><form>'
        f'<input type="hidden" name="csrf_token" value="{live.CSRF_PLACEHOLDER}">'
        "</form></td></tr>\n"
    )


def test_a_push_names_the_rows_its_pages_have_and_carries_only_the_new_ones(redis_url):
    """After the first push of a view, a row its pages were pushed last time is sent as its
    name alone; a new or changed row is sent whole, with each page's own token."""
    renderings = [
        [_row("aaaaaaaaaaaa", "Pysyy"), _row("bbbbbbbbbbbb", "Otetaan")],
        [_row("aaaaaaaaaaaa", "Pysyy"), _row("cccccccccccc", "Uusi")],
    ]

    def render() -> str:
        rows = renderings.pop(0)
        return json.dumps(
            {"emergencies": '<div id="work-emergencies"></div>', "waiting": "".join(rows)}
        )

    hub = Broadcaster(redis_url)
    pages = [hub.listen(Pushed(("v",), frozenset({"q"}), render, f"t{n}", shorten)) for n in (1, 2)]
    try:
        _subscribed(redis_url, hub)
        _publish(redis_url, ["q"])
        first = [_pushes(page, 1.0) for page in pages]
        _publish(redis_url, ["q"])
        second = [_pushes(page, 1.0) for page in pages]
    finally:
        hub.close()
    assert [len(p) for p in first + second] == [1, 1, 1, 1]
    for n, (was, now) in enumerate(zip(first, second, strict=True), start=1):
        was, now = json.loads(was[0])["waiting"], json.loads(now[0])["waiting"]
        # The first push is whole; the second names the row that stayed and carries the new.
        assert "Pysyy" in was and "Otetaan" in was and "<!--row:" not in was
        assert now.startswith("<!--row:aaaaaaaaaaaa-->") and "Pysyy" not in now
        assert "Uusi" in now and "Otetaan" not in now
        assert f'value="t{n}"' in now and live.CSRF_PLACEHOLDER not in now


def test_the_lists_are_shared_by_the_same_view_and_each_take_button_is_the_pages_own(
    app, committed, redis_url, monkeypatch
):
    monkeypatch.setattr(live, "_window", lambda: 1)  # all within one window of time
    with app.app_context():
        first = make_user(db.session, queues=["chat-regional", "omaolo-porvoo"])
        second = make_user(db.session, queues=["chat-regional", "omaolo-porvoo"])
        other = make_user(db.session, queues=["social-sipoo"])
        chat = make_item(db.session, queue="chat-regional", title="Jaettu rivi")
        make_item(db.session, queue="social-sipoo", title="Toisen jono")
        db.session.commit()
        users, chat_id = (first, second, other), chat.id
        for user in users:
            user.username  # noqa: B018 (loaded before the session goes)
    app.config.update(REDIS_URL=redis_url)
    app.extensions["desk_live"] = Broadcaster(redis_url)  # the pages open the live stream
    redis = Redis.from_url(redis_url)
    try:
        pages = [Browser(app.test_client()).login(u) for u in users]
        redis.delete(*redis.keys("desk:fragment:*"))
        mine = [text(p.get("/work")) for p in pages[:2]]
        assert len(redis.keys("desk:fragment:*")) == 1, "one rendering for the same view"
        assert all("Jaettu rivi" in page for page in mine)
        tokens = [re.search(r'name="csrf-token" content="([^"]+)"', p).group(1) for p in mine]
        in_rows = [
            set(re.findall(r'action="/items/\d+/take"><input [^>]*value="([^"]+)"', p))
            for p in mine
        ]
        assert in_rows == [{tokens[0]}, {tokens[1]}] and tokens[0] != tokens[1]
        assert "<desk-csrf-token>" not in mine[0]
        # The second person takes with the button of their shared rows.
        taken = pages[1].post(
            f"/items/{chat_id}/take", data={"csrf_token": tokens[1], "back": "work"}
        )
        assert taken.status_code in (200, 302)
        # The take changed chat-regional: the first person's lists render again.
        after = text(pages[0].get("/work", headers=REFRESH))
        assert "Jaettu rivi" not in after.split('id="held-heading"')[1]
        assert len(redis.keys("desk:fragment:*")) == 2
        # "Items I hold" is the person's own: fetched alone, when named and every minute;
        # the lists of what waits are pushed, so the whole is fetched only now and then.
        page = text(pages[1].get("/work"))
        lists = re.search(r'<div id="work-lists"[^>]*>', page).group(0)
        assert 'hx-trigger="desk-change, every 300s"' in lists and "data-live-people" not in lists
        held = re.search(r'<div id="work-held"[^>]*>', page).group(0)
        assert 'hx-get="/work/held"' in held and 'hx-trigger="desk-change, every 60s"' in held
        assert f'data-live-people="{users[1].id}"' in held
        fragment = text(pages[1].get("/work/held", headers=REFRESH))
        assert fragment.lstrip().startswith('<div id="work-held"') and "<html" not in fragment
        assert "Jaettu rivi" in fragment and 'id="available-heading"' not in fragment
        assert "Jaettu rivi" not in text(pages[0].get("/work/held", headers=REFRESH))
        assert pages[1].get("/work/held").headers["Location"].endswith("/work")
        # Another view renders its own; a change in a queue it does not show leaves it be.
        assert "Toisen jono" in text(pages[2].get("/work"))
        assert "Jaettu rivi" not in text(pages[2].get("/work"))
        assert len(redis.keys("desk:fragment:*")) == 3
    finally:
        app.config.update(REDIS_URL=None)
        app.extensions["desk_live"] = None
        redis.close()


def test_the_stream_pushes_my_lists_as_they_change(app, committed, redis_url):
    """The stream as production serves it (one gevent worker): a My work page that names its
    view gets its lists pushed after a change in its queues, as the page itself would show
    them, with its own CSRF token; a page of another view gets nothing."""
    from bench.live import Pages, sign_in, stream_server
    from tests.conftest import PG_URL
    from tests.factories import PASSWORD

    with app.app_context():
        nurse = make_user(db.session, queues=["chat-regional"])
        other = make_user(db.session, queues=["social-sipoo"])
        colleague = make_user(db.session, queues=["chat-regional"])
        item = make_item(db.session, queue="chat-regional", title="Työnnetty rivi")
        own = make_item(db.session, queue="chat-regional", title="Hoitajan oma")
        db.session.commit()
        names, item_id, own_id = (nurse.username, other.username), item.id, own.id
        nurse_id = nurse.id
        db.session.remove()

    with stream_server(PG_URL, redis_url, 5090, "test-secret") as base:
        cookies = [sign_in(base, name, PASSWORD) for name in names]
        mine = Pages(base, cookies[0], 3, path="/events?view=work")
        theirs = Pages(base, cookies[1], 1, path="/events?view=work")
        plain = Pages(base, cookies[0], 1)
        for pages in (mine, theirs, plain):
            pages.open(timeout=30)
        try:
            app.config.update(REDIS_URL=redis_url)
            try:
                with app.app_context():
                    item = db.session.get(WorkItem, item_id)
                    lifecycle.take(db.session, item, db.session.merge(colleague))
                    db.session.commit()
                    lifecycle.release(db.session, item, db.session.merge(colleague))
                    db.session.commit()
                    # The nurse takes one herself: her pages are told, to fetch what she holds.
                    own = db.session.get(WorkItem, own_id)
                    lifecycle.take(db.session, own, db.session.merge(nurse))
                    db.session.commit()
                    db.session.remove()
            finally:
                app.config.update(REDIS_URL=None)
            plain.wait_for(3, timeout=10)  # the three changes
            mine.wait_for(1, timeout=10)
            deadline = time.monotonic() + 10
            while min(len(p) for p in mine.pushes) < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(2 * live.PUSH_SECONDS + 0.5)  # any rendering still due has come
        finally:
            for pages in (mine, theirs, plain):
                pages.close()
    assert all(1 <= len(p) <= 3 for p in mine.pushes), [len(p) for p in mine.pushes]
    # Of the changes themselves, a page whose lists are pushed is told only what names its
    # person (a plain page hears every change).
    assert [len(a) for a in mine.arrivals] == [1, 1, 1]
    assert all(nurse_id in json.loads(a[0][1])["people"] for a in mine.arrivals)
    assert theirs.arrivals == [[]] and len(plain.arrivals[0]) == 3
    last = [_as_the_page_has_it([push for _, push in p]) for p in mine.pushes]
    # The item is back in the waiting list, as the page would show it; one rendering for all.
    assert all("Työnnetty rivi" in lists["waiting"] for lists in last)
    assert all(lists["total"] == 1 for lists in last)
    assert len({lists["waiting"] for lists in last}) == 1
    assert re.search(r'name="csrf_token" value="[^"<]+"', last[0]["waiting"])
    assert "<desk-csrf-token>" not in last[0]["waiting"]
    assert theirs.pushes == [[]] and plain.pushes == [[]]


def test_shortening_names_only_the_known_rows_and_keeps_everything_else_as_it_was():
    """A known row becomes its name; a new row, a row that may not be taken (no name), the
    table around them and a last row without its line break stay exactly as rendered."""
    held = '<tr class="" data-item-row><td>Minulla</td></tr>\n'
    head = "<table><thead><tr><th>Asia</th></tr></thead><tbody>\n"
    last = _row("cccccccccccc", "Viimeinen").rstrip("\n")
    waiting = head + _row("aaaaaaaaaaaa", "Vanha") + held + _row("bbbbbbbbbbbb", "Uusi") + last
    payload = json.dumps({"emergencies": "", "waiting": waiting + "</tbody></table>", "total": 3})

    short, names = shorten(payload, frozenset({"aaaaaaaaaaaa", "cccccccccccc"}))

    assert names == {"aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"}
    assert json.loads(short) == {
        "emergencies": "",
        "waiting": head
        + "<!--row:aaaaaaaaaaaa-->"
        + held
        + _row("bbbbbbbbbbbb", "Uusi")
        + "<!--row:cccccccccccc-->"
        + "</tbody></table>",
        "total": 3,
    }
    # What the pages put back is what was rendered.
    assert _as_the_page_has_it([payload, short])["waiting"] == waiting + "</tbody></table>"
