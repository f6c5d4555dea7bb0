"""The trainer's pages in the training space: packs, starting a run for trainees (all at
once or paced), and following each trainee's scores and the common mistakes."""

from __future__ import annotations

import csv
import io
import json

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from .. import spaces, training
from ..extensions import db
from ..models import OutcomeCode, Queue, Role, TrainingCase, TrainingPack, TrainingRun, User
from ..security import me, roles_required

bp = Blueprint("training", __name__, url_prefix="/training")


@bp.get("")
@roles_required(Role.TRAINER)
def index():
    packs = db.session.scalars(select(TrainingPack).order_by(TrainingPack.code)).all()
    runs = db.session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc())).all()
    trainees = db.session.scalars(
        select(User).where(User.role == Role.TRAINEE.value).order_by(User.display_name)
    ).all()
    return render_template("training/index.html", packs=packs, runs=runs, trainees=trainees)


@bp.post("/runs")
@roles_required(Role.TRAINER)
def start():
    pack = db.session.get(TrainingPack, int(request.form.get("pack", "0") or 0))
    ids = [int(i) for i in request.form.getlist("trainees") if i.isdigit()]
    trainees = db.session.scalars(
        select(User).where(User.id.in_(ids), User.role == Role.TRAINEE.value)
    ).all()
    pace = request.form.get("pace", "0")
    if pack is None or not trainees or not pace.isdigit() or int(pace) > 120:
        flash(_("Choose a pack, at least one trainee and a pace of 0–120 minutes."), "error")
        return redirect(url_for("training.index"))
    run = training.start_run(db.session, pack, me(), list(trainees), pace_minutes=int(pace))
    db.session.commit()
    flash(_("The session started for %(n)d trainees.", n=len(trainees)), "success")
    return redirect(url_for("training.run", run_id=run.id))


@bp.get("/runs/<int:run_id>")
@roles_required(Role.TRAINER)
def run(run_id: int):
    found = db.session.get(TrainingRun, run_id)
    if found is None:
        abort(404)
    report = training.progress(db.session, found)
    people = {
        u.id: u
        for u in db.session.scalars(select(User).where(User.id.in_(list(report.by_trainee))))
    }
    return render_template("training/run.html", run=found, report=report, people=people)


@bp.post("/packs")
@roles_required(Role.TRAINER)
def upload_pack():
    """A pack the trainer wrote (JSON in the starter pack's format), checked whole: any
    problem and nothing is stored."""
    upload = request.files.get("file")
    try:
        data = json.loads(upload.read().decode("utf-8-sig")) if upload else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    queues = set(db.session.scalars(select(Queue.code)))
    outcomes = set(db.session.scalars(select(OutcomeCode.code)))
    problems = (
        training.check_pack(data, queues=queues, outcomes=outcomes)
        if data is not None
        else [_("The file is not JSON.")]
    )
    if problems:
        flash(_("The pack was not saved: %(problems)s", problems="; ".join(problems[:8])), "error")
        return redirect(url_for("training.index"))
    pack = training.load_pack(db.session, data)
    db.session.commit()
    flash(
        _(
            "The pack %(code)s was saved with %(n)d scenarios.",
            code=pack.code,
            n=len(pack.scenarios),
        ),
        "success",
    )
    return redirect(url_for("training.index"))


@bp.post("/runs/<int:run_id>/reset")
@roles_required(Role.TRAINER)
def reset(run_id: int):
    """Start the session again from the beginning for the same trainees."""
    found = db.session.get(TrainingRun, run_id)
    if found is None:
        abort(404)
    fresh = training.reset_run(db.session, found, me())
    db.session.commit()
    flash(_("The session started again from the beginning."), "success")
    return redirect(url_for("training.run", run_id=fresh.id))


@bp.get("/runs/<int:run_id>/results.csv")
@roles_required(Role.TRAINER)
def results(run_id: int):
    """Every trainee's result per scenario, one row each (UTF-8 with BOM)."""
    found = db.session.get(TrainingRun, run_id)
    if found is None:
        abort(404)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["username", "name", "scenario", "points", "possible", "missed", "minutes"])
    writer.writerows(training.results_rows(db.session, found))
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="training-{run_id}.csv"'},
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
        if in_training and training.release_due(db.session):
            db.session.commit()

    app.jinja_env.globals["training_feedback"] = feedback_for
    app.jinja_env.globals["check_label"] = check_label
    app.jinja_env.filters["check_label"] = check_label


def check_label(check: str) -> str:
    return {
        "queue": _("right queue"),
        "transfer": _("transfer"),
        "emergency": _("emergency noticed in time"),
        "deadline": _("deadline met"),
        "outcome": _("outcome"),
        "instruction": _("instruction consulted"),
    }.get(check, check)
