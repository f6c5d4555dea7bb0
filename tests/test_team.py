"""A team lead's day through the real app: availability, automatic assignment, the board,
reassigning and going offline."""

from __future__ import annotations

import re

from sqlalchemy import select

from desk.models import ItemEvent, Queue, WorkItem
from tests.factories import make_item, make_user
from tests.web import Browser, text


def test_a_lead_switches_a_queue_to_round_robin_and_the_desk_gives_items(app, app_session):
    lead = make_user(app_session, role="team_lead", queues=["omaolo-porvoo"], name="Lea Lead")
    anna = make_user(app_session, queues=["omaolo-porvoo"], name="Anna")
    bert = make_user(app_session, queues=["omaolo-porvoo"], name="Bert")
    items = [make_item(app_session, queue="omaolo-porvoo", channel="omaolo") for _ in range(3)]
    boss = Browser(app.test_client()).login(lead)
    a = Browser(app.test_client()).login(anna)
    b = Browser(app.test_client()).login(bert)

    # Both are available; the queue is still manual, so nothing is given yet.
    assert a.post("/me/status", {"status": "available"}, htmx=False).status_code == 302
    b.post("/me/status", {"status": "available"}, htmx=False)
    app_session.expire_all()

    def held() -> dict[int, int | None]:
        return {i.id: i.assignee_id for i in app_session.scalars(select(WorkItem))}

    assert set(held().values()) == {None}

    boss.get("/team")
    answer = boss.post(
        "/team/queues/omaolo-porvoo/assignment", {"assignment": "round_robin"}, htmx=False
    )
    assert answer.status_code == 302
    app_session.expire_all()
    assert app_session.get(Queue, "omaolo-porvoo").assignment == "round_robin"
    given = held()
    assert sorted(given.values()) == sorted([anna.id, anna.id, bert.id]), "in turn"

    board = text(boss.get("/team"))
    row = re.search(r">Anna</a></th>.*?</tr>", board, re.S).group(0)
    assert "Vapaana" in row

    # Bert ends the day: what he has not touched goes back, and Anna gets it if she has room.
    bert_items = [i for i, u in given.items() if u == bert.id]
    b.post("/me/status", {"status": "offline"}, htmx=False)
    app_session.expire_all()
    for item_id in bert_items:
        kinds = app_session.scalars(
            select(ItemEvent.kind).where(ItemEvent.item_id == item_id).order_by(ItemEvent.id)
        ).all()
        assert "returned" in kinds
        assert app_session.get(WorkItem, item_id).assignee_id == anna.id

    # The lead moves everything of Anna's back to the queue at once.
    boss.get(f"/team/people/{anna.id}")
    answer = boss.post(
        "/team/reassign",
        {"items": [str(i.id) for i in items], "to": "queue"},
        htmx=False,
    )
    assert answer.status_code == 302
    app_session.expire_all()
    events = app_session.scalars(select(ItemEvent).where(ItemEvent.kind == "reassigned")).all()
    assert {e.item_id for e in events} >= {i.id for i in items}
    assert all(e.actor_id == lead.id for e in events)


def test_capacity_and_memberships_are_the_leads_to_set_in_their_own_queues(app, app_session):
    lead = make_user(app_session, role="team_lead", queues=["omaolo-porvoo", "chat-regional"])
    nurse = make_user(app_session, queues=["omaolo-porvoo", "social-sipoo"])
    boss = Browser(app.test_client()).login(lead)
    boss.get(f"/team/people/{nurse.id}")
    answer = boss.post(
        f"/team/people/{nurse.id}",
        {"capacity": "3", "queues": ["chat-regional"]},
        htmx=False,
    )
    assert answer.status_code == 302
    app_session.expire_all()
    nurse = app_session.get(type(nurse), nurse.id)
    assert nurse.capacity == 3
    # Removed from the lead's omaolo queue, added to chat; the Sipoo queue is not the lead's.
    assert nurse.queue_codes == {"chat-regional", "social-sipoo"}
    bad = boss.post(f"/team/people/{nurse.id}", {"capacity": "-1"}, htmx=False)
    assert bad.status_code == 303
    app_session.expire_all()
    assert app_session.get(type(nurse), nurse.id).capacity == 3


def test_a_lead_gives_waiting_items_of_a_queue_to_someone(app, app_session):
    lead = make_user(app_session, role="team_lead", queues=["omaolo-porvoo"])
    anna = make_user(app_session, queues=["omaolo-porvoo"], name="Anna")
    anna.status = "available"
    waiting = [make_item(app_session, queue="omaolo-porvoo", channel="omaolo") for _ in range(2)]
    boss = Browser(app.test_client()).login(lead)
    page = text(boss.get("/team/queues/omaolo-porvoo"))
    assert all(i.title in page for i in waiting) and "Anna" in page
    answer = boss.post(
        "/team/reassign", {"items": [str(i.id) for i in waiting], "to": str(anna.id)}, htmx=False
    )
    assert answer.status_code == 302
    app_session.expire_all()
    assert {app_session.get(WorkItem, i.id).assignee_id for i in waiting} == {anna.id}
    assert boss.get("/team/queues/social-sipoo").status_code == 404, "not the lead's queue"


def test_the_team_pages_offer_only_the_people_the_lead_manages(app, app_session):
    lead = make_user(
        app_session,
        role="team_lead",
        queues=["social-porvoo", "social-sipoo"],
        municipalities=["porvoo", "sipoo"],
        name="Lea Lead",
    )
    worker = make_user(
        app_session, queues=["social-porvoo"], municipalities=["porvoo"], name="Wilma Worker"
    )
    # In the lead's queue, but none of these works the lead's items in the real desk.
    outsiders = [
        make_user(app_session, role=role, queues=["social-porvoo"], name=name)
        for role, name in [
            ("admin", "Aino Admin"),
            ("trainee", "Tero Trainee"),
            ("trainer", "Kalle Trainer"),
            ("auditor", "Tuula Auditor"),
        ]
    ]
    outsiders.append(
        make_user(
            app_session, queues=["social-porvoo"], municipalities=["askola"], name="Asko Askola"
        )
    )
    outsiders.append(
        make_user(
            app_session, queues=["health-porvoo"], municipalities=["porvoo"], name="Hilla Health"
        )
    )
    item = make_item(app_session, queue="social-porvoo", municipality="porvoo")
    item.assignee, item.status = worker, "in_progress"
    app_session.flush()
    boss = Browser(app.test_client()).login(lead)

    board = text(boss.get("/team"))
    queue = text(boss.get("/team/queues/social-porvoo"))
    person = text(boss.get(f"/team/people/{worker.id}"))
    assert ">Wilma Worker</a>" in board and ">Lea Lead</a>" in board
    assert f'<option value="{worker.id}">Wilma Worker' in queue
    assert f'<option value="{lead.id}">Lea Lead' in person
    for page in (board, queue, person):
        for outsider in outsiders:
            assert outsider.display_name not in page, outsider.display_name
    row = re.search(r'href="/team/queues/social-porvoo">.*?</tr>', board, re.S).group(0)
    available, members = re.findall(r'<td class="num">(\d+) / (\d+)', row)[0]
    assert members == "2", "the lead and Wilma, nobody else"


def test_giving_items_to_someone_away_or_over_capacity_asks_the_lead_first(app, app_session):
    lead = make_user(app_session, role="team_lead", queues=["omaolo-porvoo"])
    sara = make_user(app_session, queues=["omaolo-porvoo"], name="Sara Sjöberg")
    sara.status, sara.capacity = "break", 6
    items = [
        make_item(app_session, queue="omaolo-porvoo", channel="omaolo", municipality="porvoo")
        for _ in range(8)
    ]
    boss = Browser(app.test_client()).login(lead)
    queue_page = text(boss.get("/team/queues/omaolo-porvoo"))
    chosen = {"items": [str(i.id) for i in items], "to": str(sara.id), "back": "/team"}
    for htmx in (False, True):
        answer = boss.post("/team/reassign", chosen, htmx=htmx)
        assert answer.status_code == 200, "a question, not a move"
        page = text(answer)
        assert "Sara Sjöberg on tauolla" in page, "on a break, in Finnish"
        assert "työn alla 0, kapasiteetti 6" in page and "ylittyisi 2:lla" in page, "8 of 6"
        assert 'name="confirm" value="1"' in page
        assert all(f'name="items" value="{i.id}"' in page for i in items)
        assert all(f'href="/items/{i.id}"' in page for i in items)
        assert 'href="/team"' in page, "cancelling goes back"
        app_session.expire_all()
        assert all(app_session.get(WorkItem, i.id).assignee_id is None for i in items)
    assert answer.headers["HX-Push-Url"] == "false", "no address that cannot be reloaded"
    answer = boss.post("/team/reassign", {**chosen, "confirm": "1"}, htmx=False)
    assert answer.status_code == 302 and answer.headers["Location"] == "/team"
    app_session.expire_all()
    assert {app_session.get(WorkItem, i.id).assignee_id for i in items} == {sara.id}
    assert "Sara Sjöberg" in queue_page


def test_room_and_presence_move_without_a_question(app, app_session):
    lead = make_user(app_session, role="team_lead", queues=["chat-regional"])
    anna = make_user(app_session, queues=["chat-regional"], name="Anna", language="sv")
    anna.status, anna.capacity = "available", 4
    held = make_item(app_session, queue="chat-regional", channel="chat")
    held.assignee, held.status = anna, "in_progress"
    chats = [make_item(app_session, queue="chat-regional", channel="chat") for _ in range(2)]
    app_session.flush()
    boss = Browser(app.test_client()).login(lead)
    # Held 2 (a chat counts 2) + one more chat = 4: room.
    answer = boss.post("/team/reassign", {"items": [str(chats[0].id)], "to": str(anna.id)})
    assert answer.status_code == 302
    # One more would be 6 of 4.
    answer = boss.post("/team/reassign", {"items": [str(chats[1].id)], "to": str(anna.id)})
    assert answer.status_code == 200
    page = text(answer)
    assert "Anna – työn alla 4, kapasiteetti 4" in page and "ylittyisi 2:lla" in page
    said = re.search(r'id="reassign-cautions">(.*?)</div>', page, re.S).group(1)
    assert "ylittyisi 2:lla" in said
    assert "varattu" not in said and "poissa" not in said, "available: only the capacity"
    assert boss.post("/team/reassign", {"items": [], "to": str(anna.id)}).status_code == 302


def test_the_queue_list_shows_where_from_how_long_and_links_each_item(app, app_session):
    from datetime import timedelta

    from desk.models import utcnow

    lead = make_user(app_session, role="team_lead", queues=["omaolo-porvoo"])
    item = make_item(
        app_session,
        queue="omaolo-porvoo",
        channel="omaolo",
        municipality="porvoo",
        submitted_at=utcnow() - timedelta(hours=3, minutes=5),
        title="Kuumetta kolme päivää",
    )
    boss = Browser(app.test_client()).login(lead)
    page = text(boss.get("/team/queues/omaolo-porvoo"))
    row = re.search(rf'<tr>\s*<td><input[^>]*value="{item.id}".*?</tr>', page, re.S).group(0)
    assert f'href="/items/{item.id}"' in row and "Kuumetta kolme päivää" in row
    assert "Porvoo" in row and "3 h 5 min" in row
    assert f'aria-labelledby="pick-title-{item.id}"' in row, "the checkbox is named by the item"


def test_a_long_queue_says_how_many_more_it_holds(app, app_session, monkeypatch):
    """The lead's queue list stops at a page, and says so, instead of hiding the rest."""
    from desk.views import team

    monkeypatch.setattr(team, "QUEUE_LIST", 2)
    lead = make_user(
        app_session,
        role="team_lead",
        queues=["omaolo-porvoo"],
        municipalities=["porvoo"],
        language="en",
    )
    for n in range(3):
        make_item(app_session, queue="omaolo-porvoo", municipality="porvoo", title=f"Jonossa {n}")
    # An item of a municipality the lead does not work for is neither listed nor counted.
    make_item(app_session, queue="omaolo-porvoo", municipality="sipoo", title="Ei näy")
    boss = Browser(app.test_client()).login(lead)
    page = text(boss.get("/team/queues/omaolo-porvoo"))
    assert page.count('name="items"') == 2
    assert "Showing the first 2 of 3, in order of urgency." in page
    assert 'href="/situation/items?queue=omaolo-porvoo"' in page
