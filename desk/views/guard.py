"""What a request's address and fields must be before any view reads them.

Ids in a path or a field are the database's ids: PostgreSQL's `integer`, 1 to 2**31-1. A larger
number is no such item (404), not an error the database raises on the query. Text in the path,
the query string and form fields never holds control characters: PostgreSQL cannot store or
even compare a NUL, and nothing a person types in the desk's fields is one (tab and line breaks
in a form's text areas are, and pass).
"""

from __future__ import annotations

import re

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1

#: C0 controls and DEL: nothing in an address or a query string has them
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: the same, but a text area's tab and line breaks are the person's own
FORM_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class DatabaseId(IntegerConverter):
    """`<int:…>` in every route: a database id from 1 to 2**31-1, in ASCII digits (werkzeug's
    `\\d` would also take other scripts' digits); anything else is 404."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def number(value: str | None, low: int = 1, high: int = MAX_ID) -> int | None:
    """A whole number typed into a query or form field, when it is plain ASCII digits within
    [low, high]; otherwise None. (`str.isdigit` alone lets through "²", which `int` refuses,
    and numbers no database column holds.)"""
    if not value or not value.isascii() or not value.isdigit() or len(value) > len(str(high)):
        return None
    n = int(value)
    return n if low <= n <= high else None


def database_id(value: str | None) -> int | None:
    """An id from a query or form field, or None when it cannot be one."""
    return number(value)


def cursor(name: str) -> int | None:
    """The id a list pages after (or before), from the query string: None when not given,
    400 when given but no id, rather than a first page the asker did not ask for."""
    value = request.args.get(name)
    if not value:
        return None
    found = database_id(value)
    if found is None:
        abort(400)
    return found


def _has_control(values, pattern: re.Pattern) -> bool:
    return any(pattern.search(key) or pattern.search(value) for key, value in values)


def refuse_control_characters() -> None:
    """400 for a control character in the path, the query string or a form field."""
    if CONTROL.search(request.path) or _has_control(request.args.items(multi=True), CONTROL):
        abort(400)
    if request.mimetype in FORMS and _has_control(request.form.items(multi=True), FORM_CONTROL):
        abort(400)


def init_app(app: Flask) -> None:
    """Register the id converter (before any route is added) and the guard (before any other
    request hook, so none of them reads an unchecked field)."""
    app.url_map.converters["int"] = DatabaseId
    app.before_request(refuse_control_characters)
