"""The reports the region steers by, computed from what happened to each item — its events
and the moments recorded on it (created, resolved, due) — never from counters that could
drift. Plain SQLAlchemy; no Flask. Each query reads one index (PostgreSQL INCLUDE columns).

A period is a range of days in Finland, [start, end). Events are counted in UTC hours by the
database, and the hours are placed on Finnish days and hours here (Finland's offsets are whole
hours, so this is exact).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, exists, func, select, text
from sqlalchemy.orm import Session, aliased

from ..inbound.deadlines import parse_day
from ..models import (
    OPEN_STATUSES,
    EventKind,
    ItemEvent,
    ItemMessage,
    MessageKind,
    PhoneCalls,
    TemplateUse,
    WorkItem,
)
from ..work.calls import REACHED

HELSINKI = ZoneInfo("Europe/Helsinki")
#: the region's 2025 goals
DIGITAL_SHARE_TARGET = 0.50  # of first-line contacts, against phone calls
OTHER_DIGITAL_SHARE_TARGET = 0.30  # of other contacts and care
SATISFIED_TARGET = 0.60  # of residents satisfied (or a net promoter score of 50)


@dataclass(frozen=True)
class Target:
    """One of the region's 2025 goals: above `threshold`; `measured` is None when the desk
    cannot measure it (yet): `missing` says what it lacks — "phone_calls" (import TeleQ's
    statistics for the period), "other_contacts" (care outside the desk's channels) or
    "satisfaction" (no survey answers reach the desk)."""

    key: str
    threshold: float
    measured: float | None = None
    missing: str | None = None

    @property
    def met(self) -> bool | None:
        """True or False against the threshold (strictly above), None when not measured."""
        return None if self.measured is None else self.measured > self.threshold


@dataclass
class PhoneWork:
    """The period's phone work: callback requests that arrived (by hour and menu topic), and
    the residents the desk began calling in the period (their first attempt in it, on any
    channel): reached at the first attempt, attempts per reached resident, and for callbacks
    the time from the request to the first attempt and whether the call came by the
    deadline."""

    callbacks: int = 0
    callbacks_by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    callbacks_by_topic: Counter = field(default_factory=Counter)
    #: residents (items) whose first call attempt fell in the period, and all their attempts
    called: int = 0
    attempts: int = 0
    reached: int = 0
    reached_first: int = 0
    #: the attempts it took to reach those reached, the reaching one included
    attempts_to_reach: int = 0
    #: minutes from a callback's request to its first attempt: median and 90th percentile
    first_attempt_minutes: dict[str, float | None] = field(
        default_factory=lambda: {"median": None, "p90": None}
    )
    #: callbacks whose deadline fell in the period, and those first called by it
    deadlines: int = 0
    deadlines_met: int = 0

    @property
    def reached_first_share(self) -> float | None:
        return self.reached_first / self.called if self.called else None

    @property
    def attempts_per_reached(self) -> float | None:
        return self.attempts_to_reach / self.reached if self.reached else None

    @property
    def attainment(self) -> float | None:
        return self.deadlines_met / self.deadlines if self.deadlines else None


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
    phone_work: PhoneWork = field(default_factory=PhoneWork)
    #: items resolved in the period after a message to the resident (a message or a request
    #: for more information, not a chat's replies), and those resolved with a callback
    resolved_with_message: int = 0
    resolved_with_call: int = 0

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days)]

    @property
    def phone_arrivals(self) -> int:
        """Arrivals through the phone channels (callbacks): phone contacts, not digital ones."""
        return self.phone_work.callbacks

    @property
    def digital_arrivals(self) -> int:
        return self.arrivals - self.phone_arrivals

    @property
    def digital_share(self) -> float | None:
        """Digital contacts against TeleQ's calls. A callback that reached the desk is one of
        those calls (TeleQ counts it), so it is not a digital contact."""
        total = self.digital_arrivals + self.phone_calls
        return self.digital_arrivals / total if total and self.phone_calls else None

    @property
    def message_share(self) -> float | None:
        """Of the matters resolved with a message or a call, the share with a message."""
        total = self.resolved_with_message + self.resolved_with_call
        return self.resolved_with_message / total if total else None

    @property
    def attainment(self) -> float | None:
        return self.deadline_first_action_met / self.deadlines if self.deadlines else None

    @property
    def targets(self) -> list[Target]:
        """The region's 2025 goals for the digital centre (its plan): the digital share of
        first-line contacts over 50 % (phone calls the other part), measured here once the
        period's phone calls are imported; the digital share of other contacts and care over
        30 %, and satisfaction (NPS 50, or over 60 % satisfied), which the desk has no data for."""
        share = self.digital_share
        return [
            Target(
                "digital_first_line",
                DIGITAL_SHARE_TARGET,
                share,
                None if share is not None else "phone_calls",
            ),
            Target("digital_other", OTHER_DIGITAL_SHARE_TARGET, missing="other_contacts"),
            Target("satisfied", SATISFIED_TARGET, missing="satisfaction"),
        ]


def start_of_day_utc(day: date) -> datetime:
    """The moment a day begins in Finland, in UTC: where a report's period starts or ends."""
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


def build(
    session: Session, start: date, end: date, phone_channels: Collection[str] = ("callback",)
) -> Report:
    """The period's report; `phone_channels` are the channels whose items are phone contacts
    (the registry's non-digital channels)."""
    report = Report(start, end)
    for day in report.days:
        report.by_day[day] = [0, 0]
    begin, finish = start_of_day_utc(start), start_of_day_utc(end)
    dialect = session.get_bind().dialect.name
    in_period = and_(ItemEvent.at >= begin, ItemEvent.at < finish)
    if dialect == "postgresql":
        # A month's first actions are grouped and sorted in memory, not spilled to disk
        # (this transaction only; the report reads, it changes nothing).
        session.execute(text("SET LOCAL work_mem = '64MB'"))

    def bump(table: dict, key, slot: int, n: int) -> None:
        table.setdefault(key, [0, 0])[slot] += n

    # Arrivals and resolutions: when each item was created (and routed, at once) and when it
    # was resolved, read from indexes that hold the channel, municipality and queue; each
    # counted per hour and per channel, municipality and queue in one scan.
    for moment_column, slot in ((WorkItem.created_at, 0), (WorkItem.resolved_at, 1)):
        dimensions = {
            "hour": _hour(moment_column, dialect),
            "channel": WorkItem.channel,
            "municipality": WorkItem.municipality_code,
            "queue": WorkItem.queue_code,
        }
        if slot == 0:
            del dimensions["queue"]  # arrivals by the queue they landed in: from the events
        period = (moment_column >= begin, moment_column < finish)
        counted = _counts_by(session, dimensions, period, dialect)
        for key, n in counted.pop("hour"):
            moment = _local(key)
            bump(report.by_day, moment.date(), slot, n)
            if slot == 0:
                report.arrivals += n
                report.by_hour[moment.hour] += n
            else:
                report.resolutions += n
        tables = {
            "channel": report.by_channel,
            "municipality": report.by_municipality,
            "queue": report.by_queue,
        }
        for name, pairs in counted.items():
            for key, n in pairs:
                bump(tables[name], key, slot, n)
    for queue, n in session.execute(
        select(ItemEvent.to_queue_code, func.count())
        .where(ItemEvent.kind == EventKind.ROUTED.value, in_period)
        .group_by(ItemEvent.to_queue_code)
    ):
        bump(report.by_queue, queue, 0, n)
    for outcome, n in session.execute(
        select(ItemEvent.outcome_code, func.count())
        .where(ItemEvent.kind == EventKind.RESOLVED.value, in_period)
        .group_by(ItemEvent.outcome_code)
    ):
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
    _messages_and_calls(session, report, begin, finish)
    _phone_work(session, report.phone_work, begin, finish, dialect, phone_channels)

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


def _counts_by(session: Session, dimensions: dict, period: tuple, dialect: str) -> dict:
    """Counts per value of each dimension (name → [(value, n)]). On PostgreSQL one scan with
    GROUPING SETS does them all; elsewhere one query each."""
    if dialect != "postgresql":
        return {
            name: session.execute(
                select(column, func.count()).where(*period).group_by(column)
            ).all()
            for name, column in dimensions.items()
        }
    names = list(dimensions)
    rows = session.execute(
        select(
            *[column.label(name) for name, column in dimensions.items()],
            *[func.grouping(column).label(f"g_{name}") for name, column in dimensions.items()],
            func.count().label("n"),
        )
        .where(*period)
        .group_by(func.grouping_sets(*dimensions.values()))
    )
    counted: dict[str, list] = {name: [] for name in names}
    for row in rows:
        values = row._mapping
        # GROUPING(column) is 0 for the one dimension this row is counted by.
        name = next(n for n in names if values[f"g_{n}"] == 0)
        counted[name].append((values[name], values["n"]))
    return counted


def _durations(session: Session, report: Report, begin, finish, dialect: str) -> None:
    """Median and 90th percentile, in minutes: arrival to first action (items arrived in the
    period) and arrival to resolution (items resolved in the period)."""
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
            minutes(WorkItem.first_action_at, WorkItem.created_at),
            WorkItem.created_at >= begin,
            WorkItem.created_at < finish,
            WorkItem.first_action_at.is_not(None),
        )
        report.resolution_minutes = percentiles(
            minutes(WorkItem.resolved_at, WorkItem.submitted_at),
            WorkItem.resolved_at >= begin,
            WorkItem.resolved_at < finish,
        )
        return
    rows = session.execute(
        select(WorkItem.first_action_at, WorkItem.created_at).where(
            WorkItem.created_at >= begin,
            WorkItem.created_at < finish,
            WorkItem.first_action_at.is_not(None),
        )
    ).all()
    report.first_action_minutes = _percentiles(
        [(as_utc(a) - as_utc(b)).total_seconds() / 60 for a, b in rows]
    )
    rows = session.execute(
        select(WorkItem.resolved_at, WorkItem.submitted_at).where(
            WorkItem.resolved_at >= begin, WorkItem.resolved_at < finish
        )
    ).all()
    report.resolution_minutes = _percentiles(
        [(as_utc(a) - as_utc(b)).total_seconds() / 60 for a, b in rows]
    )


def as_utc(moment) -> datetime:
    """A stored moment as an aware UTC datetime (SQLite gives text or naive values)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


#: the outcome that says the matter was settled by calling the resident back
CALLBACK_OUTCOME = "callback-arranged"
#: the messages that answer a matter instead of a call (a chat's replies are the chat itself)
_INSTEAD_OF_A_CALL = (MessageKind.MESSAGE.value, MessageKind.REQUEST.value)


def _messages_and_calls(session: Session, report: Report, begin, finish) -> None:
    """Items resolved in the period: those settled with a callback, and the others that the
    professional answered with a message (the plan's comparison: a message is the faster way)."""
    called = func.coalesce(WorkItem.outcome_code == CALLBACK_OUTCOME, False)
    messaged = exists().where(
        ItemMessage.item_id == WorkItem.id,
        ItemMessage.outgoing.is_(True),
        ItemMessage.kind.in_(_INSTEAD_OF_A_CALL),
    )
    row = session.execute(
        select(
            func.coalesce(func.sum(case((and_(messaged, ~called), 1), else_=0)), 0),
            func.count().filter(called),
        ).where(WorkItem.resolved_at >= begin, WorkItem.resolved_at < finish)
    ).one()
    report.resolved_with_message, report.resolved_with_call = (int(n) for n in row)


def _phone_work(
    session: Session, work: PhoneWork, begin, finish, dialect: str, phone_channels
) -> None:
    """Callbacks by hour and topic, and what came of the calls begun in the period."""
    if phone_channels:
        topic = WorkItem.content["callback"]["topic"].as_string()
        hour = _hour(WorkItem.created_at, dialect)
        for hour_number, topic_code, n in session.execute(
            select(hour, topic, func.count())
            .where(
                WorkItem.created_at >= begin,
                WorkItem.created_at < finish,
                WorkItem.channel.in_(phone_channels),
            )
            .group_by(hour, topic)
        ):
            work.callbacks += n
            work.callbacks_by_hour[_local(hour_number).hour] += n
            work.callbacks_by_topic[topic_code] += n
    # Every attempt on the items first called in the period (ix_item_event_kind_at for the
    # period, ix_item_event_item for each item's earlier and later attempts).
    call = EventKind.CALL_ATTEMPT.value
    earlier = aliased(ItemEvent)
    first_called = (
        select(ItemEvent.item_id)
        .where(ItemEvent.kind == call, ItemEvent.at >= begin, ItemEvent.at < finish)
        .where(
            ~exists().where(
                earlier.item_id == ItemEvent.item_id, earlier.kind == call, earlier.at < begin
            )
        )
    )
    rows = session.execute(
        select(
            ItemEvent.item_id,
            ItemEvent.at,
            ItemEvent.outcome_code,
            WorkItem.channel,
            WorkItem.submitted_at,
        )
        .join(WorkItem, WorkItem.id == ItemEvent.item_id)
        .where(ItemEvent.kind == call, ItemEvent.item_id.in_(first_called))
        .order_by(ItemEvent.item_id, ItemEvent.at, ItemEvent.id)
    ).all()
    waits = []
    for _item, attempts in groupby(rows, key=lambda row: row.item_id):
        attempts = list(attempts)
        results = [row.outcome_code for row in attempts]
        work.called += 1
        work.attempts += len(attempts)
        if REACHED in results:
            work.reached += 1
            work.attempts_to_reach += results.index(REACHED) + 1
            work.reached_first += results[0] == REACHED
        first = attempts[0]
        if first.channel in phone_channels:
            waits.append((as_utc(first.at) - as_utc(first.submitted_at)).total_seconds() / 60)
    work.first_attempt_minutes = _percentiles(waits)
    if phone_channels:
        first_attempt = (
            select(func.min(ItemEvent.at))
            .where(ItemEvent.item_id == WorkItem.id, ItemEvent.kind == call)
            .scalar_subquery()
        )
        work.deadlines, work.deadlines_met = session.execute(
            select(func.count(), func.count().filter(first_attempt <= WorkItem.due_at)).where(
                WorkItem.due_at >= begin,
                WorkItem.due_at < finish,
                WorkItem.channel.in_(phone_channels),
            )
        ).one()


def _deadlines(session: Session, report: Report, begin, finish) -> None:
    """Items whose deadline fell in the period: first action by then, resolved by then."""
    row = session.execute(
        select(
            func.count(),
            func.count().filter(WorkItem.first_action_at <= WorkItem.due_at),
            func.count().filter(WorkItem.resolved_at <= WorkItem.due_at),
        )
        .select_from(WorkItem)
        .where(WorkItem.due_at >= begin, WorkItem.due_at < finish)
    ).one()
    report.deadlines, report.deadline_first_action_met, report.deadline_resolved_met = row


def headline(session: Session, start: date, end: date) -> Report:
    """Only the figures a comparison shows: arrivals, resolutions, deadline attainment."""
    report = Report(start, end)
    begin, finish = start_of_day_utc(start), start_of_day_utc(end)
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


@dataclass(frozen=True)
class LineProblem:
    """Why a line of an import was refused: `kind` is "columns", "date", "municipality" or
    "calls"; `value` is the cell as written."""

    line: int
    kind: str
    value: str = ""


def _plain(name: str) -> str:
    """A name as compared on import: case, accents and spaces aside ("Lapinjärvi",
    "LAPINJARVI" and "lapinjärvi " are one)."""
    decomposed = unicodedata.normalize("NFKD", name.strip().casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def municipality_names(rows: Iterable[tuple[str, ...]]) -> dict[str, str]:
    """What an import may call a municipality → its code: the code and each name, written
    any case and with or without accents. `rows` are (code, name, name, …)."""
    return {_plain(name): row[0] for row in rows for name in row if name}


def _day_written(text: str) -> date:
    """A day as TeleQ or a spreadsheet writes it: 2026-10-01 or 1.10.2026."""
    if "." in text:
        parts = text.rstrip(".").split(".")
        if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
            raise ValueError(text)
        return parse_day(f"{int(parts[2]):04d}-{int(parts[1]):02d}-{int(parts[0]):02d}")
    return parse_day(text)


def import_lines(
    text: str, fields: int, municipalities: dict[str, str] | set[str], problems: list
) -> Iterator[tuple[int, list[str], str]]:
    """The data lines of an import (CSV, a header line allowed, `,` or `;` between, blank
    lines skipped) with `fields` cells, the second naming a municipality by its code or its
    name (`municipality_names`; a set of codes is taken as they are): (line number, cells,
    municipality code). A line with another number of cells or an unknown municipality is
    added to `problems` instead."""
    if not isinstance(municipalities, dict):
        municipalities = municipality_names((code,) for code in municipalities)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.replace(",", ";").split(";")]
        if number == 1 and not cells[0][:1].isdigit():
            continue  # the header
        if len(cells) != fields:
            problems.append(LineProblem(number, "columns", line.strip()[:60]))
            continue
        code = municipalities.get(_plain(cells[1]))
        if code is None:
            problems.append(LineProblem(number, "municipality", cells[1][:40]))
            continue
        yield number, cells, code


def whole_number(text: str) -> bool:
    """A count as an import writes it: digits only, at most nine."""
    return text.isascii() and text.isdigit() and len(text) <= 9


def import_phone_calls(
    session: Session, text: str, municipalities: dict[str, str] | set[str]
) -> tuple[int, list[LineProblem]]:
    """TeleQ callback statistics as CSV — `date;municipality;calls` per line, a header line
    allowed, `,` or `;` between, the day as 2026-10-01 or 1.10.2026, the municipality by its
    code or its name in any of the desk's languages (`municipalities`: see
    `municipality_names`; a set of codes is taken as they are) — stored per day and
    municipality (a day given again replaces its count). All or nothing: any bad line, and
    nothing is stored; the problems say where and what."""
    rows: dict[tuple[date, str], int] = {}  # a day and municipality given again: the last
    problems: list[LineProblem] = []
    for number, cells, code in import_lines(text, 3, municipalities, problems):
        day_text, _municipality, calls = cells
        try:
            day = _day_written(day_text)
        except ValueError:
            problems.append(LineProblem(number, "date", day_text[:40]))
            continue
        if not whole_number(calls):
            problems.append(LineProblem(number, "calls", calls[:40]))
            continue
        rows[day, code] = int(calls)
    if problems:
        return 0, problems
    for (day, municipality), calls in rows.items():
        found = session.get(PhoneCalls, (day, municipality))
        if found is None:
            session.add(PhoneCalls(day=day, municipality_code=municipality, calls=calls))
        else:
            found.calls = calls
    session.flush()
    return len(rows), []
