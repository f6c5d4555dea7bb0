"""The rows of the item lists (My work, the situation view's lists, search), written in Python.

A list shows up to a hundred rows, and each row asks for a dozen words, names, times and
links. As a Jinja macro that was some 2,700 template calls a page, most of My work's time
(docs/performance.md, "Speed at national scale"). Here everything a row shares with the
others is looked up once per request (`Words`: the words of the interface language, the
CSRF token, the shape of the links) and each row is one format string; every value from the
database is escaped. The macros `item_table`, `deadline` and `badges` (_macros.html) call
these, so each piece has one definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from hashlib import blake2b

from flask import current_app, g, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from ..extensions import channel_registry
from ..i18n import _translations, clock, duration, language, when
from ..live import CSRF_PLACEHOLDER
from .labels import channel_label, item_status_label

#: an item id no list shows, standing in for the id in a link's shape
_ID = 987654321


def _link(endpoint: str) -> str:
    """The link to `endpoint` for any item, as a format string with `{0}` for its id."""
    return url_for(endpoint, item_id=_ID).replace(str(_ID), "{0}")


@dataclass
class Words:
    """What every row of this request shares."""

    language: str
    gettext: object
    show: str = field(init=False)
    take: str = field(init=False)
    csrf: str = field(init=False)
    labels: dict[str, str] = field(init=False)
    channels: dict[str, str] = field(init=False)
    #: the rows this process has written, by what they show (`_shown`)
    written: dict[tuple, str] = field(init=False)

    def __post_init__(self) -> None:
        _ = self.gettext
        self.show = _link("items.show")
        self.take = _link("items.take")
        self.csrf = CSRF_PLACEHOLDER if g.get("desk_shared_rows") else escape(generate_csrf())
        self.labels = {
            name: escape(label)
            for name, label in (
                ("municipality", _("Municipality")),
                ("queue", _("Queue")),
                ("waited", _("Waited")),
                ("deadline", _("Deadline")),
                ("status", _("Status")),
                ("not_given", _("Not given")),
                ("take", _("Take")),
                ("emergency", _("Emergency")),
                ("urgency", _("Omaolo urgency class")),
                ("resident_language", _("The resident’s language")),
                ("no_deadline", _("No deadline")),
            )
        }
        self.channels = {a.name: escape(channel_label(a.name)) for a in channel_registry()}
        self.written = current_app.extensions.setdefault("desk.rows", {})


def words() -> Words:
    """This request's `Words`, made on first use."""
    try:
        return g.desk_row_words
    except AttributeError:
        g.desk_row_words = Words(language(), _translations().ugettext)
        return g.desk_row_words


def _html(text: str) -> Markup:
    """HTML written here from escaped values only (Markup's own `format` would do the
    escaping, at three times the cost of an f-string: a list's rows are the hot path)."""
    return Markup(text)  # noqa: S704 (every value in `text` went through escape())


def badges(item) -> Markup:
    """The item's channel, and whether it is an emergency, its Omaolo urgency, its language."""
    w = words()
    channel = escape(item.channel)
    html = f'<span class="badge badge-{channel}">{w.channels.get(item.channel, channel)}</span>'
    if item.emergency:
        html += f' <span class="badge badge-emergency">{w.labels["emergency"]}</span>'
    if item.urgency:
        html += (
            f' <span class="badge badge-urgency" title="{w.labels["urgency"]}">'
            f"{escape(item.urgency)}</span>"
        )
    if item.language != "fi":
        html += (
            f' <span class="badge badge-lang" title="{w.labels["resident_language"]}"'
            f' lang="{escape(item.language)}">{escape(item.language.upper())}</span>'
        )
    return _html(html)


def deadline(item, now: datetime) -> Markup:
    """The item's deadline as a list shows it: the time left or overdue, a waiting chat
    resident's answer-by time (an operational target, never a legal deadline), or the day a
    resolved item was due."""
    w = words()
    _ = w.gettext
    if item.due_at is None and item.answer_by and item.status != "resolved":
        text = _("Resident waiting %(span)s · answer by %(time)s") % {
            "span": duration(now - item.unanswered_since),
            "time": clock(item.answer_by),
        }
        late = "overdue" if item.answer_by < now else "due-soon"
        return _html(
            f'<span class="deadline answer-by {late}"><time datetime="'
            f'{item.answer_by.isoformat()}" title="{escape(when(item.answer_by))}">'
            f"{escape(text)}</time></span>"
        )
    if item.due_at is None:
        return _html(f'<span class="muted">{w.labels["no_deadline"]}</span>')
    due = item.due_at.isoformat()
    if item.status == "resolved":
        return _html(f'<time datetime="{due}">{escape(when(item.due_at))}</time>')
    if item.due_at < now:
        text = _("Overdue %(span)s") % {"span": duration(now - item.due_at)}
        return _html(
            f'<span class="deadline overdue"><time datetime="{due}">{escape(text)}</time></span>'
        )
    soon = " due-soon" if (item.due_at - now).total_seconds() < 3600 else ""
    text = _("%(span)s left") % {"span": duration(item.due_at - now)}
    return _html(
        f'<span class="deadline{soon}"><time datetime="{due}" title="{escape(when(item.due_at))}">'
        f"{escape(text)}</time></span>"
    )


#: rows kept per process (`Words.written`); all are forgotten when there are more
ROWS_KEPT = 20_000


def _minutes(span: timedelta) -> int:
    """A span as `duration` says it: whole minutes (i18n.duration)."""
    return int(abs(span.total_seconds()) // 60)


def _shown(item, now: datetime, lang: str, links: str, take: bool, focus: bool) -> tuple:
    """Everything a row of `item` shows at `now`, and nothing else: two rows of equal keys are
    the same HTML (`deadline` and `item_rows` write them from exactly these). Times are in
    whole minutes, as `duration` says them, and each deadline branch's own moments."""
    due, answer_by, status = item.due_at, item.answer_by, item.status
    if due is None and answer_by and status != "resolved":
        when_due = ("answer", _minutes(now - item.unanswered_since), answer_by, answer_by < now)
    elif due is None:
        when_due = None
    elif status == "resolved":
        when_due = ("resolved", due)
    elif due < now:
        when_due = ("overdue", _minutes(now - due), due)
    else:
        when_due = ("left", _minutes(due - now), (due - now).total_seconds() < 3600, due)
    return (
        lang,
        take,
        focus,
        links,
        item.id,
        item.title,
        item.channel,
        item.emergency,
        item.urgency,
        item.language,
        item.municipality.name(lang) if item.municipality else None,
        item.queue.name(lang),
        None if take else (status, item.retry_at is not None),
        None if take or not item.assignee else item.assignee.display_name,
        _minutes(now - item.submitted_at),
        when_due,
    )


def item_rows(items, now: datetime, take: bool = False, focus_id: int | None = None) -> Markup:
    """The rows of an item table (`_macros.html`'s item_table): the matter with its badges,
    municipality, queue, time waited, deadline, and the take button or the status.

    A row is written once for what it shows (`_shown`) and kept: the same rows come back in
    every page of a list, in every live push of every view that shows them, until a minute
    changes what they say. A row that may be taken keeps the CSRF token's place, filled for
    each request."""
    w = words()
    written = w.written
    rows = []
    for item in items:
        key = _shown(item, now, w.language, w.show, take, focus_id == item.id)
        row = written.get(key)
        if row is None:
            row = _row(w, item, now, take, focus_id)
            if len(written) >= ROWS_KEPT:
                written.clear()
            written[key] = row
        rows.append(row.replace(CSRF_PLACEHOLDER, w.csrf) if take else row)
    return _html("".join(rows))


def _row(w: Words, item, now: datetime, take: bool, focus_id: int | None) -> str:
    labels, lang = w.labels, w.language
    item_id = int(item.id)
    if take:
        last = (
            f'<td><form method="post" action="{w.take.format(item_id)}">'
            f'<input type="hidden" name="csrf_token" value="{CSRF_PLACEHOLDER}">'
            '<input type="hidden" name="back" value="work">'
            f'<button type="submit" class="button button-small" id="take-{item_id}"'
            f' aria-describedby="item-link-{item_id}">{labels["take"]}</button></form></td>'
        )
    else:
        holder = f" · {escape(item.assignee.display_name)}" if item.assignee else ""
        last = f'<td data-label="{labels["status"]}">{escape(item_status_label(item))}{holder}</td>'
    municipality = (
        escape(item.municipality.name(lang)) if item.municipality else labels["not_given"]
    )
    focus = " data-focus-after-swap" if focus_id == item_id else ""
    cells = (
        f'<td class="matter"><a href="{w.show.format(item_id)}" id="item-link-{item_id}"'
        f' lang="{escape(item.language)}"{focus}>{escape(item.title)}</a>'
        f'<div class="badges">{badges(item)}</div></td>'
        f'<td data-label="{labels["municipality"]}">{municipality}</td>'
        f'<td data-label="{labels["queue"]}">{escape(item.queue.name(lang))}</td>'
        f'<td data-label="{labels["waited"]}">{escape(duration(now - item.submitted_at))}</td>'
        f'<td data-label="{labels["deadline"]}">{deadline(item, now)}</td>'
        f"{last}"
    )
    emergency = "is-emergency" if item.emergency else ""
    if take:
        # A row that may be taken is named by what it shows (the same for every page of
        # the same view, the CSRF token left aside): the live stream pushes a row a page
        # has already as this name alone (desk.live, views/work.py `shorten`).
        name = blake2b(f"{emergency}{cells}".encode(), digest_size=6).hexdigest()
        return f'<tr class="{emergency}" data-item-row data-row="{name}">{cells}</tr>\n'
    return f'<tr class="{emergency}" data-item-row>{cells}</tr>\n'


def init_app(app) -> None:
    app.jinja_env.globals.update(item_rows=item_rows, deadline_html=deadline, badges_html=badges)
