"""Languages: Finnish by default, Swedish and English; the user's choice sticks."""

from __future__ import annotations

import weakref
from collections.abc import MutableMapping
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask, current_app, g, has_request_context, request, session
from flask.templating import Environment as FlaskEnvironment
from flask_babel import format_decimal, get_locale, get_translations
from flask_login import current_user
from jinja2 import Template, nodes
from jinja2.visitor import NodeTransformer

from . import formats
from .extensions import babel

# Words and numbers of each language as written in Finland (dates: desk/formats.py).
FORMATS = formats.LOCALES


def chosen_language() -> str:
    """The signed-in user's language, else the one chosen on this browser, else Finnish."""
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    if session.get("language") in languages:
        return session["language"]
    return request.accept_languages.best_match(languages) or "fi"


def select_locale() -> str:
    """The Babel locale: the chosen language with Finland's formats."""
    return FORMATS[chosen_language()]


def language() -> str:
    """The current interface language code (fi, sv or en)."""
    locale = get_locale()
    return locale.language if locale else "fi"


def duration(span: timedelta) -> str:
    """A length of time as a person says it, in the interface language ('2 h 5 min')."""
    minutes = int(abs(span.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h", d=days, h=hours)
    if hours:
        return _("%(h)d h %(m)d min", h=hours, m=minutes)
    return _("%(m)d min", m=minutes)


def when(moment: datetime | None) -> str:
    """A timestamp in Helsinki time, as the interface language writes it ("4.12.2026 23.11")."""
    return formats.moment(moment, language())


def day(value: date | datetime | None, *_ignored) -> str:
    """A calendar day as the interface language writes it ("4.12.2026", "4 Dec 2026"). Also
    the templates' `dateformat` filter, whatever format they ask for: one way to write a day."""
    return formats.day(value, language())


def clock(moment: datetime | None) -> str:
    """The time of day in Helsinki, as the interface language writes it ("9.05")."""
    return formats.clock(moment, language())


def decimal(value: float | int | None) -> str:
    """A number with the interface language's decimal mark ("0,3")."""
    return formats.decimal(value, language())


def by_name(rows, name=lambda row: row.name(language())):
    """`rows` sorted by their names in the interface language, as its dictionaries sort
    (å, ä, ö after z in Finnish and Swedish)."""
    lang = language()
    return sorted(rows, key=lambda row: formats.sort_key(name(row), lang))


def parse_time(value: str) -> datetime:
    """An ISO 8601 timestamp from a channel's content."""
    return datetime.fromisoformat(value)


def file_size(size: int) -> str:
    """A file size in kB or MB, with the locale's decimal mark."""
    if size < 1024 * 1024:
        return _("%(n)s kB", n=format_decimal(round(size / 1024, 1)))
    return _("%(n)s MB", n=format_decimal(round(size / 1024 / 1024, 1)))


def _translations():
    # Flask-Babel looks the catalogue up on every call (several context lookups each); a
    # page of 50 rows asks hundreds of times, so it is looked up once per request.
    try:
        return g.desk_translations
    except AttributeError:
        g.desk_translations = get_translations()
        return g.desk_translations


def gettext(string: str, **variables) -> str:
    """Flask-Babel's gettext, with the catalogue looked up once per request (for the helpers
    that templates call for every row)."""
    translated = _translations().ugettext(string)
    return translated % variables if variables else translated


_ = gettext


#: the catalogue a template is being compiled with (`Environment`); None: no translating then
_COMPILING_WITH: ContextVar = ContextVar("desk_compiling_with", default=None)


class _Translated(NodeTransformer):
    """Each `_("…")` or `gettext("…")` of a constant text with nothing to fill in, replaced by
    its translation as the template would have shown it: formatted with no values (newstyle
    gettext always formats: "%%" is "%"), marked safe under autoescape. Anything else is left
    to translate when rendered."""

    def __init__(self, translations) -> None:
        self.translations = translations

    def visit_Call(self, node: nodes.Call) -> nodes.Node:  # noqa: N802 (Jinja names it)
        self.generic_visit(node)
        if not (
            isinstance(node.node, nodes.Name)
            and node.node.name in ("_", "gettext")
            and len(node.args) == 1
            and isinstance(node.args[0], nodes.Const)
            and isinstance(node.args[0].value, str)
            and not node.kwargs
            and node.dyn_args is None
            and node.dyn_kwargs is None
        ):
            return node
        try:
            text = self.translations.ugettext(node.args[0].value) % {}
        except (KeyError, TypeError, ValueError):
            return node  # placeholders to fill: as it was
        return nodes.MarkSafeIfAutoescape(nodes.Const(text), lineno=node.lineno)


class Environment(FlaskEnvironment):
    """Flask's template environment, with each template compiled once for each language it is
    shown in. Constant texts are translated when compiling (`_Translated`): My work looked 54
    texts up in the catalogue on every rendering and the item page 148, each 4 to 6 µs through
    Jinja's gettext; now 16 and 54. In a request the template is kept per locale (that of
    `force_locale` too); outside one it is compiled as written. In every template `_` and
    `gettext` are the desk's translating functions: no template binds those names."""

    def _load_template(self, name: str, globals: MutableMapping[str, Any] | None) -> Template:
        locale = get_locale() if has_request_context() else None
        if locale is None or self.loader is None or self.cache is None:
            return super()._load_template(name, globals)
        # As Jinja's own, with the locale in the key.
        key = (weakref.ref(self.loader), name, str(locale))
        template = self.cache.get(key)
        if template is not None and (not self.auto_reload or template.is_up_to_date):
            if globals:
                template.globals.update(globals)
            return template
        compiling = _COMPILING_WITH.set(get_translations())
        try:
            template = self.loader.load(self, name, self.make_globals(globals))
        finally:
            _COMPILING_WITH.reset(compiling)
        self.cache[key] = template
        return template

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        translations = _COMPILING_WITH.get()
        return tree if translations is None else _Translated(translations).visit(tree)


def init_app(app: Flask) -> None:
    """Bind Flask-Babel and the template helpers."""
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals.update(
        language=language,
        duration=duration,
        when=when,
        clock=clock,
        day=day,
        decimal=decimal,
        parse_time=parse_time,
        file_size=file_size,
    )
    # Flask-Babel's date filters would write Swedish dates as in Sweden: ours instead.
    app.jinja_env.filters.update(dateformat=day, datetimeformat=lambda moment, *_: when(moment))
