"""The item lists' rows (desk/views/rows.py): every value from the database escaped, and the
deadline said as a professional reads it. The clock is fixed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from desk.views.rows import badges, deadline, item_rows

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
HOSTILE = "<script>x()</script>\"&'"


class Named(SimpleNamespace):
    def name(self, language: str) -> str:
        return f"{self.names}-{language}"


def _item(**fields) -> SimpleNamespace:
    values = {
        "id": 7,
        "title": "Toimeentulotuki",
        "language": "fi",
        "channel": "eform",
        "emergency": False,
        "urgency": None,
        "status": "new",
        "submitted_at": NOW - timedelta(hours=2, minutes=5),
        "due_at": NOW + timedelta(days=2),
        "answer_by": None,
        "unanswered_since": None,
        "retry_at": None,
        "municipality": Named(names="Porvoo"),
        "queue": Named(names="Sosiaalityö"),
        "assignee": None,
    }
    return SimpleNamespace(**(values | fields))


@pytest.fixture
def request_context(app):
    with app.test_request_context("/work"), force_locale("fi_FI"):
        yield


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_every_value_from_the_database_is_escaped(request_context):
    item = _item(
        title=HOSTILE,
        urgency=HOSTILE,
        language="sv",
        municipality=Named(names=HOSTILE),
        queue=Named(names=HOSTILE),
        assignee=SimpleNamespace(display_name=HOSTILE),
        status="in_progress",
    )
    html = str(item_rows([item], NOW))
    assert "<script>" not in html and "\"&'" not in html
    assert html.count("&lt;script&gt;x()&lt;/script&gt;&#34;&amp;&#39;") == 5
    # Taking: the form posts to the item's own address with the request's CSRF token.
    taking = str(item_rows([_item(id=12)], NOW, take=True, focus_id=12))
    assert 'action="/items/12/take"' in taking and 'name="csrf_token" value="' in taking
    assert 'href="/items/12"' in taking and "data-focus-after-swap" in taking


def test_the_row_says_what_the_list_shows(request_context):
    held = _item(status="waiting", assignee=SimpleNamespace(display_name="Hoitaja Anna"))
    cells = _text(str(item_rows([held], NOW)))
    assert "Porvoo-fi" in cells and "Sosiaalityö-fi" in cells and "2 h 5 min" in cells
    assert "Odottaa asukasta · Hoitaja Anna" in cells
    calling = _item(status="waiting", retry_at=NOW + timedelta(hours=1), municipality=None)
    assert "Ei ilmoitettu" in _text(str(item_rows([calling], NOW)))
    assert "Odottaa seuraavaa soittoa" in _text(str(item_rows([calling], NOW)))
    marks = _text(str(badges(_item(emergency=True, urgency="P1", language="sv"))))
    assert marks.split() == ["Sähköinen", "lomake", "Hätätilanne", "P1", "SV"]


@pytest.mark.parametrize(
    "fields, said, css",
    [
        ({"due_at": NOW + timedelta(days=2, hours=3)}, "2 vrk 3 h jäljellä", "deadline"),
        ({"due_at": NOW + timedelta(minutes=40)}, "40 min jäljellä", "deadline due-soon"),
        ({"due_at": NOW - timedelta(hours=1, minutes=2)}, "Myöhässä 1 h 2 min", "overdue"),
        ({"due_at": None}, "Ei määräaikaa", "muted"),
        (
            {"due_at": NOW - timedelta(days=1), "status": "resolved"},
            "3.12.2026 12.00",
            None,
        ),
        (
            {
                "due_at": None,
                "answer_by": NOW + timedelta(minutes=3),
                "unanswered_since": NOW - timedelta(minutes=2),
            },
            "Asukas odottanut 2 min · vastaa viimeistään 12.03",
            "answer-by due-soon",
        ),
    ],
)
def test_the_deadline_as_a_professional_reads_it(request_context, fields, said, css):
    html = str(deadline(_item(**fields), NOW))
    assert _text(html) == said
    if css is not None:
        assert f'class="{css}' in html or f" {css}" in html


def test_a_kept_row_is_the_row_written_afresh(app, request_context):
    """Rows are kept by what they show (`rows._shown`): for items of every kind of deadline,
    held or to be taken, asked for again as the clock moves on by odd seconds over two
    hours, the kept rows are exactly the rows written afresh each time."""
    kinds = [
        {},
        {"due_at": NOW + timedelta(minutes=61, seconds=10)},  # due soon within the hour
        {"due_at": NOW + timedelta(minutes=3, seconds=40)},  # becomes overdue
        {"due_at": NOW - timedelta(days=1, hours=2)},
        {"due_at": None},
        {
            "due_at": None,
            "answer_by": NOW + timedelta(minutes=4, seconds=5),
            "unanswered_since": NOW - timedelta(minutes=1, seconds=30),
            "channel": "chat",
        },
        {"status": "resolved", "due_at": NOW - timedelta(days=3)},
        {"status": "waiting", "retry_at": NOW + timedelta(minutes=30)},
        {"status": "in_progress", "assignee": SimpleNamespace(display_name="Anna <Aalto>")},
        {"emergency": True, "urgency": "P0", "language": "sv", "municipality": None},
    ]
    items = [_item(id=n, **fields) for n, fields in enumerate(kinds, start=1)]
    kept = app.extensions.setdefault("desk.rows", {})
    kept.clear()
    for step in range(150):
        now = NOW + timedelta(seconds=step * 47)
        # The same items changing meanwhile: taken, renamed, moved, made urgent.
        items[7].status = ("waiting", "in_progress")[step % 2]
        items[8].assignee = SimpleNamespace(display_name=("Anna <Aalto>", "Bo Berg")[step % 3 % 2])
        items[0].title = f"Toimeentulotuki {step // 10}"
        items[1].queue = Named(names=("Sosiaalityö", "Neuvonta")[step // 7 % 2])
        items[9].emergency = step % 2 == 0
        for take in (True, False):
            for focus in (None, 3):
                with_kept = str(item_rows(items, now, take=take, focus_id=focus))
                kept_before = dict(kept)
                kept.clear()
                afresh = str(item_rows(items, now, take=take, focus_id=focus))
                kept.clear()
                kept.update(kept_before)
                assert with_kept == afresh, (step, take, focus)
    assert len(kept) < 150 * 4 * len(items), "rows were kept and used again"
