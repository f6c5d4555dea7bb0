"""The desk's data model: plain SQLAlchemy 2, no Flask.

Reference data (municipalities, system areas, queues, routing rules, outcomes, service areas)
is data loaded by `flask desk init`; work items and their events are the desk's working state.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    mapped_column,
    query_expression,
    registry,
    relationship,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the desk stores aware timestamps only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON documents as JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), dict[str, Any]: JSONDocument},
    )


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Localised:
    """Reference rows named in Finnish, Swedish and English."""

    name_fi: Mapped[str]
    name_sv: Mapped[str]
    name_en: Mapped[str]

    def name(self, language: str) -> str:
        """The name in `language`, Finnish when that language has none."""
        return getattr(self, f"name_{language}", None) or self.name_fi


# --- reference data -------------------------------------------------------------------------


class Municipality(Localised, Base):
    __tablename__ = "municipality"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_fi: Mapped[str] = mapped_column(String(80))
    name_sv: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))


class SystemArea(Localised, Base):
    """Municipalities sharing one client and patient information system."""

    __tablename__ = "system_area"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_fi: Mapped[str] = mapped_column(String(120))
    name_sv: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))


class SystemAreaMembership(Base):
    """Which system area a municipality belongs to, from a date (a move is a new row)."""

    __tablename__ = "system_area_membership"
    __table_args__ = (UniqueConstraint("municipality_code", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipality.code"))
    system_area_code: Mapped[str] = mapped_column(ForeignKey("system_area.code"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class ServiceArea(Localised, Base):
    __tablename__ = "service_area"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_fi: Mapped[str] = mapped_column(String(80))
    name_sv: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))


class Queue(Localised, Base):
    """A work queue. `kind` is what routing rules point at; the area makes it concrete."""

    __tablename__ = "queue"
    __table_args__ = (UniqueConstraint("kind", "system_area_code"),)

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    system_area_code: Mapped[str | None] = mapped_column(ForeignKey("system_area.code"))
    service_area_code: Mapped[str] = mapped_column(ForeignKey("service_area.code"))
    name_fi: Mapped[str] = mapped_column(String(120))
    name_sv: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: manual (people take), round_robin or least_loaded (the desk gives)
    assignment: Mapped[str] = mapped_column(String(16), default="manual")
    #: a live chat's resident is answered within this many minutes of their first unanswered
    #: message (an operational target that orders the chat, not a legal deadline)
    chat_response_minutes: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    #: phone calls (desk.work.calls): an unanswered attempt is tried again at least this many
    #: minutes later, within these hours (Europe/Helsinki, "HH:MM") of a working day, and at
    #: most this many attempts are made before someone decides
    call_retry_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    call_max_attempts: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    call_hours_from: Mapped[str] = mapped_column(String(5), default="08:00", server_default="08:00")
    call_hours_to: Mapped[str] = mapped_column(String(5), default="16:00", server_default="16:00")


class RoutingRule(Base):
    """Where a delivery lands: the first matching rule valid on the day of arrival wins.

    `identified` and `form_type` are conditions (NULL matches anything); `queue_kind` names the
    queue kind, made concrete by the resident's system area unless `regional`.
    """

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(32))
    identified: Mapped[bool | None] = mapped_column(Boolean)
    form_type: Mapped[str | None] = mapped_column(String(64))
    queue_kind: Mapped[str] = mapped_column(String(32))
    regional: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class OutcomeCode(Localised, Base):
    __tablename__ = "outcome_code"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name_fi: Mapped[str] = mapped_column(String(160))
    name_sv: Mapped[str] = mapped_column(String(160))
    name_en: Mapped[str] = mapped_column(String(160))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ReferenceGeneration(Base):
    """One row whose `n` takes a value never used before with every statement that changes
    a reference table (triggers, migration 0036): what a process keeps of those tables
    (desk.kept) is good while `n` stands."""

    __tablename__ = "reference_generation"

    #: always 1 (one row; no sequence of ids)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger)


# --- people ----------------------------------------------------------------------------------


class Role(enum.StrEnum):
    PROFESSIONAL = "professional"
    TEAM_LEAD = "team_lead"
    TRAINER = "trainer"
    ADMIN = "admin"
    #: reads the access log to answer residents' requests; sees no item itself
    AUDITOR = "auditor"
    #: a new professional in onboarding: works in the training space only
    TRAINEE = "trainee"


class QueueMembership(Base):
    __tablename__ = "queue_membership"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    queue_code: Mapped[str] = mapped_column(ForeignKey("queue.code"), primary_key=True)


class MunicipalityScope(Base):
    __tablename__ = "municipality_scope"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    municipality_code: Mapped[str] = mapped_column(
        ForeignKey("municipality.code"), primary_key=True
    )


def _codes(user: User, collection: str, gathered_in: str) -> set[str]:
    """The codes of the user's `collection`: as the statement that read the user gathered
    them (in the attribute `gathered_in`), unless the collection itself is at hand (loaded,
    or changed since). Only what is loaded is looked at: asking the attribute for a value
    not loaded would read it alone, which the ORM cannot do for an expression."""
    loaded = inspect(user).dict
    gathered = loaded.get(gathered_in)
    if gathered is not None and collection not in loaded:
        return set(gathered.split(",")) - {""}
    return {row.code for row in getattr(user, collection)}


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    #: the role in the real desk; trainer or trainee for an account that works only in training
    role: Mapped[str] = mapped_column(String(32), default=Role.PROFESSIONAL.value)
    #: trainer or trainee in the training space, for an account that also holds a real role
    training_role: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(2), default="fi")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: the Keycloak subject (`sub`) of an account that signs in through the region's SSO
    sso_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    #: available, busy, on a break or offline (desk.work.assignment)
    status: Mapped[str] = mapped_column(String(16), default="offline")
    status_since: Mapped[datetime | None]
    #: when this person closed the first-day tour (the training space's tour in its own
    #: database); None: it opens by itself on their next visit to My work
    tour_seen_at: Mapped[datetime | None]
    #: how much work in hand (weighted by channel) the desk may give this person at once
    capacity: Mapped[int] = mapped_column(Integer, default=6)
    #: when the desk last gave this person an item (round-robin order)
    last_assigned_at: Mapped[datetime | None]
    #: how residents see this person in messages: a first name they chose (None: the first
    #: word of the display name) and their professional title per language (never a username)
    public_name: Mapped[str | None] = mapped_column(String(60))
    title_fi: Mapped[str | None] = mapped_column(String(80))
    title_sv: Mapped[str | None] = mapped_column(String(80))
    title_en: Mapped[str | None] = mapped_column(String(80))
    #: moves with every change to this person's saved views: each process keeps what it read
    #: of them while it stands (desk.views.situation.my_saved_views; migration 0038)
    saved_views_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    queues: Mapped[list[Queue]] = relationship(
        secondary="queue_membership", order_by="Queue.code", lazy="selectin"
    )
    municipalities: Mapped[list[Municipality]] = relationship(
        secondary="municipality_scope", order_by="Municipality.code", lazy="selectin"
    )
    #: the codes of the user's queues and municipalities, comma-separated, where the statement
    #: that read the user gathered them (`with_expression`: desk.auth, every request's user,
    #: so that it is one row rather than a row for each queue and municipality); else None,
    #: as after a flush of the user, when the collections are read instead
    queue_list: Mapped[str | None] = query_expression()
    municipality_list: Mapped[str | None] = query_expression()

    @property
    def queue_codes(self) -> set[str]:
        return _codes(self, "queues", "queue_list")

    @property
    def municipality_codes(self) -> set[str]:
        return _codes(self, "municipalities", "municipality_list")

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    @property
    def shown_name(self) -> str:
        """The name residents see: the one chosen, else the first word of the display name."""
        return self.public_name or (self.display_name.split() or [""])[0]

    def title(self, language: str) -> str | None:
        """The professional title residents see in `language` (Finnish when none is set)."""
        return {"sv": self.title_sv, "en": self.title_en}.get(language) or self.title_fi


# --- work --------------------------------------------------------------------------------------


class ItemStatus(enum.StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"


OPEN_STATUSES = (ItemStatus.NEW.value, ItemStatus.IN_PROGRESS.value, ItemStatus.WAITING.value)


PHONE_WORK_ROWS = (
    "status IN ('new', 'in_progress', 'waiting') AND (channel = 'callback' OR retry_at IS NOT NULL)"
)

#: the open emergencies that wait to be taken, and those that someone holds: the emergency
#: watch's two partial indexes (desk.work.worklist._my_emergencies asks for each apart)
EMERGENCY_TAKEABLE = "emergency IS TRUE AND status = 'new' AND assignee_id IS NULL"
EMERGENCY_HELD = "emergency IS TRUE AND status IN ('in_progress', 'waiting')"

TREND_COLUMNS = [
    "queue_code",
    "municipality_code",
    "channel",
    "service_area_code",
    "identification",
]


#: the columns the open items' order index holds beside its key (migration 0034)
ORDER_INCLUDES = [*TREND_COLUMNS, "status", "due_at", "assignee_id"]


class WorkItem(Base):
    """One resident's matter in a queue, from routing until resolved."""

    __tablename__ = "work_item"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_work_item_assignee", "assignee_id", "status"),
        # What may be taken, in the contract's order: My work's list and take next read it
        # from the front and stop at the first rows they may see.
        Index(
            "ix_work_item_takeable",
            text("emergency DESC"),
            "order_due",
            "submitted_at",
            "title",
            "id",
            postgresql_where=text("status = 'new' AND assignee_id IS NULL"),
            sqlite_where=text("status = 'new' AND assignee_id IS NULL"),
        ),
        # The situation view reads only open items, however much history there is.
        Index(
            "ix_work_item_open",
            "queue_code",
            "status",
            "emergency",
            "due_at",
            "submitted_at",
            "municipality_code",
            postgresql_where=text("status IN ('new', 'in_progress', 'waiting')"),
            sqlite_where=text("status IN ('new', 'in_progress', 'waiting')"),
        ),
        # Word search: a trigram index of open items' title and resident's name, on
        # PostgreSQL only (migration 0022; where pg_trgm cannot be created, the migration goes
        # without it and the search reads the open items in order instead).
        Index(
            "ix_work_item_open_words",
            "title",
            "resident_name",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops", "resident_name": "gin_trgm_ops"},
            postgresql_where=text("status IN ('new', 'in_progress', 'waiting')"),
        ).ddl_if(dialect="postgresql"),
        # The open items in the contract's order: a list of the situation view reads it from
        # its cursor and stops after one page, however long the list.
        Index(
            "ix_work_item_open_order",
            text("emergency DESC"),
            "order_due",
            "submitted_at",
            "title",
            "id",
            # what a list's conditions test: counting the rows before or after a page (what
            # lies beyond it) reads the index alone
            postgresql_include=ORDER_INCLUDES,
            postgresql_where=text("status IN ('new', 'in_progress', 'waiting')"),
            sqlite_where=text("status IN ('new', 'in_progress', 'waiting')"),
        ),
        # The last day's arrivals and resolutions, with the columns the view filters on, so
        # the trend lines are index-only scans.
        Index(
            "ix_work_item_created",
            "created_at",
            postgresql_include=[*TREND_COLUMNS, "first_action_at"],
        ),
        Index(
            "ix_work_item_resolved",
            "resolved_at",
            postgresql_include=[*TREND_COLUMNS, "submitted_at"],
            postgresql_where=text("resolved_at IS NOT NULL"),
            sqlite_where=text("resolved_at IS NOT NULL"),
        ),
        # Deadlines falling in a report's period.
        Index(
            "ix_work_item_due",
            "due_at",
            postgresql_include=["id", "resolved_at", "first_action_at"],
        ),
        # The same rows by queue and municipality, in work order: counting what waits is an
        # index-only scan, and one queue and municipality's first rows are a range of it
        # (the live stream's lists, desk.work.worklist.Shelf).
        Index(
            "ix_work_item_takeable_by_queue",
            "queue_code",
            "municipality_code",
            text("emergency DESC"),
            "order_due",
            "submitted_at",
            "title",
            "id",
            postgresql_where=text("status = 'new' AND assignee_id IS NULL"),
            sqlite_where=text("status = 'new' AND assignee_id IS NULL"),
        ),
        # The emergency watch of every page (desk.work.worklist.newest_emergency): the newest
        # open emergency that waits in the user's queues, and the newest given to the user,
        # each the first row of its own index that the user may see.
        Index(
            "ix_work_item_emergency_takeable",
            "id",
            postgresql_include=["queue_code", "municipality_code"],
            postgresql_where=text(EMERGENCY_TAKEABLE),
            sqlite_where=text(EMERGENCY_TAKEABLE),
        ),
        Index(
            "ix_work_item_emergency_held",
            "assignee_id",
            "id",
            postgresql_include=["queue_code", "municipality_code"],
            postgresql_where=text(EMERGENCY_HELD),
            sqlite_where=text(EMERGENCY_HELD),
        ),
        # Items waiting in their queue for the next call attempt: the sweep reads those due.
        Index(
            "ix_work_item_retry",
            "retry_at",
            postgresql_where=text("retry_at IS NOT NULL"),
            sqlite_where=text("retry_at IS NOT NULL"),
        ),
        # The phone work of the situation view: open callbacks and items waiting for the next
        # call, by queue, however many other items are open (desk.work.situation.PHONE_WORK).
        Index(
            "ix_work_item_phone",
            "queue_code",
            "status",
            "due_at",
            "municipality_code",
            # the columns the numbers test, so counting them reads the index alone
            postgresql_include=["channel", "retry_at"],
            postgresql_where=text(PHONE_WORK_ROWS),
            sqlite_where=text(PHONE_WORK_ROWS),
        ),
        # Resolved items whose resident data is not yet erased (desk.work.retention): only
        # the last retention period's, however long the history.
        Index(
            "ix_work_item_unerased",
            "resolved_at",
            postgresql_where=text("resolved_at IS NOT NULL AND erased_at IS NULL"),
            sqlite_where=text("resolved_at IS NOT NULL AND erased_at IS NULL"),
        ),
        # Today's deadlines and the next hour's, by what the situation view narrows by: the
        # part of its numbers that the kept counts cannot give (desk.work.counts).
        Index(
            "ix_work_item_open_due",
            "due_at",
            "queue_code",
            "status",
            "emergency",
            *TREND_COLUMNS[1:],
            postgresql_where=text("status IN ('new', 'in_progress', 'waiting')"),
            sqlite_where=text("status IN ('new', 'in_progress', 'waiting')"),
        ),
        # Each queue's oldest waiting item: the first of its entries that the viewer may see.
        Index(
            "ix_work_item_waiting_since",
            "queue_code",
            "submitted_at",
            *TREND_COLUMNS[1:],
            postgresql_where=text("status = 'new'"),
            sqlite_where=text("status = 'new'"),
        ),
        # A resident's items by their personal identity code (desk.work.search).
        Index(
            "ix_work_item_personal_id",
            "personal_id",
            "submitted_at",
            postgresql_where=text("personal_id IS NOT NULL"),
            sqlite_where=text("personal_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(300))
    #: (active history: a change's live message names where the item was, desk.live)
    queue_code: Mapped[str] = mapped_column(ForeignKey("queue.code"), active_history=True)
    service_area_code: Mapped[str] = mapped_column(ForeignKey("service_area.code"))
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.NEW.value)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    urgency: Mapped[str | None] = mapped_column(String(4))
    submitted_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    #: when someone first took the item or the desk first gave it to someone
    first_action_at: Mapped[datetime | None]
    outcome_code: Mapped[str | None] = mapped_column(ForeignKey("outcome_code.code"))
    municipality_code: Mapped[str | None] = mapped_column(
        ForeignKey("municipality.code"), active_history=True
    )
    #: the municipality the resident asks service from, when a professional noted it differs
    requested_municipality_code: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(2), default="fi")
    identification: Mapped[str] = mapped_column(String(8), default="none")
    personal_id: Mapped[str | None] = mapped_column(String(16))
    resident_name: Mapped[str | None] = mapped_column(String(200))
    resident_phone: Mapped[str | None] = mapped_column(String(40))
    resident_email: Mapped[str | None] = mapped_column(String(254))
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: a live chat whose resident waits for an answer: since their first unanswered message,
    #: and the response target that follows from it (desk.outbound.conversation)
    unanswered_since: Mapped[datetime | None]
    answer_by: Mapped[datetime | None]
    #: phone calls (desk.work.calls): attempts made, attempts granted beyond the queue's rule,
    #: the last attempt's result, and, while the item waits in its queue for its next try, when
    retry_at: Mapped[datetime | None]
    call_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extra_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    call_result: Mapped[str | None] = mapped_column(String(16))
    #: when the resident's data was erased after the retention period (desk.work.retention)
    erased_at: Mapped[datetime | None]
    #: what every list orders by: the legal deadline, or a waiting chat's response target
    order_due: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), Computed("COALESCE(due_at, answer_by)")
    )

    queue: Mapped[Queue] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(lazy="joined")
    municipality: Mapped[Municipality | None] = relationship(lazy="joined")
    events: Mapped[list[ItemEvent]] = relationship(
        back_populates="item", order_by="ItemEvent.id", lazy="select"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def _filter_columns() -> list[Column]:
    """The situation view's filters, as columns of a kept count."""
    return [
        Column("municipality_code", String(32)),
        Column("channel", String(32), nullable=False),
        Column("service_area_code", String(32), nullable=False),
        Column("identification", String(8), nullable=False),
    ]


#: Open items by what the situation view groups and narrows by, whether someone holds them,
#: and the day of their deadline (whole days since 1970, UTC). Signed rows appended by
#: triggers on work_item in the changing transaction (migration 0034): a key's sum is its
#: number of open items. desk.work.counts reads and folds them.
open_item_count = Table(
    "open_item_count",
    Base.metadata,
    Column("queue_code", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("emergency", Boolean, nullable=False),
    Column("assigned", Boolean, nullable=False),
    *_filter_columns(),
    Column("due_day", Integer),
    # the day of its place in the lists' order (migration 0037): of the deadline or the
    # response target (order_due), or for an item with neither, of its submission
    Column("order_day", Integer),
    Column("undated_day", Integer),
    Column("n", Integer, nullable=False),
)

#: Arrivals by the hour of their arrival and resolutions by the hour of their resolution
#: (whole hours since 1970, UTC), kept the same way: the situation view's trend lines.
item_hour_count = Table(
    "item_hour_count",
    Base.metadata,
    Column("kind", String(8), nullable=False),
    Column("hour", Integer, nullable=False, index=True),
    Column("queue_code", String(32), nullable=False),
    *_filter_columns(),
    Column("n", Integer, nullable=False),
)


class EventKind(enum.StrEnum):
    CREATED = "created"
    ROUTED = "routed"
    UPDATED = "updated"
    TAKEN = "taken"
    RELEASED = "released"
    TRANSFERRED = "transferred"
    NOTED = "noted"
    WAITING = "waiting"
    RESUMED = "resumed"
    RESOLVED = "resolved"
    PID_REVEALED = "pid_revealed"
    #: the desk gave the item to someone (round robin or least loaded)
    ASSIGNED = "assigned"
    #: a team lead moved the item to someone, or back to its queue
    REASSIGNED = "reassigned"
    #: its holder went offline before touching it: back to the queue
    RETURNED = "returned"
    #: the resident asks service from another municipality (or no longer does)
    REQUESTED_ELSEWHERE = "requested_elsewhere"
    #: a professional's message to the resident (its text and state are the message's)
    MESSAGE_SENT = "message_sent"
    #: the resident's message outside a chat (through the inbound API)
    RESIDENT_MESSAGE = "resident_message"
    #: the professional ended a live chat
    CHAT_CLOSED = "chat_closed"
    #: a request for more information passed its answer-by date unanswered
    NO_ANSWER = "no_answer"
    #: a phone call to the resident; its result (desk.work.calls.RESULTS) is the outcome_code
    CALL_ATTEMPT = "call_attempt"
    #: the item's next call attempt came due: back in its queue to be taken
    RETRY_DUE = "retry_due"
    #: the holder set when to call next (after the rule's last attempt: one more granted)
    CALL_LATER = "call_later"
    #: the caller identified themselves on the phone (the municipality is the event's)
    IDENTIFIED_ON_PHONE = "identified_on_phone"


class ItemEvent(Base):
    """An append-only line of an item's history: its timeline and the reports' source."""

    __tablename__ = "item_event"
    __table_args__ = (
        Index("ix_item_event_item", "item_id", "id", postgresql_include=["kind", "at"]),
        # The reports read one kind of event over a period.
        Index(
            "ix_item_event_kind_at",
            "kind",
            "at",
            postgresql_include=["item_id", "to_queue_code", "outcome_code"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(32))
    from_queue_code: Mapped[str | None] = mapped_column(String(64))
    to_queue_code: Mapped[str | None] = mapped_column(String(64))
    outcome_code: Mapped[str | None] = mapped_column(String(64))
    municipality_code: Mapped[str | None] = mapped_column(String(32))
    #: who the item went to (assigned, reassigned)
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    text: Mapped[str | None] = mapped_column(Text)

    item: Mapped[WorkItem] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[actor_id])
    to_user: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[to_user_id])


class SavedView(Base):
    """A professional's own filtered list of the situation view, kept for the navigation."""

    __tablename__ = "saved_view"
    __table_args__ = (Index("ix_saved_view_user", "user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    name: Mapped[str] = mapped_column(String(80))
    #: the list's parameters: queue, state and the filters (only known keys are kept)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A source system's bearer token: only its hash is stored; it names its channels."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channels: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    ROUTED = "routed"
    REJECTED = "rejected"


class InboundDelivery(Base):
    """A delivery from a source system, stored before it is answered and processed by a job."""

    __tablename__ = "inbound_delivery"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        # What the sweep looks for: deliveries whose latest content has not reached an item.
        Index(
            "ix_inbound_delivery_unapplied",
            "received_at",
            postgresql_where=text("applied_hash IS NULL OR applied_hash <> content_hash"),
            sqlite_where=text("applied_hash IS NULL OR applied_hash <> content_hash"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    # The content hash last applied to the item: differs while a grown chat awaits processing.
    applied_hash: Mapped[str | None] = mapped_column(String(64))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


# --- instructions, the service matrix and response templates ------------------------------------


class Instruction(Base):
    """A work instruction: the list of its versions, the latest being what applies now."""

    __tablename__ = "instruction"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: set for seeded instructions, so loading the seed again never duplicates them
    code: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[InstructionVersion]] = relationship(
        back_populates="instruction", order_by="InstructionVersion.number", lazy="selectin"
    )

    @property
    def current(self) -> InstructionVersion:
        return self.versions[-1]


class InstructionVersion(Base):
    """One version of an instruction: scope, texts and validity. Never changed once written."""

    __tablename__ = "instruction_version"
    __table_args__ = (UniqueConstraint("instruction_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instruction_id: Mapped[int] = mapped_column(ForeignKey("instruction.id"))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24), default="work")
    municipality_code: Mapped[str | None] = mapped_column(ForeignKey("municipality.code"))
    system_area_code: Mapped[str | None] = mapped_column(ForeignKey("system_area.code"))
    channel: Mapped[str | None] = mapped_column(String(32))
    service_area_code: Mapped[str | None] = mapped_column(ForeignKey("service_area.code"))
    topic: Mapped[str | None] = mapped_column(String(80))
    title_fi: Mapped[str] = mapped_column(String(200))
    title_sv: Mapped[str] = mapped_column(String(200))
    body_fi: Mapped[str] = mapped_column(Text)
    body_sv: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    instruction: Mapped[Instruction] = relationship(back_populates="versions")
    author: Mapped[User | None] = relationship(lazy="joined")

    def title(self, language: str) -> str:
        return self.title_sv if language == "sv" else self.title_fi

    def body(self, language: str) -> str:
        return self.body_sv if language == "sv" else self.body_fi


class DigitalService(Base):
    """One cell entry of the service matrix: a digital service a municipality's residents
    have, in force from `valid_from` (inclusive) to `valid_to` (exclusive)."""

    __tablename__ = "digital_service"
    __table_args__ = (UniqueConstraint("municipality_code", "kind", "name", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipality.code"))
    kind: Mapped[str] = mapped_column(String(32))
    #: the service's name in Finnish; in Swedish and English when it has one there
    name: Mapped[str] = mapped_column(String(160))
    name_sv: Mapped[str | None] = mapped_column(String(160))
    name_en: Mapped[str | None] = mapped_column(String(160))
    url: Mapped[str | None] = mapped_column(String(500))
    note_fi: Mapped[str] = mapped_column(String(500), default="")
    note_sv: Mapped[str] = mapped_column(String(500), default="")
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    #: who last changed the row in the desk, and when (None: as seeded)
    updated_by: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[datetime | None]

    def note(self, language: str) -> str:
        return (self.note_sv if language == "sv" else "") or self.note_fi

    def name_in(self, language: str) -> str:
        """The name in `language`, else the Finnish one (many services have only that)."""
        return {"sv": self.name_sv, "en": self.name_en}.get(language) or self.name


class ResponseTemplate(Base):
    """A ready reply or note phrase, in Finnish and Swedish (and English, when written),
    optionally for one municipality, channel or service area."""

    __tablename__ = "response_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(80), unique=True)
    municipality_code: Mapped[str | None] = mapped_column(ForeignKey("municipality.code"))
    channel: Mapped[str | None] = mapped_column(String(32))
    service_area_code: Mapped[str | None] = mapped_column(ForeignKey("service_area.code"))
    title_fi: Mapped[str] = mapped_column(String(200))
    title_sv: Mapped[str] = mapped_column(String(200))
    body_fi: Mapped[str] = mapped_column(Text)
    body_sv: Mapped[str] = mapped_column(Text)
    #: English is optional: without it an English-speaking resident gets the Finnish text
    title_en: Mapped[str | None] = mapped_column(String(200))
    body_en: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    municipality: Mapped[Municipality | None] = relationship(lazy="joined")
    service_area: Mapped[ServiceArea | None] = relationship(lazy="joined")

    def text_language(self, language: str | None) -> str:
        """The language this template speaks to a resident writing in `language`: theirs
        when the template has it, else Finnish."""
        if language == "sv":
            return "sv"
        if language == "en" and self.title_en and self.body_en:
            return "en"
        return "fi"

    def title(self, language: str) -> str:
        return {"sv": self.title_sv, "en": self.title_en}.get(language) or self.title_fi

    def body(self, language: str) -> str:
        return {"sv": self.body_sv, "en": self.body_en}.get(language) or self.body_fi


class TemplateUse(Base):
    """A template's text went into a saved note or resolution (what team leads count)."""

    __tablename__ = "template_use"
    __table_args__ = (Index("ix_template_use_template", "template_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("response_template.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id"))
    language: Mapped[str] = mapped_column(String(2))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessPurpose(enum.StrEnum):
    VIEW = "view"  # the item page
    ACTION = "action"  # the item shown again after an action on it
    REVEAL = "reveal"  # the whole personal identity code shown
    EXPORT = "export"  # a resident's data in an export
    AUDIT = "audit"  # an auditor searched or exported a resident's access log
    SEARCH = "search"  # a search named the resident or found them by their code
    HISTORY = "history"  # listed among the resident's other items on an item page
    IDENTIFY = "identify"  # the caller identified themselves on the phone
    FEEDBACK = "feedback"  # a lead read the resident's comment on their satisfaction answer


class AccessLog(Base):
    """One look at a resident's data: who, when, which item, which resident, and why (the
    viewer's role and the item's queue). Rows are only ever added (the database refuses
    UPDATE and DELETE on this table)."""

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_resident", "resident_id", "at"),
        Index("ix_access_log_user", "user_id", "at"),
        Index("ix_access_log_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    #: copied, so the row still says who it was if the account changes
    username: Mapped[str] = mapped_column(String(80))
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id"))
    #: the resident's personal identity code; None for an anonymous resident
    resident_id: Mapped[str | None] = mapped_column(String(16))
    queue_code: Mapped[str | None] = mapped_column(String(64))
    municipality_code: Mapped[str | None] = mapped_column(String(32))


class SsoSession(Base):
    """A signed-in SSO session: the tokens stay here, on the server; the browser's cookie holds
    only this row's random id."""

    __tablename__ = "sso_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    id_token: Mapped[str] = mapped_column(Text)
    #: Keycloak's own session id (`sid`): a back-channel logout names it
    idp_session_id: Mapped[str | None] = mapped_column(String(255), index=True)
    access_expires: Mapped[datetime]
    refresh_expires: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserSession(Base):
    """A signed-in browser, local account or SSO alike (desk.auth.sessions): the cookie holds only
    this row's random id, so signing out, the idle timeout and the longest allowed session end
    it here, whatever copy of the cookie is sent later."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    #: the last activity, written at most about once a minute (background requests never)
    last_seen_at: Mapped[datetime] = mapped_column(index=True)


class PhoneCalls(Base):
    """Phone calls per day and municipality, imported from TeleQ's callback statistics: the
    calls do not pass through the desk, but the digital share is measured against them."""

    __tablename__ = "phone_calls"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    municipality_code: Mapped[str] = mapped_column(
        ForeignKey("municipality.code"), primary_key=True
    )
    calls: Mapped[int] = mapped_column(Integer)


class CareContacts(Base):
    """Other contacts and care per month, municipality and mode, imported monthly from the
    municipalities' client and patient systems: the care does not pass through the desk, but
    the region's target for its digital share is measured on it."""

    __tablename__ = "care_contacts"

    #: the month's first day
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    municipality_code: Mapped[str] = mapped_column(
        ForeignKey("municipality.code"), primary_key=True
    )
    #: "in_person", "phone", "remote" (video) or "digital" (a message)
    mode: Mapped[str] = mapped_column(String(16), primary_key=True)
    contacts: Mapped[int] = mapped_column(Integer)


class MonthlyArrivals(Base):
    """The items that arrived in a month that has ended, by municipality ("" for none) and
    channel: what the targets page would otherwise count again from a year of items on every
    view. A month's arrivals cannot change once it has ended, except an item's municipality
    when a caller identifies themselves (`desk.work.calls.identify_caller`), which forgets the
    item's month here; the next view counts it again."""

    __tablename__ = "monthly_arrivals"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    items: Mapped[int] = mapped_column(Integer)


class ItemFeedback(Base):
    """A resident's answer to the region's satisfaction question after their matter ended
    (../shared/contract/outbound.md, "Satisfaction"). The item's channel, municipality and
    queue are copied when the answer arrives, so the statistics read this table alone. The
    comment is resident text: erased with the item's content (retention); the score stays."""

    __tablename__ = "item_feedback"
    __table_args__ = (
        # A source system's feedback_id, once per item: a repeat is a duplicate.
        UniqueConstraint("item_id", "feedback_id"),
        # The statistics of a period read this index alone.
        Index(
            "ix_item_feedback_at",
            "at",
            postgresql_include=["channel", "municipality_code", "queue_code", "score", "satisfied"],
        ),
        # The comments of a period, for leads.
        Index(
            "ix_item_feedback_comment",
            "at",
            postgresql_where=text("comment IS NOT NULL"),
            sqlite_where=text("comment IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id"), index=True)
    feedback_id: Mapped[str] = mapped_column(String(128))
    #: when the resident answered (as the source system says)
    at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: would you recommend: 0–10
    score: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(32))
    municipality_code: Mapped[str | None] = mapped_column(String(32))
    queue_code: Mapped[str] = mapped_column(String(64))


# --- training (rows live in the training space's database) --------------------------------------


class TrainingPack(Base):
    """A trainer's pack of synthetic scenarios, in Finnish and Swedish."""

    __tablename__ = "training_pack"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    title_fi: Mapped[str] = mapped_column(String(200))
    title_sv: Mapped[str] = mapped_column(String(200))
    description_fi: Mapped[str] = mapped_column(Text, default="")
    description_sv: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    scenarios: Mapped[list[TrainingScenario]] = relationship(
        back_populates="pack", order_by="TrainingScenario.position", lazy="selectin"
    )

    @property
    def active_scenarios(self) -> list[TrainingScenario]:
        """The scenarios a new session brings (those removed stay for earlier results)."""
        return [s for s in self.scenarios if not s.retired]


class TrainingScenario(Base):
    """One synthetic delivery with the handling expected of a trainee and what to learn."""

    __tablename__ = "training_scenario"
    __table_args__ = (UniqueConstraint("pack_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_id: Mapped[int] = mapped_column(ForeignKey("training_pack.id"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(120))
    title_fi: Mapped[str] = mapped_column(String(200))
    title_sv: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(32))
    #: the inbound delivery, without external_id and submitted_at (set when it is released)
    delivery: Mapped[dict[str, Any]] = mapped_column(default=dict)
    age_minutes: Mapped[int] = mapped_column(Integer, default=0)
    #: queue, transfer_to, urgency, instruction, outcome
    expected: Mapped[dict[str, Any]] = mapped_column(default=dict)
    learning_fi: Mapped[str] = mapped_column(Text, default="")
    learning_sv: Mapped[str] = mapped_column(Text, default="")
    #: removed from the pack: no new session brings it; earlier results keep it
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    pack: Mapped[TrainingPack] = relationship(back_populates="scenarios")


class TrainingRun(Base):
    """A trainer's session: a pack for some trainees, all at once or paced."""

    __tablename__ = "training_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_id: Mapped[int] = mapped_column(ForeignKey("training_pack.id"))
    trainer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: minutes between one scenario and the next; 0: all at once
    pace_minutes: Mapped[int] = mapped_column(Integer, default=0)
    ended_at: Mapped[datetime | None]

    pack: Mapped[TrainingPack] = relationship(lazy="joined")
    cases: Mapped[list[TrainingCase]] = relationship(
        back_populates="run", order_by="TrainingCase.id", lazy="selectin"
    )


class TrainingCase(Base):
    """One scenario for one trainee in a run, and the item it became once released."""

    __tablename__ = "training_case"
    __table_args__ = (Index("ix_training_case_due", "released_at", "release_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("training_run.id"))
    scenario_id: Mapped[int] = mapped_column(ForeignKey("training_scenario.id"))
    trainee_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    release_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id"))
    #: the scenario's expected handling when the session started: a later edit of the
    #: scenario does not change the scores of sessions already run
    expected: Mapped[dict[str, Any] | None]

    run: Mapped[TrainingRun] = relationship(back_populates="cases")
    scenario: Mapped[TrainingScenario] = relationship(lazy="joined")
    trainee: Mapped[User] = relationship(lazy="joined")
    item: Mapped[WorkItem | None] = relationship(lazy="joined")


class InstructionsShown(Base):
    """Which instructions an item page showed to someone, and when (what training scores
    "instruction consulted" by)."""

    __tablename__ = "instructions_shown"
    __table_args__ = (Index("ix_instructions_shown_item", "item_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the instructions' codes (seeded ones) or ids
    shown: Mapped[dict[str, Any]] = mapped_column(default=dict)


# --- the outbound contract: answering the resident ---------------------------------------------


class OutboundEndpoint(Base):
    """Where a source system receives the desk's events (../shared/contract/outbound.md): its
    URL, the channels it serves, and the Standard Webhooks secret the desk signs with (during a
    rotation the previous one signs too, until `previous_until`)."""

    __tablename__ = "outbound_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    channels: Mapped[str] = mapped_column(String(255))
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_until: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: why it was disabled: by an administrator, or the receiver answered 410 Gone
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    #: the last failed attempt: the receiver's status and answer, or the connection's error
    last_failure: Mapped[str | None] = mapped_column(Text)

    @property
    def channel_list(self) -> list[str]:
        return [c for c in self.channels.split(",") if c]


class MessageKind(enum.StrEnum):
    REPLY = "reply"
    MESSAGE = "message"
    REQUEST = "request-for-information"


class MessageState(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


OPEN_REQUEST = "kind = 'request-for-information' AND answered_at IS NULL AND lapsed_at IS NULL"


class ItemMessage(Base):
    """One message of an item's conversation outside the channel's own content: a
    professional's message to the resident (`outgoing`), or the resident's answer through the
    inbound API. A chat's resident messages stay in the item's content, as the platform sends
    them; the desk's replies to a chat are here."""

    __tablename__ = "item_message"
    __table_args__ = (
        Index("ix_item_message_item", "item_id", "at"),
        # A repeated post of one click answers with the message it already made.
        UniqueConstraint("author_id", "click_key"),
        # A source system's message id, once per item.
        UniqueConstraint("item_id", "source_message_id"),
        # Requests for more information still waiting for an answer (the sweep's "no answer").
        Index(
            "ix_item_message_open_request",
            "reply_by",
            postgresql_where=text(OPEN_REQUEST),
            sqlite_where=text(OPEN_REQUEST),
        ),
    )

    #: "msg_" and a ULID: the contract's `message_id`, and the `webhook-id` of its event
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id"))
    outgoing: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    # --- a professional's message
    kind: Mapped[str | None] = mapped_column(String(32))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    sender_name: Mapped[str | None] = mapped_column(String(60))
    sender_title: Mapped[str | None] = mapped_column(String(80))
    #: [{"title", "url"}]: instructions, forms and services attached
    links: Mapped[list[dict[str, str]] | None] = mapped_column(JSONDocument)
    template_ids: Mapped[list[int] | None] = mapped_column(JSONDocument)
    #: a request for more information: the date (Helsinki) the resident is asked to answer by
    reply_by: Mapped[date | None] = mapped_column(Date)
    #: when the resident answered the request (the deadline restarts from that day)
    answered_at: Mapped[datetime | None]
    #: when the request's answer-by date passed unanswered (the item came back: "no answer")
    lapsed_at: Mapped[datetime | None]
    #: the form's key: one click makes one message, however often it is posted
    click_key: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(String(16))
    state_at: Mapped[datetime | None]
    #: why delivery failed, as the receiver answered (or the connection's error)
    failure: Mapped[str | None] = mapped_column(Text)
    # --- the resident's message
    source_message_id: Mapped[str | None] = mapped_column(String(128))
    in_reply_to: Mapped[str | None] = mapped_column(String(40))
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)

    author: Mapped[User | None] = relationship(lazy="joined")


class EventState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class OutboxEvent(Base):
    """An event for a source system, written in the same transaction as the action that made
    it and delivered after the commit (desk.outbound.delivery): an item's events in `seq`
    order, each until a 2xx, a permanent refusal or 24 hours of retries."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        # An item's undelivered events in order: the one to send next is the first.
        Index(
            "ix_outbox_event_pending",
            "item_id",
            "seq",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        # What the sweep looks for: events due for an attempt.
        Index(
            "ix_outbox_event_due",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index("ix_outbox_event_endpoint", "endpoint_id", "state"),
    )

    seq: Mapped[int] = mapped_column(primary_key=True)
    #: the `webhook-id`: a message's event has the message's id
    id: Mapped[str] = mapped_column(String(40), unique=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("outbound_endpoint.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id"))
    message_id: Mapped[str | None] = mapped_column(ForeignKey("item_message.id"))
    type: Mapped[str] = mapped_column(String(40))
    #: the request body exactly as signed and sent, on every attempt
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default=EventState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the receiver's Retry-After holds the event until then: an endpoint's recovery or a
    #: probe (desk.outbound.delivery) never sends it earlier
    held_until: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    #: the receiver's last answer: its status, and its body's start when it refused
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]

    endpoint: Mapped[OutboundEndpoint] = relationship(lazy="joined")
