"""The region's three 2025 targets, month by month and municipality by municipality, from the
sources each is measured on. Plain SQLAlchemy; no Flask.

- **Digital share of first-line contacts over 50 %**: the desk's items from its digital
  channels against the phone calls imported from TeleQ (a callback that reached the desk is
  one of those calls, so it is not counted as digital).
- **Digital share of other contacts and care over 30 %**: the monthly import of care contacts
  by mode; remote (video) appointments and digital messages are digital, in-person visits and
  phone calls are not.
- **Residents' satisfaction: NPS 50, or over 60 % satisfied**, of the digital services (the
  plan's words): the answers source systems deliver after a matter ended. The answers about
  phone channels are shown beside them but do not count towards the target.

A figure whose source is missing is None, never 0 %, and the cells that lack it are listed
(`Measure.missing`): a region's month is measured only when every municipality's source is
there, and a period over the months that are measured, which the page says.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..models import (
    CareContacts,
    ItemFeedback,
    MonthlyArrivals,
    PhoneCalls,
    WorkItem,
    utcnow,
)
from . import (
    DIGITAL_SHARE_TARGET,
    HELSINKI,
    OTHER_DIGITAL_SHARE_TARGET,
    SATISFIED_TARGET,
    LineProblem,
    _day_written,
    _plain,
    import_lines,
    start_of_day_utc,
    whole_number,
)

#: the modes of other contacts and care, as the import names them; the last two are digital
MODES = ("in_person", "phone", "remote", "digital")
DIGITAL_MODES = frozenset({"remote", "digital"})
#: the net promoter score the target accepts instead of the share satisfied
NPS_TARGET = 50
#: fewer answers than this, and a figure is shown but not judged
MIN_ANSWERS = 30
FIRST_LINE, OTHER_CARE, SATISFACTION = "digital_first_line", "digital_other", "satisfied"
#: the region as a whole, where a municipality would be
REGION = ""


def month_after(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_between(first: date, last: date) -> list[date]:
    """The first days of the months from `first`'s to `last`'s, both included."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = month_after(month)
    return months


@dataclass
class Share:
    """A digital share: `digital` of `digital + other`. `measured` is False when the source
    of `other` (phone statistics, care contacts) is missing for the cell."""

    digital: int = 0
    other: int = 0
    measured: bool = True

    @property
    def total(self) -> int:
        return self.digital + self.other

    @property
    def value(self) -> float | None:
        return self.digital / self.total if self.measured and self.total else None

    def add(self, other: Share) -> None:
        self.digital += other.digital
        self.other += other.other


@dataclass
class Satisfaction:
    """Answers to the satisfaction question: NPS from the 0–10 scores (promoters 9–10 minus
    detractors 0–6, in points of a hundred), and the share satisfied of those who said."""

    answers: int = 0
    promoters: int = 0
    detractors: int = 0
    satisfied: int = 0
    #: answers that said satisfied or not (the question is optional)
    rated: int = 0

    @property
    def measured(self) -> bool:
        return self.answers > 0

    @property
    def nps(self) -> float | None:
        return 100 * (self.promoters - self.detractors) / self.answers if self.answers else None

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None

    @property
    def value(self) -> float | None:
        """The share satisfied: the figure the chart follows."""
        return self.satisfied_share

    @property
    def too_few(self) -> bool:
        return 0 < self.answers < MIN_ANSWERS

    def add(self, other: Satisfaction) -> None:
        self.answers += other.answers
        self.promoters += other.promoters
        self.detractors += other.detractors
        self.satisfied += other.satisfied
        self.rated += other.rated


def verdict(key: str, cell: Share | Satisfaction | None) -> bool | None:
    """Met (True), not met (False), or not judged (None: not measured, or too few answers)."""
    if cell is None or not cell.measured:
        return None
    if isinstance(cell, Satisfaction):
        if cell.too_few:
            return None
        share = cell.satisfied_share
        return cell.nps >= NPS_TARGET or (share is not None and share > SATISFIED_TARGET)
    if cell.value is None:
        return None
    threshold = DIGITAL_SHARE_TARGET if key == FIRST_LINE else OTHER_DIGITAL_SHARE_TARGET
    return cell.value > threshold


@dataclass
class Measure:
    """One target: a cell per (month, municipality) — `REGION` for the whole region — and
    per month and municipality over the period (`month` None)."""

    key: str
    threshold: float
    cells: dict[tuple[date | None, str], Share | Satisfaction] = field(default_factory=dict)
    #: the months the region was measured in, and per month the municipalities missing
    measured_months: list[date] = field(default_factory=list)
    missing: dict[date, list[str]] = field(default_factory=dict)

    def cell(self, month: date | None, municipality: str = REGION) -> Share | Satisfaction | None:
        return self.cells.get((month, municipality))

    @property
    def period(self) -> Share | Satisfaction | None:
        return self.cells.get((None, REGION))

    @property
    def met(self) -> bool | None:
        return verdict(self.key, self.period)

    def missing_runs(self) -> list[tuple[date, date, list[str]]]:
        """The missing sources as runs of months that lack the same municipalities: (first
        month, last month, municipalities), so a year never imported is one line, not twelve."""
        runs: list[tuple[date, date, list[str]]] = []
        for month, codes in sorted(self.missing.items()):
            if runs and runs[-1][2] == codes and month_after(runs[-1][1]) == month:
                runs[-1] = (runs[-1][0], month, codes)
            else:
                runs.append((month, month, codes))
        return runs


@dataclass
class Targets:
    months: list[date]
    municipalities: list[str]
    first_line: Measure = field(default_factory=lambda: Measure(FIRST_LINE, DIGITAL_SHARE_TARGET))
    other_care: Measure = field(
        default_factory=lambda: Measure(OTHER_CARE, OTHER_DIGITAL_SHARE_TARGET)
    )
    satisfaction: Measure = field(default_factory=lambda: Measure(SATISFACTION, SATISFIED_TARGET))
    #: first-line contacts per month and channel (the digital channels, and "phone": TeleQ's
    #: calls, None where not imported)
    contacts_by_channel: dict[date, dict[str, int | None]] = field(default_factory=dict)
    #: other contacts and care per month and mode (None: no municipality imported the month)
    care_by_mode: dict[date, dict[str, int] | None] = field(default_factory=dict)
    #: satisfaction over the period by channel and by queue (all channels; the target counts
    #: the digital ones), and per month by channel
    satisfaction_by_channel: dict[str, Satisfaction] = field(default_factory=dict)
    satisfaction_by_queue: dict[str, Satisfaction] = field(default_factory=dict)
    satisfaction_by_month_channel: dict[tuple[date, str], Satisfaction] = field(
        default_factory=dict
    )
    #: the queues with answers about the digital services (the others' count for nothing)
    digital_queues: set[str] = field(default_factory=set)
    #: days of the month with phone statistics, per municipality (a partly imported month)
    phone_days: dict[tuple[date, str], int] = field(default_factory=dict)

    @property
    def measures(self) -> list[Measure]:
        return [self.first_line, self.other_care, self.satisfaction]


def build(
    session: Session,
    first_month: date,
    last_month: date,
    municipalities: Collection[str],
    phone_channels: Collection[str] = ("callback",),
    now: datetime | None = None,
) -> Targets:
    """The three targets for the months from `first_month` to `last_month`, both included,
    for these municipalities (the region's). The arrivals of months ended before `now` are
    kept once counted (`MonthlyArrivals`): the caller commits to keep them."""
    months = months_between(first_month, last_month)
    targets = Targets(months, sorted(municipalities))
    _first_line(session, targets, set(phone_channels), now or utcnow())
    _other_care(session, targets)
    _satisfaction(session, targets, set(phone_channels))
    return targets


def _settle(measure: Measure, months: list[date], municipalities: list[str], empty) -> None:
    """The region's months (measured when every municipality's cell is), the period per
    municipality (over its measured months) and for the region (over the region's)."""
    for municipality in municipalities:
        over = empty()
        for month in months:
            cell = measure.cells.setdefault((month, municipality), empty())
            if cell.measured:
                over.add(cell)
        if isinstance(over, Share):
            over.measured = any(measure.cells[m, municipality].measured for m in months)
        measure.cells[None, municipality] = over
    region = empty()
    for month in months:
        cell = measure.cells.setdefault((month, REGION), empty())
        lacking = [m for m in municipalities if not measure.cells[month, m].measured]
        if measure.key == SATISFACTION:
            # Answers are measured where they are; a municipality without any is not a gap.
            lacking = [] if cell.measured else lacking
        if lacking:
            measure.missing[month] = lacking
            if isinstance(cell, Share):
                cell.measured = False
        if cell.measured:
            measure.measured_months.append(month)
            region.add(cell)
    if isinstance(region, Share):
        region.measured = bool(measure.measured_months)
    measure.cells[None, REGION] = region


def arrivals(session: Session, month: date, now: datetime) -> list[tuple[str | None, str, int]]:
    """The items that arrived in `month`, by municipality and channel: counted from the items
    (an index-only scan of their arrival times) and, for a month that has ended, kept."""
    finish = start_of_day_utc(month_after(month))
    ended = finish <= now
    if ended:
        kept = session.execute(
            select(
                MonthlyArrivals.municipality_code, MonthlyArrivals.channel, MonthlyArrivals.items
            ).where(MonthlyArrivals.month == month)
        ).all()
        if kept:
            return [(municipality or None, channel, n) for municipality, channel, n in kept]
    counted = [
        tuple(row)
        for row in session.execute(
            select(WorkItem.municipality_code, WorkItem.channel, func.count())
            .where(WorkItem.created_at >= start_of_day_utc(month), WorkItem.created_at < finish)
            .group_by(WorkItem.municipality_code, WorkItem.channel)
        )
    ]
    if ended and counted:
        rows = [
            {"month": month, "municipality_code": m or "", "channel": c, "items": n}
            for m, c, n in counted
        ]
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        # Two views counting the same month at once keep it once.
        session.execute(insert(MonthlyArrivals).values(rows).on_conflict_do_nothing())
    return counted


def forget_arrivals(session: Session, created_at: datetime) -> None:
    """An item's municipality changed: its month is counted again when next asked for."""
    month = created_at.astimezone(HELSINKI).date().replace(day=1)
    session.execute(delete(MonthlyArrivals).where(MonthlyArrivals.month == month))


def _first_line(
    session: Session, targets: Targets, phone_channels: set[str], now: datetime
) -> None:
    measure = targets.first_line
    for month in targets.months:
        by_channel: dict[str, int | None] = {}
        region = measure.cells[month, REGION] = Share()
        for municipality, channel, n in arrivals(session, month, now):
            if channel in phone_channels:
                continue  # TeleQ counted the call
            by_channel[channel] = by_channel.get(channel, 0) + n
            region.digital += n
            if municipality is not None:
                measure.cells.setdefault((month, municipality), Share()).digital += n
        by_channel["phone"] = None
        targets.contacts_by_channel[month] = by_channel
    first, end = targets.months[0], month_after(targets.months[-1])
    for day, municipality, calls in session.execute(
        select(PhoneCalls.day, PhoneCalls.municipality_code, PhoneCalls.calls).where(
            PhoneCalls.day >= first, PhoneCalls.day < end
        )
    ):
        month = day.replace(day=1)
        measure.cells.setdefault((month, municipality), Share()).other += calls
        measure.cells[month, REGION].other += calls
        key = (month, municipality)
        targets.phone_days[key] = targets.phone_days.get(key, 0) + 1
        by_channel = targets.contacts_by_channel[month]
        by_channel["phone"] = (by_channel["phone"] or 0) + calls
    for month in targets.months:
        for municipality in targets.municipalities:
            cell = measure.cells.setdefault((month, municipality), Share())
            cell.measured = (month, municipality) in targets.phone_days
    _settle(measure, targets.months, targets.municipalities, Share)


def _other_care(session: Session, targets: Targets) -> None:
    measure = targets.other_care
    first, end = targets.months[0], month_after(targets.months[-1])
    imported: set[tuple[date, str]] = set()
    for month in targets.months:
        measure.cells[month, REGION] = Share()
        targets.care_by_mode[month] = None
    for month, municipality, mode, n in session.execute(
        select(
            CareContacts.month,
            CareContacts.municipality_code,
            CareContacts.mode,
            CareContacts.contacts,
        ).where(CareContacts.month >= first, CareContacts.month < end)
    ):
        imported.add((month, municipality))
        cell = measure.cells.setdefault((month, municipality), Share())
        slot = "digital" if mode in DIGITAL_MODES else "other"
        setattr(cell, slot, getattr(cell, slot) + n)
        region = measure.cells[month, REGION]
        setattr(region, slot, getattr(region, slot) + n)
        modes = targets.care_by_mode[month] or dict.fromkeys(MODES, 0)
        modes[mode] = modes.get(mode, 0) + n
        targets.care_by_mode[month] = modes
    for month in targets.months:
        for municipality in targets.municipalities:
            cell = measure.cells.setdefault((month, municipality), Share())
            cell.measured = (month, municipality) in imported
    _settle(measure, targets.months, targets.municipalities, Share)


def _satisfaction(session: Session, targets: Targets, phone_channels: set[str]) -> None:
    """Per month, one read of the answers' covering index grouped by municipality, channel
    and queue; every other breakdown is summed from those rows."""
    measure = targets.satisfaction
    counts = (
        func.count(),
        func.count().filter(ItemFeedback.score >= 9),
        func.count().filter(ItemFeedback.score <= 6),
        func.count().filter(ItemFeedback.satisfied.is_(True)),
        func.count(ItemFeedback.satisfied),
    )
    for month in targets.months:
        begin, finish = start_of_day_utc(month), start_of_day_utc(month_after(month))
        region = measure.cells[month, REGION] = Satisfaction()
        for municipality, channel, queue, *figures in session.execute(
            select(
                ItemFeedback.municipality_code,
                ItemFeedback.channel,
                ItemFeedback.queue_code,
                *counts,
            )
            .where(ItemFeedback.at >= begin, ItemFeedback.at < finish)
            .group_by(ItemFeedback.municipality_code, ItemFeedback.channel, ItemFeedback.queue_code)
        ):
            answers = Satisfaction(*(int(n or 0) for n in figures))
            for table, key in (
                (targets.satisfaction_by_channel, channel),
                (targets.satisfaction_by_queue, queue),
                (targets.satisfaction_by_month_channel, (month, channel)),
            ):
                table.setdefault(key, Satisfaction()).add(answers)
            if channel in phone_channels:
                continue  # the target is of the digital services
            targets.digital_queues.add(queue)
            region.add(answers)
            if municipality is not None:
                measure.cells.setdefault((month, municipality), Satisfaction()).add(answers)
    _settle(measure, targets.months, targets.municipalities, Satisfaction)


# --- the import of other contacts and care -------------------------------------------------

#: what an import may call a mode (any case, accents aside) → the mode
MODE_NAMES = {
    _plain(name): mode
    for mode, names in {
        "in_person": ("in_person", "in person", "lähikäynti", "vastaanotto", "fysisk", "besök"),
        "phone": ("phone", "puhelin", "telefon"),
        "remote": ("remote", "video", "etävastaanotto", "etä", "distans", "videomottagning"),
        "digital": ("digital", "message", "viesti", "digitaalinen", "meddelande"),
    }.items()
    for name in names
}


def _month_written(text: str) -> date:
    """A month as a spreadsheet writes it: 2026-10, 10/2026, 10.2026 (or the month's first
    day, 2026-10-01 or 1.10.2026)."""
    cleaned = text.strip().rstrip(".")
    for separator in ("/", "."):
        parts = cleaned.split(separator)
        if len(parts) == 2 and all(p.isascii() and p.isdigit() for p in parts):
            month, year = int(parts[0]), int(parts[1])
            if len(parts[1]) == 4 and 1 <= month <= 12:
                return date(year, month, 1)
            raise ValueError(text)
    parts = cleaned.split("-")
    if len(parts) == 2 and all(p.isascii() and p.isdigit() for p in parts) and len(parts[0]) == 4:
        year, month = int(parts[0]), int(parts[1])
        if 1 <= month <= 12:
            return date(year, month, 1)
        raise ValueError(text)
    day = _day_written(cleaned)
    if day.day != 1:
        raise ValueError(text)
    return day


def import_care_contacts(
    session: Session, text: str, municipalities: dict[str, str] | set[str]
) -> tuple[int, list[LineProblem]]:
    """Other contacts and care as CSV — `month;municipality;mode;contacts` per line, a header
    line allowed, `,` or `;` between; the month as 2026-10 or 10/2026; the municipality by code
    or name (`municipality_names`); the mode as in `MODE_NAMES` — stored per month,
    municipality and mode (a month given again replaces what it gave). All or nothing: any bad
    line and nothing is stored; the problems say where and what (`kind`: "columns", "month",
    "municipality", "mode", "contacts")."""
    rows: dict[tuple[date, str, str], int] = {}
    problems: list[LineProblem] = []
    for number, cells, code in import_lines(text, 4, municipalities, problems):
        month_text, _municipality, mode_text, contacts = cells
        try:
            month = _month_written(month_text)
        except ValueError:
            problems.append(LineProblem(number, "month", month_text[:40]))
            continue
        mode = MODE_NAMES.get(_plain(mode_text))
        if mode is None:
            problems.append(LineProblem(number, "mode", mode_text[:40]))
            continue
        if not whole_number(contacts):
            problems.append(LineProblem(number, "contacts", contacts[:40]))
            continue
        rows[month, code, mode] = rows.get((month, code, mode), 0) + int(contacts)
    if problems:
        return 0, problems
    # A month and municipality given again replaces all its modes: a corrected file whole.
    for month, code in {(month, code) for month, code, _mode in rows}:
        for old in session.scalars(
            select(CareContacts).where(
                CareContacts.month == month, CareContacts.municipality_code == code
            )
        ):
            session.delete(old)
    session.flush()
    for (month, code, mode), contacts in rows.items():
        session.add(CareContacts(month=month, municipality_code=code, mode=mode, contacts=contacts))
    session.flush()
    return len({(month, code) for month, code, _mode in rows}), []
