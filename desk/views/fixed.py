"""Parts of a page that depend on the interface language alone: rendered once per language
and kept, not on every page.

The top bar's keyboard shortcuts, the first-day tour and the texts desk.js says are some sixty
translated strings on every page, a tenth of My work's time. A template given to `fixed` may
read the language, `url_for` and the flags it is passed, and nothing of the request or the
person: the first rendering is everyone's. With templates reloaded as they change (debug),
nothing is kept.
"""

from __future__ import annotations

from flask import Flask, current_app, render_template
from markupsafe import Markup

from ..i18n import language


def fixed(name: str, **flags: bool) -> Markup:
    """The template `name` in the interface language, with `flags` (the few choices that are
    the page's own, such as whether the tour opens by itself)."""
    kept: dict = current_app.extensions["desk_fixed"]
    key = (name, language(), *sorted(flags.items()))
    try:
        return kept[key]
    except KeyError:
        html = Markup(render_template(name, **flags))  # noqa: S704 (rendered by Jinja)
        if not current_app.jinja_env.auto_reload:
            kept[key] = html
        return html


def init_app(app: Flask) -> None:
    app.extensions["desk_fixed"] = {}
    app.jinja_env.globals["fixed"] = fixed
