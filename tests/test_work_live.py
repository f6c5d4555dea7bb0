"""My work and the team board as open pages keep them (issue 15): emergencies waiting come
above everything, the waiting list grows a page at a time and says what lies beyond it, the
lists and the board refresh themselves as fragments, and every worker's page asks whether an
emergency of their concern has arrived since it last looked."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy.orm import Session

from desk.extensions import db
from desk.models import Municipality, Queue, utcnow
from desk.training.spaces import TRAINING
from desk.work import worklist
from tests.factories import make_item, make_user
from tests.web import Browser, text

REFRESH = {"HX-Request": "true", "X-Desk-Background": "1"}


def _rows(page: str) -> list[str]:
    return re.findall(r'id="item-link-\d+"[^>]*>([^<]+)<', page)


# --- the domain queries, on PostgreSQL and SQLite -------------------------------------------


def test_shown_rows_are_whole_pages_within_bounds():
    assert worklist.shown_rows(None) == 50
    assert worklist.shown_rows(1) == 50
    assert worklist.shown_rows(51) == 100
    assert worklist.shown_rows(100) == 100
    assert worklist.shown_rows(10**6) == worklist.MOST


def test_waiting_puts_emergencies_apart_and_summarises_what_lies_beyond(session):
    nurse = make_user(session, queues=["omaolo-porvoo", "chat-regional"])
    now = utcnow()
    emergency = make_item(session, queue="chat-regional", emergency=True, title="Hätä")
    for n in range(7):
        make_item(
            session, queue="omaolo-porvoo", title=f"Myöhässä {n}", due_in=-timedelta(hours=n + 1)
        )
    for n in range(60):
        make_item(
            session, queue="omaolo-porvoo", title=f"Asia {n:02d}", due_in=timedelta(hours=n + 1)
        )
    make_item(session, queue="social-sipoo", title="Ei minun")

    first = worklist.waiting(session, nurse, now, within={"omaolo-porvoo"})
    # The emergency is shown whatever the queue filter, and not again among the others.
    assert [i.id for i in first.emergencies] == [emergency.id] and first.emergency_count == 1
    assert len(first.items) == 50 and first.count == 67 and first.total == 68
    assert all(not i.emergency for i in first.items)
    assert first.items[0].title == "Myöhässä 6"  # the most overdue first
    # What lies beyond: 17 more, none overdue (all 7 overdue are shown), and the next in order.
    assert first.beyond.count == 17 and first.beyond.overdue == 0
    assert first.beyond.first.title == "Asia 43" and first.first_new_id is None

    grown = worklist.waiting(session, nurse, now, within={"omaolo-porvoo"}, shown=100)
    assert len(grown.items) == 67 and grown.beyond.count == 0 and grown.beyond.first is None
    assert grown.first_new_id == first.beyond.first.id  # focus lands on the first new row

    few = worklist.waiting(session, nurse, now, shown=5)
    assert few.beyond.count == 62 and few.beyond.overdue == 2  # 7 overdue, 5 of them shown
    # Overdue since days (the kept counts) and since earlier today (the deadlines passed):
    # every one is counted, however many.
    for days in (2, 3):
        make_item(session, queue="omaolo-porvoo", title="Kauan", due_in=-timedelta(days=days))
    assert worklist.waiting(session, nurse, now, shown=5).beyond.overdue == 4


def test_the_emergency_check_counts_only_new_emergencies_of_my_concern(session):
    nurse = make_user(session, queues=["omaolo-porvoo"], municipalities=["porvoo"])
    colleague = make_user(session, queues=["omaolo-porvoo"], municipalities=["porvoo"])
    old = make_item(session, queue="omaolo-porvoo", emergency=True, municipality="porvoo")
    seen = worklist.newest_emergency(session, nurse)
    assert seen == old.id
    assert worklist.emergencies_since(session, nurse, seen) == (seen, 0)

    make_item(session, queue="omaolo-porvoo", title="Ei kiire", municipality="porvoo")
    make_item(session, queue="omaolo-sipoo", emergency=True, municipality="sipoo")  # not my queue
    make_item(session, queue="omaolo-porvoo", emergency=True, municipality="sipoo")  # not my area
    assert worklist.emergencies_since(session, nurse, seen) == (seen, 0)

    new = make_item(session, queue="omaolo-porvoo", emergency=True, municipality="porvoo")
    assert worklist.emergencies_since(session, nurse, seen) == (new.id, 1)
    assert worklist.emergencies_since(session, nurse, new.id) == (new.id, 0)

    # One a colleague already holds is no longer mine to see arrive; one given to me is.
    taken = make_item(session, queue="omaolo-porvoo", emergency=True, municipality="porvoo")
    taken.assignee_id, taken.status = colleague.id, "in_progress"
    given = make_item(session, queue="omaolo-porvoo", emergency=True, municipality="porvoo")
    given.assignee_id, given.status = nurse.id, "in_progress"
    session.flush()
    assert worklist.emergencies_since(session, nurse, new.id) == (given.id, 1)

    # The statements are kept per user and their queues and municipalities: given Sipoo's
    # queue and municipality, the nurse sees its emergencies too: the two of before (Sipoo's
    # queue, and Porvoo's queue for a resident of Sipoo), and the newest.
    nurse.queues.append(session.get(Queue, "omaolo-sipoo"))
    nurse.municipalities.append(session.get(Municipality, "sipoo"))
    session.flush()
    sipoo = make_item(session, queue="omaolo-sipoo", emergency=True, municipality="sipoo")
    assert worklist.emergencies_since(session, nurse, seen) == (sipoo.id, 5)
    assert worklist.newest_emergency(session, nurse) == sipoo.id


# --- the pages --------------------------------------------------------------------------------


def test_my_work_pages_through_the_waiting_items_and_says_what_is_beyond(browser, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    for n in range(3):
        make_item(
            app_session,
            queue="omaolo-porvoo",
            title=f"Myöhässä {n}",
            due_in=-timedelta(hours=n + 1),
        )
    for n in range(55):
        make_item(
            app_session, queue="omaolo-porvoo", title=f"Asia {n:02d}", due_in=timedelta(hours=n + 1)
        )
    make_item(app_session, queue="omaolo-porvoo", title="Rintakipu", emergency=True)
    browser.login(nurse)

    page = text(browser.get("/work"))
    emergencies, rest = page.split('id="held-heading"')
    assert "Rintakipu" in emergencies and "Rintakipu" not in rest
    assert len(_rows(rest)) == 50
    beyond = rest.split('class="beyond"')[1]
    assert "Näytetään ensimmäiset 50/58" in beyond
    # The most urgent of those not shown, by name and deadline, and a way to see them.
    assert re.search(r'>Asia 47</a>,\s*<span class="deadline', beyond)
    more = re.search(r'href="(/work\?shown=100#item-link-\d+)"', beyond).group(1)
    assert "Näytä 8 lisää" in beyond

    grown = text(browser.get(more.split("#")[0]))
    rows = _rows(grown.split('id="held-heading"')[1])
    assert len(rows) == 58 and rows[50] == "Asia 47"
    assert 'class="beyond"' not in grown
    first_new = re.search(r"<a [^>]*data-focus-after-swap>([^<]+)<", grown).group(1)
    assert first_new == "Asia 47"
    # The refresh keeps the grown list, and nonsense in the address is the first page.
    assert 'hx-get="/work?shown=100"' in grown
    assert len(_rows(text(browser.get("/work?shown=x²")))) == 51


def test_the_lists_refresh_as_a_fragment_with_their_count(app, browser, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    make_item(app_session, queue="omaolo-porvoo", title="Ensimmäinen")
    browser.login(nurse)
    page = text(browser.get("/work"))
    lists = re.search(r'<div id="work-lists"[^>]*>', page).group(0)
    assert f'hx-trigger="every {app.config["DESK_POLL_SECONDS"]}s"' in lists  # no Redis: polls
    assert 'data-count="1"' in lists and "X-Desk-Background" in lists

    make_item(app_session, queue="omaolo-porvoo", title="Toinen", emergency=True)
    fragment = text(browser.get("/work", headers=REFRESH))
    assert fragment.lstrip().startswith('<div id="work-lists"') and "<html" not in fragment
    assert 'data-count="2"' in fragment and "Toinen" in fragment
    assert 'data-count-text="Jonoissasi odottaa 2 asiaa."' in fragment


def test_every_workers_page_watches_for_emergencies_and_no_one_elses(app, app_session):
    make_item(app_session, queue="omaolo-porvoo", emergency=True, municipality="porvoo")
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    page = text(Browser(app.test_client()).login(nurse).get("/situation"))
    check = re.search(r'<div id="emergency-check"[^>]*>', page, re.S).group(0)
    newest = worklist.newest_emergency(app_session, nurse)
    assert f'data-seen="{newest}"' in check and newest > 0
    assert f'hx-trigger="every {app.config["DESK_POLL_SECONDS"]}s"' in check
    assert 'id="emergency-alert"' in page and 'role="alert"' in page

    for role, queues in (("auditor", []), ("trainer", []), ("professional", [])):
        account = make_user(app_session, role=role, queues=queues)
        browser = Browser(app.test_client()).login(account)
        start = "/audit" if role == "auditor" else "/work"
        shown = text(browser.get(start))
        assert "emergency-check" not in shown and "emergency-alert" not in shown, role
        if role != "professional":
            assert browser.get("/work/emergencies?seen=0").status_code == 403, role


def test_my_work_watches_from_the_newest_emergency_i_hold_or_may_take(app, app_session):
    # My work reads where to watch from with its lists and the items held, not with a query
    # of its own: the same figure as every other page's.
    nurse = make_user(app_session, queues=["omaolo-porvoo"], municipalities=["porvoo"])
    browser = Browser(app.test_client()).login(nurse)

    def seen(path: str = "/work") -> int:
        check = re.search(r'<div id="emergency-check"[^>]*>', text(browser.get(path)), re.S)
        return int(re.search(r'data-seen="(\d+)"', check.group(0)).group(1))

    assert seen() == 0
    waiting = make_item(app_session, queue="omaolo-porvoo", emergency=True, municipality="porvoo")
    assert seen() == waiting.id == seen("/situation")
    held = make_item(app_session, queue="omaolo-porvoo", emergency=True, municipality="porvoo")
    held.assignee_id, held.status = nurse.id, "in_progress"
    app_session.commit()
    assert seen() == held.id == worklist.newest_emergency(app_session, nurse)
    assert seen("/work?queue=omaolo-porvoo") == held.id
    make_item(app_session, queue="omaolo-porvoo", emergency=True, municipality="sipoo")
    make_item(app_session, queue="omaolo-sipoo", emergency=True, municipality="porvoo")
    assert seen() == held.id  # neither is my concern
    newest = make_item(app_session, queue="omaolo-porvoo", emergency=True, municipality="porvoo")
    assert seen() == newest.id == seen("/situation")


def test_the_emergency_check_answers_for_my_queues_and_municipalities(app, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"], municipalities=["porvoo"])
    browser = Browser(app.test_client()).login(nurse)
    answer = browser.get("/work/emergencies?seen=0")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert answer.get_json() == {"newest": 0, "arrived": 0}

    make_item(app_session, queue="omaolo-porvoo", emergency=True, municipality="sipoo")
    mine = make_item(app_session, queue="omaolo-porvoo", emergency=True, municipality="porvoo")
    assert browser.get("/work/emergencies?seen=0").get_json() == {"newest": mine.id, "arrived": 1}
    assert browser.get(f"/work/emergencies?seen={mine.id}").get_json()["arrived"] == 0
    assert browser.get("/work/emergencies?seen=nonsense").get_json()["arrived"] == 1

    signed_out = app.test_client().get("/work/emergencies?seen=0")
    assert signed_out.status_code in (302, 401) and b"newest" not in signed_out.data


def test_the_team_board_refreshes_its_live_part_only(app, app_session):
    lead = make_user(app_session, role="team_lead", queues=["omaolo-porvoo"])
    make_item(app_session, queue="omaolo-porvoo")
    browser = Browser(app.test_client()).login(lead)
    board = text(browser.get("/team"))
    live = re.search(r'<div id="team-live"[^>]*>', board).group(0)
    assert 'data-live-queues="omaolo-porvoo"' in live and 'data-count="1"' in live
    make_item(app_session, queue="omaolo-porvoo")
    fragment = text(browser.get("/team", headers=REFRESH))
    assert fragment.lstrip().startswith('<div id="team-live"') and "<html" not in fragment
    assert 'data-count="2"' in fragment and "<h1>" not in fragment


def test_a_trainees_check_watches_the_training_space_only(two_spaces):
    app = two_spaces
    with app.app_context(), Session(db.engine, expire_on_commit=False) as real:
        trainee = make_user(real, role="trainee", queues=[])
        trainee.username  # noqa: B018
        make_item(real, queue="omaolo-porvoo", emergency=True, title="Oikea hätä")
        real.commit()
    browser = Browser(app.test_client()).login(trainee)
    with app.app_context(), Session(db.engines[TRAINING]) as training:
        from desk.models import Queue, User

        mirrored = training.get(User, trainee.id)
        mirrored.queues = [training.get(Queue, "omaolo-porvoo")]
        practice = make_item(training, queue="omaolo-porvoo", emergency=True, title="Harjoitus")
        training.commit()
        practice_id = practice.id
    answer = json.loads(browser.get("/work/emergencies?seen=0").data)
    assert answer == {"newest": practice_id, "arrived": 1}
    assert "Oikea hätä" not in text(browser.get("/work"))


def test_the_situation_list_says_what_its_next_pages_hold(browser, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    for n in range(4):
        make_item(
            app_session,
            queue="omaolo-porvoo",
            title=f"Myöhässä {n}",
            due_in=-timedelta(hours=n + 1),
        )
    for n in range(52):
        make_item(
            app_session, queue="omaolo-porvoo", title=f"Asia {n:02d}", due_in=timedelta(hours=n + 1)
        )
    browser.login(nurse)
    first = text(browser.get("/situation/items?queue=omaolo-porvoo&state=waiting"))
    beyond = first.split('class="beyond"')[1]
    assert "Seuraavilla sivuilla on vielä 6 asiaa." in beyond
    assert re.search(r">Asia 46</a>,\s*<span class=\"deadline", beyond)
    assert "on myöhässä" not in beyond  # the four overdue are all on this page
    next_link = re.search(r'href="([^"]*after=\d+[^"]*)" rel="next"', first).group(1)
    second = text(browser.get(next_link.replace("&amp;", "&")))
    assert second.count("data-item-row") == 6 and 'class="beyond"' not in second
