"""The situation view's figures, written in Python: each number a link to the list behind it,
and each queue's last day as a sparkline.

The whole centre's view shows some 130 numbers and 20 sparklines. As Jinja macros they were
half of the live fragment's time (a `url_for` per number, 24 bars of template arithmetic per
sparkline; docs/performance.md). Here the links' shape is built once per request and each
figure is one format string; every value is escaped. The macros `number` and `sparkline`
(situation/_macros.html) call these, so each has one definition.
"""

from __future__ import annotations

from flask import g, url_for
from markupsafe import Markup, escape

from ..i18n import _translations, duration
from .rows import _html

#: stand-ins for a number's queue or service area, and state, in the shape of its link
_QUEUE, _AREA, _STATE = "987654321q", "987654321a", "987654321s"
ALARMS = frozenset(("overdue", "emergency", "callbacks_overdue"))


def _gettext():
    """This request's translation function, looked up once (a figure asks for it 150 times)."""
    if "desk_figure_gettext" not in g:
        g.desk_figure_gettext = _translations().ugettext
    return g.desk_figure_gettext


def _link_shape(filters, figure: str | None) -> str:
    """The link of a number of `figure` ("queue", "area" or None for all the user's queues),
    with stand-ins for its queue or service area and its state; made once per request."""
    shapes = g.setdefault("desk_figure_links", {})
    key = (filters, figure)
    if key not in shapes:
        shapes[key] = str(
            escape(
                url_for(
                    "situation.items",
                    queue=_QUEUE if figure == "queue" else None,
                    state=_STATE,
                    municipality=filters.municipality,
                    channel=filters.channel,
                    service_area=_AREA if figure == "area" else filters.service_area,
                    identification=filters.identification,
                )
            )
        )
    return shapes[key]


def _name(label: str, where: str, value: int) -> Markup:
    """A number's name for screen readers: "Overdue in Porvoo health: 3"."""
    _ = _gettext()  # named so that `make extract` finds the message
    # the catalogue's own message, trusted; `%` escapes the values
    message = Markup(_("%(label)s in %(where)s: %(n)d"))  # noqa: S704
    return message % {"label": label, "where": where, "n": value}


def number(counts, key: str, queue: str | None, filters, label: str, where: str) -> Markup:
    """One number of the view: a link to its list, named for screen readers, or a quiet 0."""
    value = getattr(counts, key)
    if not value:
        return Markup('<span class="zero">0</span>')
    href = _link_shape(filters, "queue" if queue is not None else None)
    href = href.replace(_STATE, str(escape(key)))
    if queue is not None:
        href = href.replace(_QUEUE, str(escape(queue)))
    name = _name(label, where, value)
    alarm = "alarm" if key in ALARMS else ""
    return _html(
        f'<a id="n-{escape(queue or "all")}-{escape(key)}" href="{href}" aria-label="{name}"'
        f' class="{alarm}">{int(value)}</a>'
    )


def area_number(counts, key: str, area: str, filters, label: str, where: str) -> Markup:
    """One number of the view by service area: a link to its list, unless the view is already
    of one service area."""
    value = getattr(counts, key)
    if not value or filters.service_area:
        return _html(str(int(value)))
    href = _link_shape(filters, "area").replace(_STATE, str(escape(key)))
    href = href.replace(_AREA, str(escape(area)))
    return _html(f'<a href="{href}" aria-label="{_name(label, where, value)}">{int(value)}</a>')


def queue_row(queue, counts, states: dict, filters, now, trend, lang: str) -> Markup:
    """One queue's row of the view: its name, its numbers, its oldest wait and its last day."""
    name = queue.name(lang)
    numbers = "".join(
        f'<td class="num">{number(counts, key, queue.code, filters, label, name)}</td>'
        for key, label in states.items()
    )
    oldest = escape(duration(now - counts.oldest)) if counts.oldest else "–"
    return _html(
        f'<tr>\n        <th scope="row">{escape(name)}</th>\n        {numbers}\n'
        f'        <td class="num">{oldest}</td>\n        <td>{sparkline(trend)}</td>\n      </tr>'
    )


def sparkline(trend) -> Markup:
    """A queue's last 24 hours: arrivals rise above the line and resolutions hang below it,
    readable without colour; the totals are its accessible name."""
    _ = _gettext()  # named so that `make extract` finds the message
    message = _("Last 24 hours: %(arrived)d arrived, %(resolved)d resolved")
    summary = Markup(message) % {  # noqa: S704 (the catalogue's message; `%` escapes values)
        "arrived": sum(trend.arrived),
        "resolved": sum(trend.resolved),
    }
    peak = max([1, *trend.arrived, *trend.resolved])
    bars = []
    for n, (a, r) in enumerate(zip(trend.arrived, trend.resolved, strict=True)):
        if a:
            bars.append(
                f'<rect x="{n * 4}" y="{round(17 - a / peak * 16, 1)}" width="3"'
                f' height="{round(a / peak * 16, 1)}" class="spark-in"></rect>'
            )
        if r:
            bars.append(
                f'<rect x="{n * 4}" y="17" width="3" height="{round(r / peak * 16, 1)}"'
                f' class="spark-out"></rect>'
            )
    return _html(
        f'<svg class="spark" viewBox="0 0 96 34" width="96" height="34" role="img"'
        f' aria-label="{summary}" focusable="false">\n  <title>{summary}</title>\n'
        f'  <line x1="0" y1="17" x2="96" y2="17" class="spark-axis"></line>{"".join(bars)}\n'
        f"</svg>"
    )


def init_app(app) -> None:
    app.jinja_env.globals.update(
        number_html=number,
        area_number_html=area_number,
        queue_row_html=queue_row,
        sparkline_html=sparkline,
    )
