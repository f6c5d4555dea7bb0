"""Training runs and scoring, as plain domain code on a database like the training space's:
the starter pack goes through the real intake, and a trainee's handling is scored from the
item events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from desk import training
from desk.models import InstructionsShown, ItemStatus, utcnow
from desk.work import lifecycle
from tests.factories import CHANNELS, make_user

PACK = json.loads(
    (Path(__file__).parents[1] / "desk/data/training/starter_pack.json").read_text("utf-8")
)


def _case(run, trainee, code):
    return next(c for c in run.cases if c.trainee_id == trainee.id and c.scenario.code == code)


def test_the_starter_pack_reaches_every_trainee_through_the_real_intake(session):
    pack = training.load_pack(session, PACK)
    assert len(pack.scenarios) == len(PACK["scenarios"]) >= 20
    trainer = make_user(session, role="trainer", queues=[])
    trainees = [make_user(session, role="trainee", queues=[]) for _ in range(2)]
    run = training.start_run(session, pack, trainer, trainees, CHANNELS)
    assert len(run.cases) == 2 * len(pack.scenarios)
    for case in run.cases:
        assert case.item is not None, case.scenario.code
        assert case.item.assignee_id == case.trainee_id
        # Routed by the real rules to the queue the scenario expects.
        assert case.item.queue_code == case.scenario.expected["queue"], case.scenario.code
    emergencies = [c for c in run.cases if c.item.emergency]
    assert emergencies and all(c.scenario.expected["urgency"] == "emergency" for c in emergencies)
    # Loading the pack again updates it; nothing doubles.
    assert len(training.load_pack(session, PACK).scenarios) == len(PACK["scenarios"])


def test_a_paced_run_releases_one_scenario_at_a_time(session):
    pack = training.load_pack(session, PACK)
    trainer = make_user(session, role="trainer", queues=[])
    trainee = make_user(session, role="trainee", queues=[])
    start = utcnow()
    run = training.start_run(
        session, pack, trainer, [trainee], CHANNELS, pace_minutes=10, now=start
    )
    assert sum(1 for c in run.cases if c.released_at) == 1
    training.release_due(session, CHANNELS, start + timedelta(minutes=25))
    assert sum(1 for c in run.cases if c.released_at) == 3


def test_a_trainees_handling_is_scored_from_the_events(session):
    pack = training.load_pack(session, PACK)
    trainer = make_user(session, role="trainer", queues=[])
    good = make_user(
        session, role="trainee", queues=["chat-regional", "chat-id-loviisa-lapinjarvi"]
    )
    poor = make_user(
        session, role="trainee", queues=["chat-regional", "chat-id-loviisa-lapinjarvi"]
    )
    run = training.start_run(session, pack, trainer, [good, poor], CHANNELS)
    code = "chat-anon-medication-loviisa-transfer"
    expected = _case(run, good, code).scenario.expected

    # The good trainee reads the item with its instruction beside it (the item page notes
    # what it showed), transfers to the identified chat, takes it there and resolves it right.
    case = _case(run, good, code)
    session.add(
        InstructionsShown(
            item_id=case.item_id,
            user_id=good.id,
            shown={"instructions": [expected["instruction"], "identified-chat"]},
        )
    )
    lifecycle.transfer(
        session, case.item, good, _queue(session, expected["transfer_to"]), "Tunnistautui"
    )
    lifecycle.take(session, case.item, good)
    lifecycle.resolve(session, case.item, good, expected["outcome"])
    result = training.score(session, case)
    assert (result.transfer, result.queue, result.outcome) == (True, True, True)
    assert result.instruction is True
    assert result.missed == [] and result.points == result.possible >= 4

    # The poor one resolves it in the anonymous queue with another outcome.
    other = _case(run, poor, code)
    lifecycle.resolve(session, other.item, poor, "no-action-needed")
    result = training.score(session, other)
    assert result.transfer is False and result.queue is False and result.outcome is False
    assert set(result.missed) == {"transfer", "queue", "outcome", "instruction"}

    report = training.progress(session, run)
    assert (code, "transfer", 1) in report.common_mistakes
    assert other.item.status == ItemStatus.RESOLVED.value


def test_an_emergency_left_unopened_is_a_missed_emergency(session):
    pack = training.load_pack(session, PACK)
    trainer = make_user(session, role="trainer", queues=[])
    trainee = make_user(session, role="trainee", queues=[])
    start = utcnow() - timedelta(minutes=30)
    run = training.start_run(session, pack, trainer, [trainee], CHANNELS, now=start)
    case = _case(run, trainee, "omaolo-p0-chest-pain-porvoo")
    assert training.score(session, case).emergency is False
    assert "emergency" in training.score(session, case).missed


def _queue(session, code):
    from desk.models import Queue

    return session.get(Queue, code)


def test_a_pack_is_checked_against_the_contract_before_it_is_stored():
    import copy

    queues = {s["expected"]["queue"] for s in PACK["scenarios"]} | {
        s["expected"]["transfer_to"] for s in PACK["scenarios"] if s["expected"]["transfer_to"]
    }
    outcomes = {s["expected"]["outcome"] for s in PACK["scenarios"]}
    assert training.check_pack(PACK, CHANNELS, queues=queues, outcomes=outcomes) == []
    broken = copy.deepcopy(PACK)
    broken["scenarios"][0]["delivery"].pop("conversation", None)
    broken["scenarios"][0]["channel"] = "chat"
    broken["scenarios"][1]["expected"]["queue"] = "no-such-queue"
    broken["scenarios"][2]["code"] = broken["scenarios"][3]["code"]
    broken["scenarios"][4]["age_minutes"] = "an hour"
    broken["scenarios"][5]["expected"]["calls"] = ["no-answer", "hung up"]
    broken["scenarios"][6]["expected"]["caller"] = {"personal_id": "010170-905C", "name": "X"}
    problems = training.check_pack(broken, CHANNELS, queues=queues, outcomes=outcomes)
    assert any("calls must be a list of reached, no-answer" in str(p) for p in problems)
    assert any("the caller needs a valid personal_id" in str(p) for p in problems)
    assert any("conversation" in str(p) for p in problems)
    assert any("no-such-queue" in str(p) for p in problems)
    assert any("used twice" in str(p) for p in problems)
    assert any("age_minutes" in str(p) for p in problems)
    assert training.check_pack([], CHANNELS, queues=queues, outcomes=outcomes)


def test_the_starter_pack_covers_what_onboarding_needs(session):
    """Every channel, identified and anonymous residents, every system area, an Omaolo P0
    emergency, an income-support application near its deadline, a resident asking another
    municipality's service, and Swedish-speaking residents: as the items arrive."""
    from desk.models import SystemArea

    pack = training.load_pack(session, PACK)
    trainee = make_user(session, role="trainee", queues=[])
    # A session started on a Tuesday morning: how near a deadline is depends on the weekday
    # (an application six working days old on a Friday evening is due after the weekend).
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    run = training.start_run(
        session, pack, make_user(session, role="trainer"), [trainee], CHANNELS, now=now
    )
    items = [case.item for case in run.cases]
    assert {i.channel for i in items} == set(CHANNELS.names())
    assert {"strong", "none"} <= {i.identification for i in items}
    areas = {i.queue.system_area_code for i in items} - {None}
    assert areas == set(session.scalars(select(SystemArea.code)))
    assert any(i.channel == "omaolo" and i.emergency and i.urgency == "P0" for i in items)
    assert any(
        i.content.get("form", {}).get("type") == "income-support"
        and i.due_at is not None
        and i.due_at - now < timedelta(days=2)
        for i in items
    )
    expected = [c.scenario.expected.get("instruction") or "" for c in run.cases]
    assert any(code.startswith("other-municipality") for code in expected)
    assert sum(i.language == "sv" for i in items) >= 3


def test_editing_or_removing_a_scenario_leaves_sessions_already_run_as_they_were(session):
    pack = training.load_pack(session, PACK)
    trainer = make_user(session, role="trainer", queues=[])
    trainee = make_user(session, role="trainee", queues=["help-regional"])
    run = training.start_run(session, pack, trainer, [trainee], CHANNELS)
    code = "help-request-anon-student-email"
    case = _case(run, trainee, code)
    lifecycle.resolve(session, case.item, trainee, case.scenario.expected["outcome"])
    before = training.score(session, case)
    assert before.outcome is True

    # The trainer changes the expected outcome: the session already run keeps its score.
    row = training.scenario_row(case.scenario)
    row["expected"] = {**row["expected"], "outcome": "callback-arranged"}
    training.save_scenario(session, pack, row)
    assert case.scenario.expected["outcome"] == "callback-arranged"
    assert training.score(session, case).outcome is True

    # Removed: no new session brings it, the old one still scores it, loading it brings it back.
    training.retire_scenario(session, case.scenario)
    assert code not in [r["code"] for r in training.pack_data(pack)["scenarios"]]
    again = training.start_run(session, pack, trainer, [trainee], CHANNELS)
    assert len(again.cases) == len(PACK["scenarios"]) - 1
    assert code not in {c.scenario.code for c in again.cases}
    assert code in {s.scenario for s in training.progress(session, run).by_trainee[trainee.id]}
    training.load_pack(session, PACK)
    assert code in [s.code for s in pack.active_scenarios]


def test_a_new_scenario_starts_from_where_the_desk_routes_its_delivery(session):
    by_code = {row["code"]: row for row in PACK["scenarios"]}
    emergency = by_code["omaolo-p0-chest-pain-porvoo"]
    assert training.routed_handling(
        session, CHANNELS.get(emergency["channel"]), emergency["delivery"]
    ) == {
        "queue": emergency["expected"]["queue"],
        "urgency": "emergency",
    }
    chat = by_code["chat-id-askola-diabetes-booking"]
    assert training.routed_handling(session, CHANNELS.get("chat"), chat["delivery"]) == {
        "queue": chat["expected"]["queue"]
    }
    nowhere = {**chat["delivery"], "municipality": "no-such-place"}
    assert training.routed_handling(session, CHANNELS.get("chat"), nowhere) == {}
    assert not session.new, "a preview stores nothing"


def test_a_scenario_must_expect_the_queue_its_delivery_is_routed_to(session):
    import copy

    assert training.check_routing(session, PACK, CHANNELS) == []
    wrong = copy.deepcopy(PACK)
    row = next(r for r in wrong["scenarios"] if r["code"] == "omaolo-p0-chest-pain-porvoo")
    row["expected"]["queue"] = "omaolo-sipoo"
    problems = [str(p) for p in training.check_routing(session, wrong, CHANNELS)]
    assert problems == [
        "Scenario omaolo-p0-chest-pain-porvoo: by the desk's routing its delivery lands in "
        "omaolo-porvoo, not in omaolo-sipoo."
    ]


def test_callback_scenarios_score_the_calls_as_the_exercises_caller_answered(session):
    from desk.work import calls

    pack = training.load_pack(session, PACK)
    trainer = make_user(session, role="trainer", queues=[])
    trainee = make_user(session, role="trainee", queues=["callback-regional", "health-sipoo"])
    hasty = make_user(session, role="trainee", queues=["callback-regional", "health-sipoo"])
    run = training.start_run(session, pack, trainer, [trainee, hasty], CHANNELS)

    # The caller does not answer twice: the trainee records both, takes the item back from
    # its queue each time (early, as the exercise allows) and reaches them the third time.
    case = _case(run, trainee, "callback-no-answer-twice-porvoo")
    script = training.phone_script(case.expected)
    assert script == {"calls": ["no-answer", "voicemail", "reached"], "caller": None}
    for result in script["calls"]:
        if case.item.assignee_id is None:
            lifecycle.take(session, case.item, trainee)
        calls.record_attempt(session, case.item, trainee, result)
    lifecycle.resolve(session, case.item, trainee, case.expected["outcome"])
    result = training.score(session, case)
    assert (result.calls, result.queue, result.outcome) == (True, True, True)
    # Another gives up after the first unanswered call.
    hurried = _case(run, hasty, "callback-no-answer-twice-porvoo")
    calls.record_attempt(session, hurried.item, hasty, "no-answer")
    lifecycle.take(session, hurried.item, hasty)
    lifecycle.resolve(session, hurried.item, hasty, "self-care-guidance")
    assert "calls" in training.score(session, hurried).missed

    # The caller identified on the phone: the item moves to Sipoo's health services.
    case = _case(run, trainee, "callback-identified-on-phone-sipoo")
    caller = training.phone_script(case.expected)["caller"]
    calls.record_attempt(session, case.item, trainee, "reached")
    calls.identify_caller(
        session,
        case.item,
        trainee,
        personal_id=caller["personal_id"],
        name=caller["name"],
        municipality_code=caller["municipality"],
    )
    assert case.item.queue_code == "health-sipoo" and case.item.assignee_id == trainee.id
    lifecycle.resolve(session, case.item, trainee, case.expected["outcome"])
    result = training.score(session, case)
    assert (result.calls, result.transfer, result.queue) == (True, True, True)
    assert result.missed == ["instruction"], "the page never showed its instruction"
