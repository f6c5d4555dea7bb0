"""Legal deadlines: the working-day calendar the channels' deadline rules use, in Helsinki.

A working day is Monday to Friday except Finnish public holidays and the days Act 150/1930
treats alike (Independence Day, May Day, Christmas Eve, Midsummer Eve). Office hours end 16:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

HELSINKI = ZoneInfo("Europe/Helsinki")
OFFICE_CLOSES = time(16, 0)


@lru_cache(maxsize=64)
def _non_working_days(year: int) -> frozenset[date]:
    days = set(holidays.Finland(years=year))
    days.update({date(year, 12, 6), date(year, 5, 1), date(year, 12, 24)})
    # Midsummer Eve: the Friday between 19 and 25 June.
    days.update(date(year, 6, d) for d in range(19, 26) if date(year, 6, d).weekday() == 4)
    return frozenset(days)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a holiday or a day treated alike."""
    return day.weekday() < 5 and day not in _non_working_days(day.year)


def next_working_day(day: date) -> date:
    """The first working day after `day`."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def _closing(day: date) -> datetime:
    return datetime.combine(day, OFFICE_CLOSES, tzinfo=HELSINKI)


def same_working_day(arrived: datetime) -> datetime:
    """16:00 of the arrival day if it is a working day before 16:00, else of the next one."""
    local = arrived.astimezone(HELSINKI)
    day = local.date()
    if is_working_day(day) and local.time() < OFFICE_CLOSES:
        return _closing(day)
    return _closing(next_working_day(day))


def working_days_after(arrived: datetime, n: int) -> datetime:
    """16:00 of the n-th working day after the day of arrival."""
    day = arrived.astimezone(HELSINKI).date()
    for _ in range(n):
        day = next_working_day(day)
    return _closing(day)


@dataclass(frozen=True)
class Deadline:
    due_at: datetime | None
    emergency: bool = False


def elapsed(start: datetime, **span: float) -> datetime:
    """`start` plus real elapsed time, in Helsinki time.

    Aware arithmetic in a zone adds wall-clock time: across a daylight-saving change the
    resident would wait an hour more or less. Adding in UTC counts real time.
    """
    return (start.astimezone(UTC) + timedelta(**span)).astimezone(HELSINKI)


#: The days a person may type into the desk (reports, the access log, the service matrix,
#: instructions): any real one, and none so near year 1 or 9999 that a day after it, two
#: months on or a time zone leaves the calendar (an OverflowError, not a refusal).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def parse_day(text: str) -> date:
    """A day written yyyy-mm-dd within FIRST_DAY..LAST_DAY; ValueError otherwise."""
    day = date.fromisoformat(text)
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{text} is not between {FIRST_DAY} and {LAST_DAY}")
    return day
