"""Retention: a resolved item's resident data is erased once its period has passed; what the
reports count and what the access log says stay (desk.work.retention)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from datetime import timedelta

from sqlalchemy import func, select

from desk import reports
from desk.inbound import feedback
from desk.models import (
    AccessLog,
    AccessPurpose,
    InboundDelivery,
    ItemEvent,
    ItemFeedback,
    ItemMessage,
    OutboundEndpoint,
    OutboxEvent,
    TrainingCase,
    TrainingPack,
    TrainingRun,
    TrainingScenario,
    utcnow,
)
from desk.reports import targets
from desk.work import lifecycle, retention, search
from desk.work.access import record_access
from tests.factories import CHANNELS, make_item, make_user
from tests.web import Browser, text

PID = "010594-9973"
NAME = "Saimi Lokinen-Vartiainen"
FORM = {
    "form": {
        "type": "income-support",
        "title": "Täydentävä toimeentulotuki",
        "fields": {"Haettava tuki": "Lääkekulut, Saimin reseptit"},
        "attachments": [{"name": "saimi-kela.pdf", "content_type": "application/pdf"}],
    },
    "urgent": False,
}


def handled(session, nurse, *, resolved_days_ago: int, channel="eform", content=None):
    """An item a resident sent, that `nurse` took, noted, answered and resolved, resolved
    that many days ago; with its delivery, its outbound event and a look in the access log."""
    item = make_item(
        session,
        queue="omaolo-porvoo",
        channel=channel,
        title="Täydentävä toimeentulotuki" if channel == "eform" else "recept: Saimin lääkkeet",
        personal_id=PID,
        content=content or FORM,
        municipality="porvoo",
    )
    item.resident_name, item.resident_phone = NAME, "+358407654321"
    item.resident_email = "saimi@example.fi"
    session.add(
        InboundDelivery(
            id=str(uuid.uuid4()),
            channel=channel,
            external_id=item.external_id,
            payload={"resident": {"personal_id": PID, "name": NAME}},
            content_hash="h",
            status="routed",
            item_id=item.id,
        )
    )
    lifecycle.take(session, item, nurse)
    lifecycle.add_note(session, item, nurse, "Soitin Saimille, lääkkeet 84,50 €")
    message = ItemMessage(
        id=f"msg_{uuid.uuid4().hex}",
        item_id=item.id,
        outgoing=True,
        text="Hei Saimi, tarvitsemme vielä Kelan päätöksen.",
        language="fi",
        kind="request_info",
        author_id=nurse.id,
        sender_name="Hanna",
        state="delivered",
        links=[{"title": "Kela", "url": "https://www.kela.fi"}],
    )
    session.add(message)
    endpoint = session.scalar(select(OutboundEndpoint)) or OutboundEndpoint(
        name="Source", url="https://source.example.fi/hook", channels="eform,chat", secret="s"
    )
    session.add(endpoint)
    session.flush()
    session.add(
        OutboxEvent(
            id=f"evt_{uuid.uuid4().hex}",
            endpoint_id=endpoint.id,
            item_id=item.id,
            message_id=message.id,
            type="message.created",
            body='{"data": {"text": "Hei Saimi"}}',
            state="delivered",
            next_attempt_at=utcnow(),
        )
    )
    record_access(session, nurse, AccessPurpose.VIEW, item=item)
    lifecycle.resolve(session, item, nurse, "appointment-booked", "Aika varattu Saimille")
    feedback.record(
        session,
        item,
        {
            "feedback_id": f"fb-{item.id}",
            "score": 9,
            "satisfied": True,
            "comment": "Saimi kiittää, hoitaja soitti heti",
            "at": (utcnow() - timedelta(days=resolved_days_ago)).isoformat(),
        },
    )
    # All of it happened that many days ago.
    back = timedelta(days=resolved_days_ago)
    for column in ("submitted_at", "created_at", "updated_at", "first_action_at", "resolved_at"):
        setattr(item, column, getattr(item, column) - back)
    for event in item.events:
        event.at -= back
    session.flush()
    return item


def test_an_item_past_its_period_keeps_what_the_reports_count_and_nothing_of_the_resident(
    session,
):
    nurse = make_user(session, queues=["omaolo-porvoo"])
    old = handled(session, nurse, resolved_days_ago=91)
    chat = handled(
        session,
        nurse,
        resolved_days_ago=120,
        channel="chat",
        content={"topic": "recept", "conversation": [{"sender": "resident", "text": "Saimi"}]},
    )
    recent = handled(session, nurse, resolved_days_ago=89)
    still_open = make_item(session, personal_id=PID, queue="omaolo-porvoo")
    today = utcnow().date()
    period = (today - timedelta(days=130), today + timedelta(days=1))
    before = asdict(reports.build(session, *period))
    targets_before = asdict(targets.build(session, *period, municipalities=["porvoo"]))
    kinds_before = _events(session, old)
    looks_before = session.scalar(select(func.count()).select_from(AccessLog))

    erased = retention.erase_due(session, CHANNELS, utcnow(), days=90)

    assert erased.items == 2 and erased.messages == 2 and erased.deliveries == 2
    assert erased.outbox_events == 2 and erased.events == 4 and erased.feedback_comments == 2
    session.expire_all()
    for item in (old, chat):
        assert item.erased_at is not None
        assert (item.personal_id, item.resident_name, item.resident_phone) == (None, None, None)
        assert item.resident_email is None
        assert all(e.text is None for e in item.events)
    # What the reports and instructions classify by is all that is left of the content.
    assert old.title == "Täydentävä toimeentulotuki"
    assert old.content == {
        "form": {"type": "income-support", "title": "Täydentävä toimeentulotuki"},
        "urgent": False,
    }
    assert chat.title == "recept" and chat.content == {"topic": "recept"}
    messages = session.scalars(select(ItemMessage).where(ItemMessage.item_id == old.id)).all()
    assert [(m.text, m.links, m.kind, m.outgoing) for m in messages] == [
        ("", None, "request_info", True)
    ]
    sent = select(OutboxEvent.body).where(
        OutboxEvent.item_id == old.id, OutboxEvent.type == "message.created"
    )
    assert session.scalar(sent) == ""
    payload = select(InboundDelivery.payload).where(InboundDelivery.item_id == old.id)
    assert session.scalar(payload) == {}
    # The satisfaction answer keeps its score, not the resident's words.
    answers = select(ItemFeedback.score, ItemFeedback.satisfied, ItemFeedback.comment)
    assert session.execute(answers.where(ItemFeedback.item_id == old.id)).all() == [(9, True, None)]
    # Not yet due, or not resolved: untouched.
    for item in (recent, still_open):
        assert item.erased_at is None and item.personal_id == PID
    assert recent.resident_name == NAME and recent.events[1].text
    # The reports give the same figures; the events are the same events.
    assert asdict(reports.build(session, *period)) == before
    assert asdict(targets.build(session, *period, municipalities=["porvoo"])) == targets_before
    assert _events(session, old) == kinds_before
    # The access log is untouched: the auditor still finds who looked at the erased item,
    # and at whose data; the desk's search by the code finds only what is not erased.
    assert session.scalar(select(func.count()).select_from(AccessLog)) == looks_before
    looked = session.scalars(select(AccessLog).where(AccessLog.item_id == old.id)).all()
    assert [(row.user_id, row.resident_id) for row in looked] == [(nurse.id, PID)]
    lead = make_user(session, role="team_lead", queues=["omaolo-porvoo", "chat-regional"])
    found = search.find(session, lead, search.parse(PID))
    assert {item.id for item in found} == {recent.id, still_open.id}

    # Again: nothing more to do, nothing changes.
    assert retention.erase_due(session, CHANNELS, utcnow(), days=90).items == 0


def _events(session, item) -> list[tuple]:
    rows = session.execute(
        select(ItemEvent.kind, ItemEvent.at, ItemEvent.actor_id, ItemEvent.outcome_code)
        .where(ItemEvent.item_id == item.id)
        .order_by(ItemEvent.id)
    )
    return [tuple(row) for row in rows]


def test_training_items_go_a_period_after_their_session_ended(session):
    trainer = make_user(session, role="trainer")
    trainee = make_user(session, role="trainee", queues=["omaolo-porvoo"])
    pack = TrainingPack(code="p", title_fi="P", title_sv="P")
    scenario = TrainingScenario(
        pack=pack, position=1, code="s", title_fi="S", title_sv="S", channel="eform"
    )
    session.add_all([pack, scenario])
    session.flush()
    items = {}
    for ended_days_ago in (31, 29):
        run = TrainingRun(
            pack_id=pack.id, trainer_id=trainer.id, ended_at=utcnow() - timedelta(ended_days_ago)
        )
        session.add(run)
        session.flush()
        item = make_item(session, queue="omaolo-porvoo", channel="eform", personal_id=PID)
        item.content = FORM
        session.add(
            TrainingCase(
                run_id=run.id,
                scenario_id=scenario.id,
                trainee_id=trainee.id,
                release_at=run.started_at,
                item_id=item.id,
            )
        )
        items[ended_days_ago] = item
    session.flush()
    erased = retention.erase_training_due(session, CHANNELS, utcnow(), days=30)
    assert erased.items == 1
    assert items[31].erased_at is not None and items[31].personal_id is None
    assert items[29].erased_at is None and items[29].personal_id == PID


def test_the_scheduled_erasure_logs_counts_and_the_page_says_what_happened(
    app, client, app_session, caplog
):
    from desk.tasks.retention import erase_expired

    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    item = handled(app_session, nurse, resolved_days_ago=100)
    app_session.commit()
    with caplog.at_level(logging.INFO, logger="desk.tasks.retention"), app.app_context():
        assert erase_expired() == {"items": 1, "training_items": 0}
        assert erase_expired() == {"items": 0, "training_items": 0}
    said = [r.getMessage() for r in caplog.records if r.name == "desk.tasks.retention"]
    assert said == [
        "retention: erased the resident data of 1 items in the real space "
        "(2 event texts, 1 messages, 1 outbound events, 1 deliveries, 1 feedback comments)"
    ]
    page = text(Browser(client).login(nurse).get(f"/items/{item.id}"))
    assert "Asukkaan tiedot poistettiin" in page
    assert NAME not in page and PID not in page and "Saimi" not in page
    assert "Täydentävä toimeentulotuki" in page  # the kind of matter, and its history
