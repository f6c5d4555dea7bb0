"""Training: scenario packs, runs that release them to trainees, and scoring over the item
events. Plain Python on a Session of the training space's database; no Flask.

A released scenario goes through the real intake (validation, routing, deadlines) and is given
to its trainee, who then works it with the normal desk. Scoring compares what happened to the
item — its events — with what the scenario expects.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import demo
from ..channels import Registry
from ..channels.base import Adapter
from ..inbound import intake
from ..inbound.routing import RoutingError
from ..models import (
    EventKind,
    InboundDelivery,
    InstructionsShown,
    ItemStatus,
    TrainingCase,
    TrainingPack,
    TrainingRun,
    TrainingScenario,
    User,
    WorkItem,
    utcnow,
)
from ..pid import problem as pid_problem
from ..work.calls import RESULTS
from ..work.lifecycle import record

#: how soon an emergency must be acted on for "emergency noticed"
EMERGENCY_WITHIN = timedelta(minutes=15)


def load_pack(session: Session, data: dict) -> TrainingPack:
    """Store a pack (by its code; loading it again updates it)."""
    pack = session.scalar(select(TrainingPack).where(TrainingPack.code == data["code"]))
    if pack is None:
        pack = TrainingPack(code=data["code"])
        session.add(pack)
    for name in ("title_fi", "title_sv", "description_fi", "description_sv"):
        setattr(pack, name, data.get(name, ""))
    known = {s.code: s for s in pack.scenarios}
    for position, row in enumerate(data["scenarios"]):
        scenario = known.get(row["code"]) or TrainingScenario(code=row["code"])
        if scenario.id is None:
            pack.scenarios.append(scenario)
        scenario.position = position
        scenario.title_fi, scenario.title_sv = row["title_fi"], row["title_sv"]
        scenario.channel = row["channel"]
        scenario.delivery = row["delivery"]
        scenario.age_minutes = int(row.get("age_minutes", 0))
        scenario.expected = row["expected"]
        scenario.learning_fi, scenario.learning_sv = row["learning_fi"], row["learning_sv"]
        scenario.retired = False  # loaded again: back in the pack
    session.flush()
    return pack


def start_run(
    session: Session,
    pack: TrainingPack,
    trainer: User,
    trainees: list[User],
    channels: Registry,
    *,
    pace_minutes: int = 0,
    now: datetime | None = None,
) -> TrainingRun:
    """A run of the pack for the trainees: every scenario at once, or one every
    `pace_minutes`, as a live shift would bring them. Releases what is due now."""
    now = now or utcnow()
    run = TrainingRun(pack=pack, trainer_id=trainer.id, started_at=now, pace_minutes=pace_minutes)
    session.add(run)
    for n, scenario in enumerate(pack.active_scenarios):
        for trainee in trainees:
            run.cases.append(
                TrainingCase(
                    scenario=scenario,
                    trainee_id=trainee.id,
                    release_at=now + timedelta(minutes=pace_minutes * n),
                    expected=copy.deepcopy(scenario.expected),
                )
            )
    session.flush()
    release_due(session, channels, now)
    return run


def _payload(case: TrainingCase, at: datetime) -> dict:
    """The scenario's delivery as its source system would send it at `at`."""
    external_id = f"training-{case.run_id}-{case.trainee_id}-{case.scenario.code}"
    return as_sent(
        case.scenario.delivery, external_id, at - timedelta(minutes=case.scenario.age_minutes)
    )


def as_sent(delivery: dict, external_id: str, arrived: datetime) -> dict:
    """A scenario's delivery as its source system sends it, having arrived at `arrived`."""
    payload = copy.deepcopy(delivery)
    payload["external_id"] = external_id
    payload["submitted_at"] = arrived.isoformat()
    for message in payload.get("conversation", []):
        minutes = message.pop("minutes_before", 0)
        message["sent_at"] = (arrived - timedelta(minutes=minutes)).isoformat()
    return payload


def release_due(
    session: Session, channels: Registry, now: datetime | None = None
) -> list[TrainingCase]:
    """Bring every case whose time has come in through the real intake, to its trainee."""
    now = now or utcnow()
    due = session.scalars(
        select(TrainingCase).where(
            TrainingCase.released_at.is_(None), TrainingCase.release_at <= now
        )
    ).all()
    for case in due:
        payload = _payload(case, case.release_at)
        body = json.dumps(payload, sort_keys=True).encode()
        delivery = InboundDelivery(
            id=str(uuid.uuid4()),
            channel=case.scenario.channel,
            external_id=payload["external_id"],
            payload=payload,
            content_hash=hashlib.sha256(body).hexdigest(),
        )
        session.add(delivery)
        session.flush()
        item = intake.process(session, delivery, channels)
        if item is None:
            continue  # a scenario the contract refuses: the trainer sees it unreleased
        # Given to the trainee at once, so trainees do not work each other's copies.
        item.assignee = case.trainee
        item.status = ItemStatus.IN_PROGRESS.value
        item.first_action_at = None
        record(session, item, None, EventKind.ASSIGNED, at=now, to_user_id=case.trainee_id)
        case.item = item
        case.released_at = now
    session.flush()
    return due


@dataclass
class Score:
    """How one case went: each check True, False, or None when it does not apply yet."""

    case_id: int
    scenario: str
    queue: bool | None = None
    transfer: bool | None = None
    emergency: bool | None = None
    deadline: bool | None = None
    outcome: bool | None = None
    #: the trainee had the item open while the expected instruction was shown beside it
    instruction: bool | None = None
    #: the calls recorded as the exercise's caller answered them (and the caller identified)
    calls: bool | None = None
    minutes: float | None = None
    missed: list[str] = field(default_factory=list)
    #: "waiting" (not released yet), "open" (with the trainee) or "resolved"
    state: str = "waiting"

    @property
    def points(self) -> int:
        return sum(1 for v in self._checks() if v)

    @property
    def possible(self) -> int:
        return sum(1 for v in self._checks() if v is not None)

    def _checks(self) -> list[bool | None]:
        return [
            self.queue,
            self.transfer,
            self.emergency,
            self.deadline,
            self.outcome,
            self.instruction,
            self.calls,
        ]


def score(session: Session, case: TrainingCase, seen: set[str] | None = None) -> Score:
    """Compare what happened to the case's item with what its scenario expected when the
    session started. `seen`: the instructions the item's page showed its trainee, when the
    caller has read them already."""
    expected = case.expected or case.scenario.expected
    result = Score(case.id, case.scenario.code)
    item: WorkItem | None = case.item
    if item is None:
        return result
    events = sorted(item.events, key=lambda e: e.id)
    resolved = next((e for e in events if e.kind == EventKind.RESOLVED.value), None)
    result.state = "open" if resolved is None else "resolved"
    transfers = [e.to_queue_code for e in events if e.kind == EventKind.TRANSFERRED.value]
    own = [e for e in events if e.actor_id == case.trainee_id]
    target = expected.get("transfer_to")
    if resolved is not None or transfers:
        result.transfer = (target in transfers) if target else not transfers
        result.queue = item.queue_code == (target or expected["queue"])
    if resolved is not None:
        result.outcome = resolved.outcome_code == expected.get("outcome")
        if expected.get("instruction"):
            if seen is None:
                seen = _instructions_seen(session, case)
            result.instruction = expected["instruction"] in seen
        if expected.get("calls"):
            result.calls = _calls_as_scripted(events, item, expected)
        result.minutes = round((resolved.at - case.released_at).total_seconds() / 60, 1)
        if item.due_at is not None:
            result.deadline = resolved.at <= item.due_at
    if expected.get("urgency") == "emergency":
        first = own[0].at if own else None
        if first is not None:
            result.emergency = first - case.released_at <= EMERGENCY_WITHIN
        elif utcnow() - case.released_at > EMERGENCY_WITHIN:
            result.emergency = False
    for name in ("queue", "transfer", "emergency", "deadline", "outcome", "instruction", "calls"):
        if getattr(result, name) is False:
            result.missed.append(name)
    return result


def _calls_as_scripted(events: list, item: WorkItem, expected: dict) -> bool:
    """Each call recorded with what the exercise's caller did (`expected["calls"]`, in order),
    and a caller who identifies themselves (`expected["caller"]`) identified on the phone."""
    results = [e.outcome_code for e in events if e.kind == EventKind.CALL_ATTEMPT.value]
    caller = expected.get("caller")
    identified = caller is None or (
        item.identification == "phone" and item.personal_id == caller.get("personal_id")
    )
    return results == list(expected["calls"]) and identified


#: what a scenario's exercise caller does: their answers to the calls, who they say they are
PHONE_SCRIPT_FIELDS = ("calls", "caller")


def phone_script(expected: dict) -> dict | None:
    """What the exercise's caller does on the phone, for the trainee's item page: how they
    answer each call, and who they say they are."""
    if not expected.get("calls"):
        return None
    return {key: expected.get(key) for key in PHONE_SCRIPT_FIELDS}


def _instructions_seen(session: Session, case: TrainingCase) -> set[str]:
    """Every instruction the item page showed its trainee, whenever they had it open."""
    seen: set[str] = set()
    for shown in session.scalars(
        select(InstructionsShown.shown).where(
            InstructionsShown.item_id == case.item_id,
            InstructionsShown.user_id == case.trainee_id,
        )
    ):
        seen.update(shown.get("instructions", []))
    return seen


@dataclass
class Progress:
    """A run's results: per trainee their scores, and the mistakes made most often."""

    by_trainee: dict[int, list[Score]]
    common_mistakes: list[tuple[str, str, int]]  # (scenario, check, how many trainees)


def _scores(session: Session, run: TrainingRun) -> list[tuple[TrainingCase, Score]]:
    """Every case of a run with its score; the items' events and the instructions their
    pages showed are read in one query each, not per case."""
    ids = [case.item_id for case in run.cases if case.item_id is not None]
    shown: dict[tuple[int, int], set[str]] = {}
    if ids:
        session.scalars(
            select(WorkItem).where(WorkItem.id.in_(ids)).options(selectinload(WorkItem.events))
        ).all()
        for item_id, user_id, data in session.execute(
            select(
                InstructionsShown.item_id, InstructionsShown.user_id, InstructionsShown.shown
            ).where(InstructionsShown.item_id.in_(ids))
        ):
            shown.setdefault((item_id, user_id), set()).update(data.get("instructions", []))
    return [
        (case, score(session, case, shown.get((case.item_id, case.trainee_id), set())))
        for case in run.cases
    ]


def progress(session: Session, run: TrainingRun) -> Progress:
    by_trainee: dict[int, list[Score]] = {}
    mistakes: dict[tuple[str, str], int] = {}
    for case, result in _scores(session, run):
        by_trainee.setdefault(case.trainee_id, []).append(result)
        for check in result.missed:
            key = (result.scenario, check)
            mistakes[key] = mistakes.get(key, 0) + 1
    common = sorted(
        ((scenario, check, n) for (scenario, check), n in mistakes.items()),
        key=lambda m: (-m[2], m[0], m[1]),
    )
    return Progress(by_trainee, common)


def reset_run(session: Session, run: TrainingRun, trainer: User, channels: Registry) -> TrainingRun:
    """End a session and start it afresh for the same trainees, pack and pace. The old
    practice items are closed by the desk (their history stays, as all history does)."""
    now = utcnow()
    trainees = []
    for case in run.cases:
        if case.trainee not in trainees:
            trainees.append(case.trainee)
        item = case.item
        if item is not None and item.status != ItemStatus.RESOLVED.value:
            item.status = ItemStatus.RESOLVED.value
            item.resolved_at = now
            item.outcome_code = "no-action-needed"
            record(
                session,
                item,
                None,
                EventKind.RESOLVED,
                at=now,
                outcome_code="no-action-needed",
                text="training session reset",
            )
    run.ended_at = now
    session.flush()
    return start_run(
        session, run.pack, trainer, trainees, channels, pace_minutes=run.pace_minutes, now=now
    )


def results_rows(session: Session, run: TrainingRun) -> list[list]:
    """One row per trainee and scenario, for a spreadsheet."""
    rows = []
    for case, result in _scores(session, run):
        rows.append(
            [
                case.trainee.username,
                case.trainee.display_name,
                result.scenario,
                result.state,
                result.points,
                result.possible,
                " ".join(result.missed),
                "" if result.minutes is None else result.minutes,
            ]
        )
    return rows


SCENARIO_FIELDS = ("code", "title_fi", "title_sv", "channel", "delivery", "expected")
URGENCIES = ("emergency", "urgent", "normal")


def N_(message: str) -> str:  # noqa: N802 (the catalogues' marker for messages used later)
    """Marks a message for the catalogues; the page translates it (this module has no Flask)."""
    return message


@dataclass(frozen=True)
class Problem:
    """One problem of a pack: an English message (a catalogue id) and what fills it."""

    message: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message % self.params


def check_pack(data, channels: Registry, *, queues: set[str], outcomes: set[str]) -> list[Problem]:
    """Every problem of a pack a trainer wrote (the starter pack's format): each scenario's
    delivery is checked against the inbound contract as its source system would send it."""
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        return [Problem(N_("The pack must be an object with a list of scenarios."))]
    problems = [
        Problem(N_("The pack's %(field)s is missing."), {"field": name})
        for name in ("code", "title_fi", "title_sv")
        if not data.get(name)
    ]
    seen: set[str] = set()
    for n, row in enumerate(data["scenarios"], start=1):
        where = str(n)
        if not isinstance(row, dict):
            problems.append(Problem(N_("Scenario %(where)s must be an object."), {"where": where}))
            continue
        missing = [name for name in SCENARIO_FIELDS if not row.get(name)]
        if missing:
            problems.append(
                Problem(
                    N_("Scenario %(where)s: %(fields)s missing."),
                    {"where": where, "fields": ", ".join(missing)},
                )
            )
            continue
        where = row["code"]
        if row["code"] in seen:
            problems.append(
                Problem(N_("Scenario %(where)s: the code is used twice."), {"where": where})
            )
        seen.add(row["code"])
        adapter = channels.get(row["channel"])
        if adapter is None:
            problems.append(
                Problem(
                    N_("Scenario %(where)s: unknown channel %(value)s."),
                    {"where": where, "value": row["channel"]},
                )
            )
            continue
        expected = row["expected"]
        for name, known in (("queue", queues), ("outcome", outcomes)):
            if expected.get(name) not in known:
                problems.append(
                    Problem(
                        N_("Scenario %(where)s: the expected %(field)s %(value)s is unknown."),
                        {"where": where, "field": name, "value": expected.get(name)},
                    )
                )
        if expected.get("transfer_to") not in (None, *queues):
            problems.append(
                Problem(
                    N_("Scenario %(where)s: the queue to transfer to, %(value)s, is unknown."),
                    {"where": where, "value": expected.get("transfer_to")},
                )
            )
        if expected.get("urgency") not in URGENCIES:
            problems.append(
                Problem(
                    N_("Scenario %(where)s: the urgency must be one of %(choices)s."),
                    {"where": where, "choices": ", ".join(URGENCIES)},
                )
            )
        problems.extend(_phone_problems(where, expected))
        age = row.get("age_minutes", 0)
        if not isinstance(age, int) or isinstance(age, bool) or not 0 <= age <= 525600:
            problems.append(
                Problem(
                    N_(
                        "Scenario %(where)s: age_minutes must be a whole number of minutes, "
                        "at most a year (525600)."
                    ),
                    {"where": where},
                )
            )
            age = 0
        arrived = utcnow() - timedelta(minutes=age)
        payload = as_sent(row["delivery"], f"check-{where}", arrived)
        # The contract's own words for the field (they are the integrators' English).
        problems.extend(
            Problem(
                N_("Scenario %(where)s, delivery field %(field)s: %(message)s"),
                {"where": where, "field": problem["field"] or "/", "message": problem["message"]},
            )
            for problem in channels.problems(adapter, payload)
        )
    return problems


def _phone_problems(where: str, expected: dict) -> list[Problem]:
    """The exercise's caller: a list of call results, and who they say they are (a valid
    personal identity code, a name, a municipality code)."""
    problems = []
    script = expected.get("calls")
    if script is not None and (
        not isinstance(script, list) or not script or not set(script) <= set(RESULTS)
    ):
        problems.append(
            Problem(
                N_("Scenario %(where)s: calls must be a list of %(choices)s."),
                {"where": where, "choices": ", ".join(RESULTS)},
            )
        )
    caller = expected.get("caller")
    if caller is not None and not (
        isinstance(caller, dict)
        and isinstance(caller.get("personal_id"), str)
        and pid_problem(caller["personal_id"]) is None
        and isinstance(caller.get("name"), str)
        and caller["name"].strip()
        and isinstance(caller.get("municipality"), str)
    ):
        problems.append(
            Problem(
                N_(
                    "Scenario %(where)s: the caller needs a valid personal_id, a name and a "
                    "municipality."
                ),
                {"where": where},
            )
        )
    return problems


def check_routing(session: Session, data: dict, channels: Registry) -> list[Problem]:
    """For a pack `check_pack` passed: every scenario whose delivery the desk's routing does
    not bring to the queue the scenario expects it to land in (its trainees would be scored
    against a queue the item never reached)."""
    problems = []
    for row in data["scenarios"]:
        adapter = channels.get(row["channel"])
        routed = adapter and routed_handling(session, adapter, row["delivery"]).get("queue")
        if routed != row["expected"]["queue"]:
            problems.append(
                Problem(
                    N_(
                        "Scenario %(where)s: by the desk's routing its delivery lands in "
                        "%(routed)s, not in %(expected)s."
                    ),
                    {
                        "where": row["code"],
                        "routed": routed or "–",
                        "expected": row["expected"]["queue"],
                    },
                )
            )
    return problems


def generated_delivery(channel: str, seed: int) -> dict:
    """A synthetic delivery of the channel from the demo generator, in the scenario format
    (no external_id or submitted_at; chat messages timed in minutes before submission)."""
    now = utcnow()
    for found, payload in demo.deliveries(random.Random(seed), now, 40):
        if found != channel:
            continue
        submitted = datetime.fromisoformat(payload.pop("submitted_at"))
        payload.pop("external_id", None)
        for message in payload.get("conversation", []):
            sent = datetime.fromisoformat(message.pop("sent_at"))
            message["minutes_before"] = max(0, round((submitted - sent).total_seconds() / 60))
        return payload
    raise ValueError(f"no {channel} delivery from the generator")


def routed_handling(session: Session, adapter: Adapter, delivery: dict) -> dict[str, str]:
    """What the desk itself makes of a scenario's delivery arriving now: the queue its
    routing gives and, for an emergency, the urgency; the scenario form starts from these.
    Empty for a delivery that does not route."""
    try:
        item = intake.build_item(session, adapter, as_sent(delivery, "preview", utcnow()))
    except (RoutingError, KeyError, TypeError, ValueError):
        return {}
    handling = {"queue": item.queue.code}
    if item.emergency:
        handling["urgency"] = "emergency"
    return handling


def with_scenario(pack: TrainingPack, row: dict) -> dict:
    """The pack's data with `row` in it: in place of the scenario of the same code, or added
    last. What `check_pack` checks and `save_scenario` stores."""
    data = pack_data(pack)
    rows = data["scenarios"]
    at = next((n for n, r in enumerate(rows) if r["code"] == row["code"]), len(rows))
    rows[at : at + 1] = [row]
    return data


def save_scenario(session: Session, pack: TrainingPack, row: dict) -> TrainingScenario:
    """Store one checked scenario in a pack (see `check_pack`): a new one goes last, one of
    a known code is updated. Sessions already run keep what they expected."""
    load_pack(session, with_scenario(pack, row))
    return next(s for s in pack.scenarios if s.code == row["code"])


def retire_scenario(session: Session, scenario: TrainingScenario) -> None:
    """Take a scenario out of its pack: no new session brings it; earlier results keep it."""
    scenario.retired = True
    session.flush()


def pack_data(pack: TrainingPack) -> dict:
    """A stored pack in the starter pack's format, as `load_pack` and `check_pack` take it."""
    return {
        "code": pack.code,
        "title_fi": pack.title_fi,
        "title_sv": pack.title_sv,
        "description_fi": pack.description_fi,
        "description_sv": pack.description_sv,
        "scenarios": [scenario_row(s) for s in pack.active_scenarios],
    }


def scenario_row(scenario: TrainingScenario) -> dict:
    """A stored scenario in the pack format, as `load_pack` and `check_pack` take it."""
    return {
        "code": scenario.code,
        "title_fi": scenario.title_fi,
        "title_sv": scenario.title_sv,
        "channel": scenario.channel,
        "delivery": scenario.delivery,
        "age_minutes": scenario.age_minutes,
        "expected": scenario.expected,
        "learning_fi": scenario.learning_fi,
        "learning_sv": scenario.learning_sv,
    }
