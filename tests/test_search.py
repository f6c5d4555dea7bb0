"""Search: an item number or a personal identity code finds open and resolved items; words
find open items; only what the user may see; what names a resident is logged."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select

from desk.models import AccessLog
from desk.pid import synthetic
from desk.work import lifecycle, search
from tests.factories import make_item, make_user
from tests.web import Browser, text

PID = synthetic(random.Random(1), date(1984, 5, 17))


def test_what_the_user_typed_is_understood():
    assert search.parse("  ") is None
    assert search.parse("#42") == search.Query("number", "42")
    assert search.parse("42") == search.Query("number", "42")
    assert search.parse(PID.lower()) == search.Query("pid", PID)
    assert search.parse("ab").kind == "short"
    assert search.parse("  rinta   kipu ") == search.Query("words", "rinta kipu")
    almost = PID[:-1] + ("A" if PID[-1] != "A" else "B")  # the checksum no longer matches
    assert search.parse(almost).kind == "words"


def test_a_code_finds_the_residents_items_open_and_resolved_that_the_user_may_see(session):
    nurse = make_user(session, queues=["omaolo-porvoo", "chat-regional"])
    old = make_item(session, queue="omaolo-porvoo", municipality="porvoo", personal_id=PID)
    lifecycle.take(session, old, nurse)
    lifecycle.resolve(session, old, nurse, "self-care-guidance")
    new = make_item(session, queue="chat-regional", personal_id=PID)
    elsewhere = make_item(session, queue="omaolo-sipoo", municipality="sipoo", personal_id=PID)
    make_item(session, queue="omaolo-porvoo", municipality="porvoo", personal_id=None)
    found = search.find(session, nurse, search.parse(PID))
    assert {i.id for i in found} == {old.id, new.id}  # not Sipoo's, not another resident's
    assert elsewhere.id not in {i.id for i in found}
    assert search.logged(search.parse(PID), found) == found
    assert [i.id for i in search.find(session, nurse, search.parse(f"#{old.id}"))] == [old.id]
    assert search.find(session, nurse, search.parse(str(elsewhere.id))) == []


def test_words_find_open_items_by_title_or_name_and_are_only_words(session):
    nurse = make_user(session, queues=["chat-regional"])
    chest = make_item(session, title="Rintakipu ja hengenahdistus")
    named = make_item(session, title="Ajanvaraus", personal_id=PID)
    named.resident_name = "Aino Rintala"
    done = make_item(session, title="Rintakipu eilen")
    lifecycle.take(session, done, nurse)
    lifecycle.resolve(session, done, nurse, "self-care-guidance")
    make_item(session, title="100% varma_asia")
    session.flush()
    query = search.parse("rinta")
    found = search.find(session, nurse, query)
    assert {i.id for i in found} == {chest.id, named.id}  # the resolved one is not found
    assert search.logged(query, found) == [named]  # the name tied the resident to the item
    assert search.find(session, nurse, search.parse("0% v")) != []
    assert search.find(session, nurse, search.parse("1%v")) == []  # "%" is no wildcard
    assert search.find(session, nurse, search.parse("_va")) == []  # "_" is no wildcard
    assert [i.title for i in search.find(session, nurse, search.parse("a_a"))] == [
        "100% varma_asia"
    ]


def test_searching_by_code_over_the_web_is_in_the_residents_access_log(app, app_session):
    nurse = make_user(app_session, queues=["chat-regional"])
    item = make_item(app_session, title="Laboratoriotulokset", personal_id=PID)
    app_session.commit()
    browser = Browser(app.test_client()).login(nurse)
    page = text(browser.get(f"/search?q={PID}"))
    assert f'id="item-link-{item.id}"' in page and "1 tulos" in page
    rows = app_session.scalars(select(AccessLog).where(AccessLog.resident_id == PID)).all()
    assert [(r.user_id, r.purpose, r.item_id) for r in rows] == [(nurse.id, "search", item.id)]
    assert "Kirjoita vähintään 3 merkkiä" in text(browser.get("/search?q=ab"))
    assert "Mitään ei löytynyt" in text(browser.get("/search?q=zzzz"))


def test_the_residents_other_matters_are_listed_on_request_and_logged(app, app_session):
    nurse = make_user(app_session, queues=["chat-regional", "omaolo-porvoo"])
    now_item = make_item(app_session, queue="chat-regional", title="Tänään", personal_id=PID)
    earlier = make_item(app_session, queue="omaolo-porvoo", municipality="porvoo", personal_id=PID)
    lifecycle.take(app_session, earlier, nurse)
    lifecycle.resolve(app_session, earlier, nurse, "self-care-guidance")
    make_item(app_session, queue="omaolo-sipoo", municipality="sipoo", personal_id=PID)
    anonymous = make_item(app_session, queue="chat-regional", title="Nimetön")
    app_session.commit()
    browser = Browser(app.test_client()).login(nurse)
    page = text(browser.get(f"/items/{now_item.id}"))
    assert f'hx-get="/items/{now_item.id}/others"' in page
    assert "/others" not in text(browser.get(f"/items/{anonymous.id}"))
    before = app_session.scalars(select(AccessLog).where(AccessLog.purpose == "history")).all()
    htmx = {"HX-Request": "true"}  # as the button asks
    listed = text(browser.get(f"/items/{now_item.id}/others", headers=htmx))
    assert f'href="/items/{earlier.id}"' in listed and f'href="/items/{now_item.id}"' not in listed
    assert "Ratkaistu" in listed and listed.count("<li>") == 1  # not Sipoo's
    rows = app_session.scalars(select(AccessLog).where(AccessLog.purpose == "history")).all()
    assert [(r.item_id, r.resident_id) for r in rows[len(before) :]] == [(earlier.id, PID)]
    assert "Asukkaan muut asiat" in text(browser.get(f"/items/{now_item.id}/others"))
    outsider = make_user(app_session, queues=["chat-regional"], municipalities=["sipoo"])
    app_session.commit()
    other = Browser(app.test_client()).login(outsider)
    assert other.get(f"/items/{earlier.id}/others").status_code == 404
