"""The training space is its own database: trainers and trainees work there and see no real
item, resident or access-log row; nothing of training reaches the real desk."""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk import create_app
from desk.extensions import db
from desk.models import (
    AccessLog,
    InstructionsShown,
    ItemEvent,
    ItemMessage,
    OutboundEndpoint,
    OutboxEvent,
    User,
    WorkItem,
)
from desk.outbound import endpoints
from desk.training.spaces import TRAINING
from tests.factories import make_item, make_user
from tests.web import Browser, text

STARTER = Path(__file__).parents[1] / "desk/data/training/starter_pack.json"


def _add(app, space: str | None, build):
    with app.app_context():
        engine = db.engines[space] if space else db.engine
        with Session(engine, expire_on_commit=False) as session:
            result = build(session)
            session.commit()
            return result


def test_trainers_and_trainees_work_only_in_the_training_database(two_spaces):
    app = two_spaces
    real_item = _add(
        app,
        None,
        lambda s: make_item(s, queue="omaolo-porvoo", title="Oikea asukas: rintakipu").id,
    )
    nurse = _add(app, None, lambda s: _named(make_user(s, queues=["omaolo-porvoo"])))
    trainee = _add(app, None, lambda s: _named(make_user(s, role="trainee", queues=[])))
    trainer = _add(app, None, lambda s: _named(make_user(s, role="trainer", queues=[])))

    for account in (trainee, trainer):
        browser = Browser(app.test_client()).login(account)
        answer = browser.get("/work")
        assert answer.status_code == 200
        work = text(answer)
        assert "Oikea asukas" not in work
        assert "HARJOITUS" in work.upper()  # every screen says where you are
        assert browser.get(f"/items/{real_item}").status_code in (403, 404)

    # A training item, in the training database only.
    practice = _add(
        app,
        TRAINING,
        lambda s: make_item(s, queue="omaolo-porvoo", title="Harjoitus: kuumeinen lapsi").id,
    )
    learner = Browser(app.test_client()).login(trainee)
    assert "Harjoitus: kuumeinen lapsi" in text(learner.get("/work"))
    assert learner.get(f"/items/{practice}").status_code == 200

    professional = Browser(app.test_client()).login(nurse)
    assert "Harjoitus" not in text(professional.get("/work"))
    assert "Harjoitus" not in text(professional.get("/situation/items?queue=omaolo-porvoo"))
    answer = professional.get(f"/items/{practice}")
    assert "Harjoitus" not in text(answer)
    assert "HARJOITUS" not in text(professional.get("/work")).upper()

    # The trainee's look at the practice item is logged in training, not in the real log.
    with app.app_context():
        real_rows = db.session.scalar(
            select(func.count()).select_from(AccessLog).where(AccessLog.user_id == trainee.id)
        )
        with Session(db.engines[TRAINING]) as training:
            training_rows = training.scalar(
                select(func.count()).select_from(AccessLog).where(AccessLog.user_id == trainee.id)
            )
            assert training.get(WorkItem, real_item) is None or (
                training.get(WorkItem, real_item).title != "Oikea asukas: rintakipu"
            )
            mirrored = training.get(User, trainee.id)
            assert mirrored.username == trainee.username and mirrored.password_hash is None
    assert real_rows == 0 and training_rows >= 1


def _routed_real_item(session) -> int:
    item = make_item(session, queue="omaolo-porvoo", title="Oikea asia")
    session.add(
        ItemEvent(item=item, kind="routed", at=item.created_at, to_queue_code="omaolo-porvoo")
    )
    session.flush()
    return item.id


def _named(user):
    user.username  # noqa: B018 (loaded before its session closes)
    return user


def test_the_training_space_must_have_a_database_of_its_own(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(RuntimeError, match="database of its own"):
        create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "DESK_TRAINING_DATABASE_URL": url,
                "SECRET_KEY": "t",
                "REDIS_URL": None,
            }
        )


def test_a_trainer_runs_the_starter_pack_and_follows_the_scores(two_spaces):
    app = two_spaces
    trainer = _add(app, None, lambda s: _named(make_user(s, role="trainer", queues=[])))
    trainee = _add(app, None, lambda s: _named(make_user(s, role="trainee", queues=[])))
    learner = Browser(app.test_client()).login(trainee)  # mirrored into training now
    teacher = Browser(app.test_client()).login(trainer)
    page = text(teacher.get("/training"))
    pack_id = re.search(r'<option value="(\d+)">', page).group(1)
    answer = teacher.post(
        "/training/runs", {"pack": pack_id, "trainees": [str(trainee.id)], "pace": "0"}, htmx=False
    )
    assert answer.status_code == 302
    run_url = answer.headers["Location"]

    work = text(learner.get("/work"))
    assert "Rintakipu" in work or "rintakipu" in work.lower()
    item_id = int(re.search(r'id="item-link-(\d+)"', work).group(1))
    learner.get(f"/items/{item_id}")
    answer = learner.post(
        f"/items/{item_id}/resolve", {"outcome": "no-action-needed", "text": "Harjoitus"}
    )
    assert answer.status_code == 200
    feedback = text(learner.get(f"/items/{item_id}"))
    assert 'id="feedback-heading"' in feedback
    with app.app_context(), Session(db.engines[TRAINING]) as training:
        noted = training.scalars(
            select(InstructionsShown).where(InstructionsShown.item_id == item_id)
        ).all()
        assert noted and "omaolo-p0-emergency" in noted[0].shown["instructions"]

    # A callback exercise: the Phone panel says how the exercise's caller answers the calls.
    with app.app_context(), Session(db.engines[TRAINING]) as training:
        called = training.scalar(select(WorkItem.id).where(WorkItem.title == "+358445550183"))
    script = html.unescape(text(learner.get(f"/items/{called}")))
    assert "Harjoitus:" in script and "Soitto 2: Viesti vastaajaan" in script

    progress = html.unescape(text(teacher.get(run_url)))
    assert trainee.display_name in progress
    # Scenarios by their titles, with how far each has got: one resolved, the rest open.
    assert "Omaolo P0: puristava rintakipu (Porvoo)" in progress
    assert progress.count("Ratkaistu") == 1 and progress.count("Harjoittelijalla") >= 20
    results = list(
        csv.DictReader(text(teacher.get(run_url + "/results.csv")).lstrip("\ufeff").splitlines())
    )
    assert len(results) > 20 and {r["username"] for r in results} == {trainee.username}
    resolved = [r for r in results if r["state"] == "resolved"]
    assert [r["scenario"] for r in resolved] == ["omaolo-p0-chest-pain-porvoo"]
    assert int(resolved[0]["possible"]) >= 4
    assert {r["state"] for r in results if r not in resolved} == {"open"}
    listed = html.unescape(text(teacher.get("/training")))
    assert re.search(
        rf"{trainee.display_name}</td>\s*<td>Kaikki kerralla</td>\s*<td>Käynnissä", listed
    )
    answer = teacher.post(run_url + "/reset", {}, htmx=False)
    assert answer.status_code == 302 and answer.headers["Location"] != run_url
    listed = html.unescape(text(teacher.get("/training")))
    assert listed.count("Käynnissä") == 1 and listed.count("Aloitettu alusta") == 1
    again = text(learner.get("/work"))
    assert len(re.findall(r'id="item-link-', again)) >= 20, "a fresh set of practice items"
    # The real desk knows nothing of it.
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WorkItem)) == 0
    with app.app_context(), Session(db.engines[TRAINING]) as training:
        practised_resident = training.get(WorkItem, item_id).personal_id
        logged_in_training = training.scalar(
            select(func.count())
            .select_from(AccessLog)
            .where(AccessLog.resident_id == practised_resident)
        )
    assert practised_resident and logged_in_training >= 1
    real = _add(app, None, _routed_real_item)
    lead = _add(app, None, lambda s: _named(make_user(s, role="team_lead")))
    auditor = _add(app, None, lambda s: _named(make_user(s, role="auditor", queues=[])))
    leader = Browser(app.test_client()).login(lead)
    # Its reports and their export count the one real item only.
    rows = text(leader.get("/reports/items.csv")).lstrip("\ufeff").splitlines()
    assert len(rows) == 2 and rows[1].startswith(f"{real},")
    found = re.compile(r'href="/items/(\d+)"')
    assert found.findall(text(learner.get("/search?q=Rintakipu")))  # there in training
    assert found.findall(text(leader.get("/search?q=Rintakipu"))) == []
    assert found.findall(text(leader.get("/search?q=Oikea"))) == [str(real)]
    # The practised resident's access log in the real desk holds nothing of the trainee's look.
    reader = Browser(app.test_client()).login(auditor)
    answer = reader.get(f"/audit/export.csv?resident={practised_resident}")
    assert answer.status_code == 200
    assert text(answer).lstrip("\ufeff").splitlines()[1:] == []


def test_nothing_of_training_is_published_to_the_real_desks_live_pages(two_spaces, redis_url):
    import json as jsonlib

    from redis import Redis

    from desk.live import CHANNEL

    app = two_spaces
    trainee = _add(app, None, lambda s: _named(make_user(s, role="trainee", queues=[])))
    nurse = _add(app, None, lambda s: _named(make_user(s, queues=["omaolo-porvoo"])))
    real_item = _add(app, None, lambda s: make_item(s, queue="omaolo-porvoo").id)
    learner = Browser(app.test_client()).login(trainee)
    practice = _add(app, TRAINING, lambda s: make_item(s, queue="chat-regional").id)
    listener = Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(CHANNEL)
    app.config["REDIS_URL"] = redis_url
    try:
        learner.get(f"/items/{practice}")
        assert learner.post(f"/items/{practice}/take").status_code == 200
        professional = Browser(app.test_client()).login(nurse)
        professional.get(f"/items/{real_item}")
        assert professional.post(f"/items/{real_item}/take").status_code == 200
    finally:
        app.config["REDIS_URL"] = None
    messages = []
    for _ in range(20):
        message = listener.get_message(timeout=0.1)
        if message:
            messages.append(jsonlib.loads(message["data"]))
    listener.close()
    assert messages == [
        {"queues": ["omaolo-porvoo"], "places": [["omaolo-porvoo", None]], "people": [nurse.id]}
    ], "the real take only"


def test_a_trainer_saves_a_pack_of_their_own_only_when_it_is_right(two_spaces):
    import io
    import json as jsonlib
    from pathlib import Path

    app = two_spaces
    trainer = _add(app, None, lambda s: _named(make_user(s, role="trainer", queues=[])))
    teacher = Browser(app.test_client()).login(trainer)
    teacher.get("/training")
    pack = jsonlib.loads(
        (Path(__file__).parents[1] / "desk/data/training/starter_pack.json").read_text()
    )
    pack["code"], pack["scenarios"] = "my-pack", pack["scenarios"][:3]

    def upload(data: bytes):
        return teacher.client.post(
            "/training/packs",
            data={"csrf_token": teacher.token, "file": (io.BytesIO(data), "pack.json")},
            content_type="multipart/form-data",
        )

    bad = jsonlib.loads(jsonlib.dumps(pack))
    bad["scenarios"][0]["expected"]["queue"] = "no-such-queue"
    assert upload(jsonlib.dumps(bad).encode()).status_code == 302
    assert upload(b"{not json").status_code == 302
    assert "my-pack" not in text(teacher.get("/training")) and "3 tapausta" not in text(
        teacher.get("/training")
    )
    upload(jsonlib.dumps(pack).encode())
    assert "3 tapausta" in text(teacher.get("/training"))


def test_a_trainer_writes_a_scenario_from_a_generated_delivery(two_spaces):
    app = two_spaces
    trainer = _add(app, None, lambda s: _named(make_user(s, role="trainer", queues=[])))
    teacher = Browser(app.test_client()).login(trainer)
    page = text(teacher.get("/training"))
    form_url = html.unescape(
        re.search(r'href="(/training/packs/\d+/scenarios/new)"', page).group(1)
    )
    form = text(teacher.get(form_url + "?channel=help-request"))
    delivery = html.unescape(
        re.search(r'name="delivery"[^>]*>(.*?)</textarea>', form, re.S).group(1)
    )
    assert '"request"' in delivery and "submitted_at" not in delivery
    # The expected queue starts as the one the desk's routing gives the delivery.
    assert '<option value="help-regional" selected>' in form
    post_url = form_url.replace("/new", "")
    row = {
        "channel": "help-request",
        "code": "oma-tapaus",
        "title_fi": "Oma tapaus",
        "title_sv": "Eget fall",
        "delivery": delivery,
        "age_minutes": "10",
        "queue": "help-regional",
        "transfer_to": "",
        "urgency": "normal",
        "instruction": "help-request-handling",
        "outcome": "self-care-guidance",
        "learning_fi": "Soita asukkaalle.",
        "learning_sv": "Ring invånaren.",
    }
    assert teacher.post(post_url, {**row, "delivery": "{oops"}, htmx=False).status_code == 422
    bad = teacher.post(post_url, {**row, "queue": "no-such-queue"}, htmx=False)
    assert bad.status_code == 422 and "no-such-queue" in text(bad)
    assert teacher.post(post_url, row, htmx=False).status_code == 302
    starter = json.loads(STARTER.read_text("utf-8"))
    assert f"{len(starter['scenarios']) + 1} tapausta" in text(teacher.get("/training"))


def test_a_trainer_starts_a_pack_of_their_own_in_the_app(two_spaces):
    import json

    app = two_spaces
    trainer = _add(app, None, lambda s: _named(make_user(s, role="trainer", queues=[])))
    trainee = _add(app, None, lambda s: _named(make_user(s, role="trainee", queues=[])))
    Browser(app.test_client()).login(trainee)  # known to the training space
    teacher = Browser(app.test_client()).login(trainer)
    titles = {"title_fi": "Perehdytys", "title_sv": "Introduktion"}
    refused = teacher.post("/training/packs/new", {"code": "Ei Käy!", **titles}, htmx=False)
    assert "Anna paketille tunniste" in text(teacher.get(refused.headers["Location"]))
    answer = teacher.post("/training/packs/new", {"code": "perehdytys", **titles}, htmx=False)
    form_url = answer.headers["Location"]
    assert re.fullmatch(r"/training/packs/\d+/scenarios/new", form_url)
    again = teacher.post("/training/packs/new", {"code": "perehdytys", **titles}, htmx=False)
    assert "on jo olemassa" in text(teacher.get(again.headers["Location"]))
    # An empty pack cannot be run.
    pack_id = form_url.split("/")[3]
    answer = teacher.post(
        "/training/runs", {"pack": pack_id, "trainees": [str(trainee.id)], "pace": "0"}, htmx=False
    )
    assert answer.headers["Location"].endswith("/training")

    form = text(teacher.get(form_url + "?channel=omaolo"))
    delivery = html.unescape(re.search(r'name="delivery"[^>]*>(.*?)</textarea>', form, re.S)[1])
    routed = re.search(r'id="s-queue".*?<option value="([^"]+)" selected>', form, re.S)[1]
    row = {
        "channel": "omaolo",
        "code": "ensimmainen",
        "title_fi": "Ensimmäinen",
        "title_sv": "Första",
        "delivery": delivery,
        "age_minutes": "0",
        "queue": "no-such-queue",
        "urgency": "normal",
        "outcome": "self-care-guidance",
    }
    bad = teacher.post(form_url.replace("/new", ""), row, htmx=False)
    assert bad.status_code == 422
    assert "odotettu queue no-such-queue on tuntematon" in text(bad)  # in Finnish
    row["queue"] = "omaolo-sipoo" if "omaolo-porvoo" in routed else "omaolo-porvoo"
    misrouted = teacher.post(form_url.replace("/new", ""), row, htmx=False)
    assert misrouted.status_code == 422 and "reititys vie" in text(misrouted)
    row["queue"] = routed
    saved = teacher.post(form_url.replace("/new", ""), row, htmx=False)
    assert saved.status_code == 302 and saved.headers["Location"] == f"/training/packs/{pack_id}"
    downloaded = teacher.get(f"/training/packs/{pack_id}.json")
    assert "attachment" in downloaded.headers["Content-Disposition"]
    pack = json.loads(text(downloaded))
    assert pack["code"] == "perehdytys" and [s["code"] for s in pack["scenarios"]] == [
        "ensimmainen"
    ]

    # The pack's page lists it; the trainer edits it (the code stays) and then removes it.
    listing = text(teacher.get(f"/training/packs/{pack_id}"))
    edit_url = re.search(r'href="(/training/packs/\d+/scenarios/(\d+)/edit)"', listing)[1]
    assert "Ensimmäinen" in listing
    edit = text(teacher.get(edit_url))
    assert re.search(r'name="code"[^>]*value="ensimmainen"[^>]*readonly', edit)
    changed = {**row, "code": "muu", "title_fi": "Ensimmäinen, korjattu"}
    assert teacher.post(edit_url[: -len("/edit")], changed, htmx=False).status_code == 302
    listing = text(teacher.get(f"/training/packs/{pack_id}"))
    assert "Ensimmäinen, korjattu" in listing
    kept = json.loads(text(teacher.get(f"/training/packs/{pack_id}.json")))["scenarios"]
    assert [(s["code"], s["title_fi"]) for s in kept] == [("ensimmainen", "Ensimmäinen, korjattu")]
    assert teacher.post(edit_url.replace("/edit", "/remove"), htmx=False).status_code == 302
    assert "Ei vielä tapauksia" in text(teacher.get(f"/training/packs/{pack_id}"))
    assert teacher.get(edit_url).status_code == 404


def _lead_who_also_trains(session):
    lead = make_user(session, role="team_lead", queues=["omaolo-porvoo"])
    lead.training_role = "trainer"
    return _named(lead)


def test_someone_with_a_real_and_a_training_role_moves_between_the_spaces(two_spaces):
    """A team lead who also trains: the real desk at sign-in, the training space from the top
    bar (their trainer's pages, no real item), and back; the two never mix."""
    app = two_spaces
    real_item = _add(app, None, lambda s: make_item(s, queue="omaolo-porvoo", title="Oikea").id)
    lead = _add(app, None, _lead_who_also_trains)
    browser = Browser(app.test_client()).login(lead)
    work = text(browser.get("/work"))
    assert f'id="item-link-{real_item}"' in work and "training-banner" not in work
    assert 'action="/training/enter"' in work
    assert browser.get("/training").status_code == 403  # a team lead in the real desk

    answer = browser.post("/training/enter", htmx=False)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/training")
    trainer_page = text(browser.get("/training"))
    assert "training-banner" in trainer_page and 'action="/training/leave"' in trainer_page
    assert browser.get(f"/items/{real_item}").status_code == 404
    assert browser.get("/team").status_code == 403  # a trainer in training, not a lead
    with app.app_context(), Session(db.engines[TRAINING]) as training:
        assert training.get(User, lead.id).role == "trainer"

    answer = browser.post("/training/leave", htmx=False)
    assert answer.status_code == 302
    back = text(browser.get("/work"))
    assert f'id="item-link-{real_item}"' in back and "training-banner" not in back
    assert browser.get("/team").status_code == 200


def test_only_those_with_both_roles_move_between_the_spaces(two_spaces):
    app = two_spaces
    nurse = _add(app, None, lambda s: _named(make_user(s, queues=["omaolo-porvoo"])))
    trainee = _add(app, None, lambda s: _named(make_user(s, role="trainee", queues=[])))
    professional = Browser(app.test_client()).login(nurse)
    assert 'action="/training/enter"' not in text(professional.get("/work"))
    assert professional.post("/training/enter", htmx=False).status_code == 403
    assert "training-banner" not in text(professional.get("/work"))

    learner = Browser(app.test_client()).login(trainee)
    assert 'action="/training/leave"' not in text(learner.get("/work"))
    assert learner.post("/training/leave", htmx=False).status_code == 403
    assert "training-banner" in text(learner.get("/work"))  # still only in training


def test_a_trainee_answers_a_practice_chat_and_nothing_leaves_the_desk(two_spaces):
    app = two_spaces
    trainee = _add(app, None, lambda s: _named(make_user(s, role="trainee", queues=[])))
    practice = _add(
        app, TRAINING, lambda s: make_item(s, queue="chat-regional", title="Harjoitus: yskä").id
    )
    learner = Browser(app.test_client()).login(trainee)
    page = text(learner.post(f"/items/{practice}/take"))
    assert 'id="reply-text"' in page, "a trainee answers as a professional does"
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    answer = learner.post(
        f"/items/{practice}/messages",
        {"kind": "reply", "text": "Hei! Kauanko yskä on kestänyt?"} | {"key": key},
    )
    assert answer.status_code == 200
    assert "Kauanko yskä on kestänyt?" in text(answer)
    with app.app_context():
        with Session(db.engines[TRAINING]) as training:
            sent = training.scalars(
                select(ItemMessage).where(ItemMessage.item_id == practice)
            ).one()
            events = training.scalars(select(OutboxEvent).where(OutboxEvent.item_id == practice))
            # Taken by the training space's residents as it was made: sent, to nobody.
            assert sent.state == "sent"
            assert {e.state for e in events} == {"delivered"}
            assert training.scalar(select(OutboundEndpoint.url)) == endpoints.TRAINING_RESIDENTS
        # The real desk has no such message, event or endpoint.
        assert db.session.scalar(select(func.count()).select_from(ItemMessage)) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboundEndpoint)) == 0
