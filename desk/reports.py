"""The reports the region steers by, computed from the item events (not from counters that
could drift). Plain SQLAlchemy; no Flask.

A period is a range of days in Finland, [start, end). Events are counted in UTC hours by the
database, and the hours are placed on Finnish days and hours here (Finland's offsets are whole
hours, so this is exact).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, func, select
from sqlalchemy.orm import Session, aliased

from .models import OPEN_STATUSES, EventKind, ItemEvent, PhoneCalls, TemplateUse, WorkItem

HELSINKI = ZoneInfo("Europe/Helsinki")
#: the region's 2025 goals
DIGITAL_SHARE_TARGET = 0.50


@dataclass
class Report:
    start: date
    end: date  # exclusive
    arrivals: int = 0
    resolutions: int = 0
    by_day: dict[date, list[int]] = field(default_factory=dict)  # day → [arrived, resolved]
    by_hour: list[int] = field(default_factory=lambda: [0] * 24)  # arrivals by hour of day
    by_channel: dict[str, list[int]] = field(default_factory=dict)
    by_municipality: dict[str | None, list[int]] = field(default_factory=dict)
    by_queue: dict[str, list[int]] = field(default_factory=dict)
    backlog: dict[date, int] = field(default_factory=dict)  # open at the end of each day
    outcomes: Counter = field(default_factory=Counter)
    templates: Counter = field(default_factory=Counter)
    first_action_minutes: dict[str, float | None] = field(default_factory=dict)
    resolution_minutes: dict[str, float | None] = field(default_factory=dict)
    deadlines: int = 0  # items whose deadline fell in the period
    deadline_first_action_met: int = 0
    deadline_resolved_met: int = 0
    phone_calls: int = 0
    phone_by_municipality: Counter = field(default_factory=Counter)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days)]

    @property
    def digital_share(self) -> float | None:
        total = self.arrivals + self.phone_calls
        return self.arrivals / total if total and self.phone_calls else None

    @property
    def attainment(self) -> float | None:
        return self.deadline_first_action_met / self.deadlines if self.deadlines else None


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(), HELSINKI).astimezone(ZoneInfo("UTC"))


def _hour(column, dialect: str):
    """The UTC hour an event falls in, as a number the database groups by."""
    if dialect == "postgresql":
        return func.floor(func.extract("epoch", column) / 3600).cast(Integer)
    return func.cast(func.strftime("%s", column) / 3600, Integer)


@lru_cache(maxsize=20_000)
def _local(hour_number: int) -> datetime:
    return datetime.fromtimestamp(int(hour_number) * 3600, HELSINKI)


def _continuous(values: list[float], share: float) -> float:
    """The percentile as PostgreSQL's percentile_cont computes it (linear interpolation)."""
    position = share * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p90": None}
    values = sorted(values)
    return {"median": _continuous(values, 0.5), "p90": _continuous(values, 0.9)}


def build(session: Session, start: date, end: date) -> Report:
    report = Report(start, end)
    for day in report.days:
        report.by_day[day] = [0, 0]
    begin, finish = _utc(start), _utc(end)
    dialect = session.get_bind().dialect.name
    in_period = and_(ItemEvent.at >= begin, ItemEvent.at < finish)

    def bump(table: dict, key, slot: int, n: int) -> None:
        table.setdefault(key, [0, 0])[slot] += n

    # Arrivals: each item is routed once, when it arrives; the event names its first queue.
    hour = _hour(ItemEvent.at, dialect).label("hour")
    arrived = session.execute(
        select(
            hour,
            WorkItem.channel,
            WorkItem.municipality_code,
            ItemEvent.to_queue_code,
            func.count(),
        )
        .join(WorkItem, WorkItem.id == ItemEvent.item_id)
        .where(ItemEvent.kind == EventKind.ROUTED.value, in_period)
        .group_by(hour, WorkItem.channel, WorkItem.municipality_code, ItemEvent.to_queue_code)
    )
    for number, channel, municipality, queue, n in arrived:
        moment = _local(number)
        report.arrivals += n
        bump(report.by_day, moment.date(), 0, n)
        report.by_hour[moment.hour] += n
        bump(report.by_channel, channel, 0, n)
        bump(report.by_municipality, municipality, 0, n)
        bump(report.by_queue, queue, 0, n)

    resolved = session.execute(
        select(
            hour,
            WorkItem.channel,
            WorkItem.municipality_code,
            WorkItem.queue_code,
            ItemEvent.outcome_code,
            func.count(),
        )
        .join(WorkItem, WorkItem.id == ItemEvent.item_id)
        .where(ItemEvent.kind == EventKind.RESOLVED.value, in_period)
        .group_by(
            hour,
            WorkItem.channel,
            WorkItem.municipality_code,
            WorkItem.queue_code,
            ItemEvent.outcome_code,
        )
    )
    for number, channel, municipality, queue, outcome, n in resolved:
        report.resolutions += n
        bump(report.by_day, _local(number).date(), 1, n)
        bump(report.by_channel, channel, 1, n)
        bump(report.by_municipality, municipality, 1, n)
        bump(report.by_queue, queue, 1, n)
        report.outcomes[outcome] += n

    # The backlog: what is open now, taken back to the start by the events since then
    # (arrived since: was not open yet; resolved since: was open), then day by day.
    open_now = session.scalar(
        select(func.count()).select_from(WorkItem).where(WorkItem.status.in_(OPEN_STATUSES))
    )
    since = {
        kind: session.scalar(
            select(func.count())
            .select_from(ItemEvent)
            .where(ItemEvent.kind == kind, ItemEvent.at >= begin)
        )
        for kind in (EventKind.ROUTED.value, EventKind.RESOLVED.value)
    }
    open_then = open_now - since[EventKind.ROUTED.value] + since[EventKind.RESOLVED.value]
    for day in report.days:
        open_then += report.by_day[day][0] - report.by_day[day][1]
        report.backlog[day] = open_then

    _durations(session, report, begin, finish, dialect)
    _deadlines(session, report, begin, finish)

    report.templates.update(
        dict(
            session.execute(
                select(TemplateUse.template_id, func.count())
                .where(TemplateUse.at >= begin, TemplateUse.at < finish)
                .group_by(TemplateUse.template_id)
            ).all()
        )
    )
    for municipality, calls in session.execute(
        select(PhoneCalls.municipality_code, func.sum(PhoneCalls.calls))
        .where(PhoneCalls.day >= start, PhoneCalls.day < end)
        .group_by(PhoneCalls.municipality_code)
    ):
        report.phone_by_municipality[municipality] = int(calls)
        report.phone_calls += int(calls)
    return report


FIRST_ACTIONS = (EventKind.TAKEN.value, EventKind.ASSIGNED.value)


def _first_action(since: datetime):
    """Per item, when someone first took it or the desk first gave it to someone; only
    actions from `since` on (for items that arrived then or later, that is all of them)."""
    event = aliased(ItemEvent)
    return (
        select(event.item_id, func.min(event.at).label("first_at"))
        .where(event.kind.in_(FIRST_ACTIONS), event.at >= since)
        .group_by(event.item_id)
        .subquery()
    )


def first_action_of(item_id_column):
    """When someone first took the item or the desk gave it (a correlated subquery)."""
    event = aliased(ItemEvent)
    return (
        select(func.min(event.at))
        .where(event.item_id == item_id_column, event.kind.in_(FIRST_ACTIONS))
        .scalar_subquery()
    )


def _durations(session: Session, report: Report, begin, finish, dialect: str) -> None:
    """Median and 90th percentile, in minutes: arrival to first action (items arrived in the
    period) and arrival to resolution (items resolved in the period)."""
    first = _first_action(begin)
    arrival = aliased(ItemEvent)
    if dialect == "postgresql":
        minutes = lambda a, b: func.extract("epoch", a - b) / 60  # noqa: E731

        def percentiles(query_column, *where):
            row = session.execute(
                select(
                    func.percentile_cont(0.5).within_group(query_column),
                    func.percentile_cont(0.9).within_group(query_column),
                ).where(*where)
            ).one()
            return {"median": row[0], "p90": row[1]}

        report.first_action_minutes = percentiles(
            minutes(first.c.first_at, arrival.at),
            arrival.item_id == first.c.item_id,
            arrival.kind == EventKind.ROUTED.value,
            arrival.at >= begin,
            arrival.at < finish,
        )
        resolution = aliased(ItemEvent)
        report.resolution_minutes = percentiles(
            minutes(resolution.at, WorkItem.submitted_at),
            resolution.item_id == WorkItem.id,
            resolution.kind == EventKind.RESOLVED.value,
            resolution.at >= begin,
            resolution.at < finish,
        )
        return
    rows = session.execute(
        select(first.c.first_at, arrival.at).where(
            arrival.item_id == first.c.item_id,
            arrival.kind == EventKind.ROUTED.value,
            arrival.at >= begin,
            arrival.at < finish,
        )
    ).all()
    report.first_action_minutes = _percentiles(
        [(_aware(a) - _aware(b)).total_seconds() / 60 for a, b in rows]
    )
    resolution = aliased(ItemEvent)
    rows = session.execute(
        select(resolution.at, WorkItem.submitted_at).where(
            resolution.item_id == WorkItem.id,
            resolution.kind == EventKind.RESOLVED.value,
            resolution.at >= begin,
            resolution.at < finish,
        )
    ).all()
    report.resolution_minutes = _percentiles(
        [(_aware(a) - _aware(b)).total_seconds() / 60 for a, b in rows]
    )


def _aware(moment) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


def _deadlines(session: Session, report: Report, begin, finish) -> None:
    """Items whose deadline fell in the period: first action by then, resolved by then."""
    resolution = aliased(ItemEvent)
    resolved_at = (
        select(func.min(resolution.at))
        .where(resolution.item_id == WorkItem.id, resolution.kind == EventKind.RESOLVED.value)
        .scalar_subquery()
    )
    first_at = first_action_of(WorkItem.id)
    row = session.execute(
        select(
            func.count(),
            func.count().filter(first_at <= WorkItem.due_at),
            func.count().filter(resolved_at <= WorkItem.due_at),
        )
        .select_from(WorkItem)
        .where(WorkItem.due_at >= begin, WorkItem.due_at < finish)
    ).one()
    report.deadlines, report.deadline_first_action_met, report.deadline_resolved_met = row


def headline(session: Session, start: date, end: date) -> Report:
    """Only the figures a comparison shows: arrivals, resolutions, deadline attainment."""
    report = Report(start, end)
    begin, finish = _utc(start), _utc(end)
    for kind, name in (
        (EventKind.ROUTED.value, "arrivals"),
        (EventKind.RESOLVED.value, "resolutions"),
    ):
        count = session.scalar(
            select(func.count())
            .select_from(ItemEvent)
            .where(ItemEvent.kind == kind, ItemEvent.at >= begin, ItemEvent.at < finish)
        )
        setattr(report, name, count)
    _deadlines(session, report, begin, finish)
    return report


def previous(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before."""
    length = end - start
    return start - length, start


def import_phone_calls(session: Session, text: str, known: set[str]) -> tuple[int, list[str]]:
    """TeleQ callback statistics as CSV — `date;municipality;calls` per line, a header line
    allowed, `,` or `;` between — stored per day and municipality (a day given again replaces
    its count). All or nothing: any bad line, and nothing is stored; the problems say where."""
    rows, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.replace(",", ";").split(";")]
        if number == 1 and not cells[0][:1].isdigit():
            continue  # the header
        if len(cells) != 3:
            problems.append(f"{number}: date;municipality;calls")
            continue
        day_text, municipality, calls = cells
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            problems.append(f"{number}: {day_text!r}")
            continue
        if municipality not in known:
            problems.append(f"{number}: {municipality!r}")
            continue
        if not calls.isdigit():
            problems.append(f"{number}: {calls!r}")
            continue
        rows.append((day, municipality, int(calls)))
    if problems:
        return 0, problems
    for day, municipality, calls in rows:
        found = session.get(PhoneCalls, (day, municipality))
        if found is None:
            session.add(PhoneCalls(day=day, municipality_code=municipality, calls=calls))
        else:
            found.calls = calls
    session.flush()
    return len(rows), []
