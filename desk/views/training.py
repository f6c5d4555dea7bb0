"""The trainer's pages in the training space: packs and scenarios, starting a run for trainees
(all at once or paced), and following each trainee's scores and the common mistakes; and the
way between the spaces for an account with a training role beside its real one."""

from __future__ import annotations

import json
import re

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import training
from ..channels.base import InvalidJson, parse_json
from ..extensions import channel_registry, db
from ..i18n import language
from ..models import (
    Instruction,
    OutcomeCode,
    Queue,
    Role,
    TrainingCase,
    TrainingPack,
    TrainingRun,
    TrainingScenario,
    User,
)
from ..security import me, roles_required
from ..training import spaces
from .downloads import csv_download
from .guard import database_id, number

bp = Blueprint("training", __name__, url_prefix="/training")


@bp.get("")
@roles_required(Role.TRAINER)
def index():
    packs = db.session.scalars(select(TrainingPack).order_by(TrainingPack.code)).all()
    runs = db.session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc())).all()
    trainees = db.session.scalars(
        select(User).where(User.role == Role.TRAINEE.value).order_by(User.display_name)
    ).all()
    run_trainees = {
        run.id: sorted({case.trainee.display_name for case in run.cases}) for run in runs
    }
    return render_template(
        "training/index.html", packs=packs, runs=runs, trainees=trainees, run_trainees=run_trainees
    )


@bp.post("/runs")
@roles_required(Role.TRAINER)
def start():
    pack_id = database_id(request.form.get("pack"))
    pack = db.session.get(TrainingPack, pack_id) if pack_id else None
    ids = [i for i in map(database_id, request.form.getlist("trainees")) if i is not None]
    trainees = db.session.scalars(
        select(User).where(User.id.in_(ids), User.role == Role.TRAINEE.value)
    ).all()
    pace = number(request.form.get("pace", "0"), 0, 120)
    if pack is None or not pack.active_scenarios or not trainees or pace is None:
        flash(
            _("Choose a pack with scenarios, at least one trainee and a pace of 0–120 minutes."),
            "error",
        )
        return redirect(url_for("training.index"))
    run = training.start_run(
        db.session, pack, me(), list(trainees), channel_registry(), pace_minutes=pace
    )
    db.session.commit()
    flash(_("The session started for %(n)d trainees.", n=len(trainees)), "success")
    return redirect(url_for("training.run", run_id=run.id))


@bp.get("/runs/<int:run_id>")
@roles_required(Role.TRAINER)
def run(run_id: int):
    found = db.get_or_404(TrainingRun, run_id)
    report = training.progress(db.session, found)
    people = {
        u.id: u
        for u in db.session.scalars(select(User).where(User.id.in_(list(report.by_trainee))))
    }
    sv = language() == "sv"
    titles = {
        c.scenario.code: c.scenario.title_sv if sv else c.scenario.title_fi for c in found.cases
    }
    return render_template(
        "training/run.html", run=found, report=report, people=people, titles=titles
    )


@bp.post("/packs")
@roles_required(Role.TRAINER)
def upload_pack():
    """A pack the trainer wrote (JSON in the starter pack's format), checked whole: any
    problem and nothing is stored."""
    upload = request.files.get("file")
    try:
        data = parse_json(upload.read().decode("utf-8-sig")) if upload else None
    except (UnicodeDecodeError, InvalidJson):
        data = None
    queues = set(db.session.scalars(select(Queue.code)))
    outcomes = set(db.session.scalars(select(OutcomeCode.code)))
    if data is None:
        problems = [_("The file is not JSON.")]
    else:
        problems = worded(
            training.check_pack(data, channel_registry(), queues=queues, outcomes=outcomes)
        )
        problems = problems or worded(training.check_routing(db.session, data, channel_registry()))
    if problems:
        flash(_("The pack was not saved: %(problems)s", problems=" ".join(problems[:8])), "error")
        return redirect(url_for("training.index"))
    pack = training.load_pack(db.session, data)
    db.session.commit()
    flash(
        ngettext(
            "The pack %(code)s was saved with %(num)d scenario.",
            "The pack %(code)s was saved with %(num)d scenarios.",
            len(pack.active_scenarios),
            code=pack.code,
        ),
        "success",
    )
    return redirect(url_for("training.index"))


SCENARIO_FIELDS = (
    "code",
    "title_fi",
    "title_sv",
    "age_minutes",
    "queue",
    "transfer_to",
    "urgency",
    "instruction",
    "outcome",
    "learning_fi",
    "learning_sv",
)


def _scenario_form(
    pack: TrainingPack,
    values: dict,
    problems: list[str],
    status: int = 200,
    scenario: TrainingScenario | None = None,
):
    return (
        render_template(
            "training/scenario.html",
            pack=pack,
            scenario=scenario,
            values=values,
            problems=problems,
            channels=channel_registry().names(),
            queues=db.session.scalars(select(Queue).order_by(Queue.code)).all(),
            outcomes=db.session.scalars(select(OutcomeCode).order_by(OutcomeCode.position)).all(),
            instruction_codes=sorted(c for c in db.session.scalars(select(Instruction.code)) if c),
        ),
        status,
    )


def _pack(pack_id: int) -> TrainingPack:
    return db.get_or_404(TrainingPack, pack_id)


def worded(problems: list[training.Problem]) -> list[str]:
    """A pack's problems in the reader's language."""
    return [_(problem.message, **problem.params) for problem in problems]


PACK_CODE = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")


@bp.post("/packs/new")
@roles_required(Role.TRAINER)
def create_pack():
    """A new, empty pack to write scenarios into."""
    code = request.form.get("code", "").strip().lower()
    titles = {name: request.form.get(name, "").strip() for name in ("title_fi", "title_sv")}
    if not PACK_CODE.fullmatch(code) or not all(titles.values()):
        flash(_("Give the pack a code (a–z, 0–9, -) and a title in both languages."), "error")
        return redirect(url_for("training.index"))
    if db.session.scalar(select(TrainingPack.id).where(TrainingPack.code == code)):
        flash(_("A pack with the code %(code)s exists already.", code=code), "error")
        return redirect(url_for("training.index"))
    pack = training.load_pack(db.session, {"code": code, **titles, "scenarios": []})
    db.session.commit()
    return redirect(url_for("training.new_scenario", pack_id=pack.id))


@bp.get("/packs/<int:pack_id>.json")
@roles_required(Role.TRAINER)
def pack_json(pack_id: int):
    """The pack in the starter pack's format: to keep, share or edit and save again."""
    pack = _pack(pack_id)
    body = json.dumps(training.pack_data(pack), ensure_ascii=False, indent=1)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{pack.code}.json"'},
    )


@bp.get("/packs/<int:pack_id>")
@roles_required(Role.TRAINER)
def pack(pack_id: int):
    """A pack's scenarios with what each expects, to edit or remove."""
    found = _pack(pack_id)
    queues = {q.code: q for q in db.session.scalars(select(Queue))}
    outcomes = {o.code: o for o in db.session.scalars(select(OutcomeCode))}
    return render_template("training/pack.html", pack=found, queues=queues, outcomes=outcomes)


@bp.get("/packs/<int:pack_id>/scenarios/new")
@roles_required(Role.TRAINER)
def new_scenario(pack_id: int):
    """Write a scenario: the delivery in the inbound contract's format, generated to start
    from, and the handling expected of the trainee."""
    pack = _pack(pack_id)
    channel = request.args.get("channel", "chat")
    adapter = channel_registry().get(channel)
    if adapter is None:
        channel = "chat"
        adapter = channel_registry().get(channel)
    seed = number(request.args.get("seed", "1"), 0)
    seed = 1 if seed is None else seed
    values = {name: "" for name in SCENARIO_FIELDS}
    values.update(channel=channel, urgency="normal", age_minutes="5", seed=seed)
    delivery = training.generated_delivery(channel, seed)
    values["delivery"] = json.dumps(delivery, ensure_ascii=False, indent=2)
    values.update(training.routed_handling(db.session, adapter, delivery))
    return _scenario_form(pack, values, [])


@bp.post("/packs/<int:pack_id>/scenarios")
@roles_required(Role.TRAINER)
def add_scenario(pack_id: int):
    return _save_scenario(_pack(pack_id), None)


@bp.get("/packs/<int:pack_id>/scenarios/<int:scenario_id>/edit")
@roles_required(Role.TRAINER)
def edit_scenario(pack_id: int, scenario_id: int):
    pack, scenario = _scenario(pack_id, scenario_id)
    row = training.scenario_row(scenario)
    values = {name: row.get(name, "") for name in SCENARIO_FIELDS}
    values.update({name: row["expected"].get(name) or "" for name in EXPECTED_FIELDS})
    values.update(channel=scenario.channel, age_minutes=str(scenario.age_minutes))
    values["delivery"] = json.dumps(scenario.delivery, ensure_ascii=False, indent=2)
    return _scenario_form(pack, values, [], scenario=scenario)


@bp.post("/packs/<int:pack_id>/scenarios/<int:scenario_id>")
@roles_required(Role.TRAINER)
def update_scenario(pack_id: int, scenario_id: int):
    return _save_scenario(*_scenario(pack_id, scenario_id))


@bp.post("/packs/<int:pack_id>/scenarios/<int:scenario_id>/remove")
@roles_required(Role.TRAINER)
def remove_scenario(pack_id: int, scenario_id: int):
    pack, scenario = _scenario(pack_id, scenario_id)
    training.retire_scenario(db.session, scenario)
    db.session.commit()
    title = scenario.title_sv if language() == "sv" else scenario.title_fi
    flash(_("%(title)s was removed from the pack.", title=title), "success")
    return redirect(url_for("training.pack", pack_id=pack.id))


EXPECTED_FIELDS = ("queue", "transfer_to", "urgency", "instruction", "outcome")


def _scenario(pack_id: int, scenario_id: int) -> tuple[TrainingPack, TrainingScenario]:
    pack = _pack(pack_id)
    scenario = db.session.get(TrainingScenario, scenario_id)
    if scenario is None or scenario.pack_id != pack.id or scenario.retired:
        abort(404)
    return pack, scenario


def _save_scenario(pack: TrainingPack, scenario: TrainingScenario | None):
    """The scenario form, checked like a whole pack; a problem keeps the form as typed."""
    form = request.form
    values = {name: form.get(name, "") for name in (*SCENARIO_FIELDS, "channel", "delivery")}
    if scenario is not None:
        values["code"] = scenario.code  # the code names the scenario; it is not edited
    try:
        delivery = parse_json(values["delivery"])
    except InvalidJson:
        problems = [_("The delivery is not JSON.")]
        return _scenario_form(pack, values, problems, 422, scenario=scenario)
    row = {
        "code": values["code"].strip(),
        "title_fi": values["title_fi"].strip(),
        "title_sv": values["title_sv"].strip(),
        "channel": values["channel"],
        "delivery": delivery,
        # Not a number, or out of range: None, which the pack's check names.
        "age_minutes": number(values["age_minutes"], 0) if values["age_minutes"] else 0,
        "expected": {name: values[name] or None for name in EXPECTED_FIELDS},
        "learning_fi": values["learning_fi"].strip(),
        "learning_sv": values["learning_sv"].strip(),
    }
    if scenario is not None:
        # The exercise's caller (written in the pack's JSON) is not on the form: kept as it was.
        for key in training.PHONE_SCRIPT_FIELDS:
            if key in (scenario.expected or {}):
                row["expected"][key] = scenario.expected[key]
    if scenario is None and any(s.code == row["code"] for s in pack.active_scenarios):
        problem = _("Scenario %(where)s: the code is used twice.", where=row["code"])
        return _scenario_form(pack, values, [problem], 422)
    queues = set(db.session.scalars(select(Queue.code)))
    outcomes = set(db.session.scalars(select(OutcomeCode.code)))
    data = training.with_scenario(pack, row)
    problems = worded(
        training.check_pack(data, channel_registry(), queues=queues, outcomes=outcomes)
    )
    problems = problems or worded(
        training.check_routing(db.session, {"scenarios": [row]}, channel_registry())
    )
    if problems:
        return _scenario_form(pack, values, problems, 422, scenario=scenario)
    training.save_scenario(db.session, pack, row)
    db.session.commit()
    if scenario is None:
        flash(_("The scenario was added to the pack."), "success")
    else:
        flash(_("The scenario was saved. Sessions already run keep their scores."), "success")
    return redirect(url_for("training.pack", pack_id=pack.id))


@bp.post("/enter")
def enter():
    """Into the training space, for an account with a training role beside its real one (the
    policy checks that in the real database). The real desk's pages stay as they were."""
    with Session(db.engine) as real:  # the account as the real desk knows it
        user = real.get(User, me().id)
        spaces.mirror(user)
        role = spaces.training_role(user)
    spaces.enter(spaces.TRAINING)
    session["switchable"] = True
    flash(_("You are in the training space."), "success")
    return redirect(url_for("training.index" if role == Role.TRAINER else "work.index"))


@bp.post("/leave")
def leave():
    """Back to the real desk from the training space."""
    spaces.enter(spaces.REAL)
    flash(_("You are back in the real desk."), "success")
    return redirect(url_for("work.index"))


@bp.post("/runs/<int:run_id>/reset")
@roles_required(Role.TRAINER)
def reset(run_id: int):
    """Start the session again from the beginning for the same trainees."""
    found = db.get_or_404(TrainingRun, run_id)
    fresh = training.reset_run(db.session, found, me(), channel_registry())
    db.session.commit()
    flash(_("The session started again from the beginning."), "success")
    return redirect(url_for("training.run", run_id=fresh.id))


@bp.get("/runs/<int:run_id>/results.csv")
@roles_required(Role.TRAINER)
def results(run_id: int):
    """Every trainee's result per scenario, one row each."""
    found = db.get_or_404(TrainingRun, run_id)
    return csv_download(
        f"training-{run_id}.csv",
        ["username", "name", "scenario", "state", "points", "possible", "missed", "minutes"],
        training.results_rows(db.session, found),
    )


def feedback_for(item_id: int):
    """The score and learning note of a training item, for its trainee's item page."""
    if spaces.current() != spaces.TRAINING:
        return None
    case = db.session.scalar(select(TrainingCase).where(TrainingCase.item_id == item_id))
    if case is None:
        return None
    return {"case": case, "score": training.score(db.session, case)}


def init_app(app: Flask) -> None:
    @app.before_request
    def release_paced_scenarios():
        # Paced sessions: what is due arrives with the next request in the training space.
        in_training = spaces.current() == spaces.TRAINING and request.endpoint != "static"
        if in_training and training.release_due(db.session, channel_registry()):
            db.session.commit()

    app.jinja_env.globals["training_feedback"] = feedback_for
    app.jinja_env.globals["check_label"] = check_label
    app.jinja_env.globals["phone_script"] = training.phone_script
    app.jinja_env.filters["check_label"] = check_label
    # (value, label) pairs for the scenario form's select fields
    from .labels import channel_label

    app.jinja_env.filters["channel_choice"] = lambda c: (c, channel_label(c))
    app.jinja_env.filters["queue_choice"] = lambda q: (q.code, q.name(language()))
    app.jinja_env.filters["outcome_choice"] = lambda o: (o.code, o.name(language()))
    app.jinja_env.filters["pair"] = lambda v: (v, v)


def check_label(check: str) -> str:
    return {
        "queue": _("right queue"),
        "transfer": _("transfer"),
        "emergency": _("emergency noticed in time"),
        "deadline": _("deadline met"),
        "outcome": _("outcome"),
        "instruction": _("instruction consulted"),
        "calls": _("calls recorded as they went"),
    }.get(check, check)
