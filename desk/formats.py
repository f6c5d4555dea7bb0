"""Dates, times and numbers as the desk's languages write them in Finland. Plain Python.

Babel's CLDR data for `sv_FI` writes dates as in Sweden ("2026-12-04 23:11"); Finland-Swedish
writes them as Finnish does ("4.12.2026 23.11", "kl. 23.11"). So the desk gives its own
patterns per language and takes only the words (month names) and numbers (the decimal comma,
the space between thousands) from the locale. English is British English with the 24-hour
clock: "4 Dec 2026, 23:11", "0.3".
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import DateTimePattern, parse_pattern
from babel.numbers import format_decimal

HELSINKI = ZoneInfo("Europe/Helsinki")

#: The Babel locale of each interface language: its words and its numbers.
LOCALES = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_GB"}

#: How each language writes a day and a moment: on the screen (`date`, `datetime`), and in
#: running text to a resident (`text_date`, `text_datetime`: "viimeistään 4.12.2026 klo 16.00").
PATTERNS = {
    "fi": {
        "date": "d.M.y",
        "datetime": "d.M.y H.mm",
        "text_date": "d.M.y",
        "text_datetime": "d.M.y 'klo' H.mm",
        "time": "H.mm",
    },
    "sv": {
        "date": "d.M.y",
        "datetime": "d.M.y H.mm",
        "text_date": "d.M.y",
        "text_datetime": "d.M.y 'kl.' H.mm",
        "time": "H.mm",
    },
    "en": {
        "date": "d MMM y",
        "datetime": "d MMM y, HH:mm",
        "text_date": "d MMMM y",
        "text_datetime": "d MMMM y 'at' HH:mm",
        "time": "HH:mm",
    },
}


def _language(language: str | None) -> str:
    return language if language in PATTERNS else "fi"


@cache
def _pattern(language: str, kind: str) -> tuple[DateTimePattern, Locale]:
    """The language's pattern of `kind`, parsed, and its locale: what Babel's format_date and
    format_datetime look up on every call (a list of 100 rows formats hundreds of moments)."""
    return parse_pattern(PATTERNS[language][kind]), Locale.parse(LOCALES[language])


def _format(value: date | datetime, language: str, kind: str) -> str:
    pattern, locale = _pattern(language, kind)
    return pattern.apply(value, locale)


def in_finland(moment: datetime) -> datetime:
    """`moment` in Finnish time (a naive one is UTC, as the database keeps it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(HELSINKI)


def day(value: date | datetime | None, language: str | None, *, text: bool = False) -> str:
    """A calendar day ("4.12.2026", "4 Dec 2026"); a moment's day in Finland."""
    if value is None:
        return ""
    language = _language(language)
    if isinstance(value, datetime):
        value = in_finland(value).date()
    return _format(value, language, "text_date" if text else "date")


def moment(value: datetime | None, language: str | None, *, text: bool = False) -> str:
    """A moment in Finnish time ("4.12.2026 23.11"; in text "4.12.2026 kl. 23.11")."""
    if value is None:
        return ""
    language = _language(language)
    return _format(in_finland(value), language, "text_datetime" if text else "datetime")


def clock(value: datetime | None, language: str | None) -> str:
    """The time of day in Finland ("9.05"; "09:05" in English)."""
    if value is None:
        return ""
    language = _language(language)
    return _format(in_finland(value), language, "time")


def decimal(value: float | int | None, language: str | None) -> str:
    """A number with the language's decimal mark ("0,3" in Finnish and Swedish)."""
    if value is None:
        return ""
    return format_decimal(value, locale=LOCALES[_language(language)])


# --- sorting by name ------------------------------------------------------------------------

#: The Finnish and the Swedish alphabet both end in z, å, ä, ö (æ and ø sort as ä and ö);
#: the three characters after "z" in ASCII stand in for them
_AFTER_Z = {"å": "{", "ä": "|", "æ": "|", "ö": "}", "ø": "}"}
_PLAIN = str.maketrans("áàâãéèêëíìîïóòôõúùûýÿçñ", "aaaaeeeeiiiioooouuuyycn")
#: ü is a y to a Finnish or Swedish dictionary, a u to an English one
_NORDIC = str.maketrans({"ü": "y"})
_ENGLISH = str.maketrans("åäöæøü", "aaoaou")


def sort_key(name: str, language: str | None = None) -> str:
    """A key that sorts names as Finnish and Swedish dictionaries do: case and accents
    aside, å, ä and ö after z ("Mörskom" before "Pukkila" ... "Åbo" after "Vanda"). English
    sorts the same letters as their base letters (a, a, o)."""
    folded = name.casefold()
    if _language(language) == "en":
        return folded.translate(_ENGLISH).translate(_PLAIN)
    return "".join(_AFTER_Z.get(c, c) for c in folded.translate(_NORDIC)).translate(_PLAIN)
