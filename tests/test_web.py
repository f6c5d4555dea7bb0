"""Stories through the real app on PostgreSQL: sign in, My work, the item page and its actions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from desk.models import ItemEvent
from desk.work import lifecycle
from tests.factories import make_item, make_user
from tests.web import Browser, text


def version(response) -> str:
    """The item version the page's action forms carry."""
    return re.search(r'name="version" value="(\d+)"', text(response)).group(1)


def test_sign_in_with_a_wrong_password_is_refused(browser, app_session):
    user = make_user(app_session)
    browser.get("/login")
    response = browser.client.post(
        "/login", data={"username": user.username, "password": "wrong", "csrf_token": browser.token}
    )
    assert response.status_code == 401
    assert "Väärä käyttäjätunnus tai salasana." in text(response)
    assert browser.client.get("/work").status_code == 302


def test_my_work_lists_held_items_then_takeable_ones_in_order(browser, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    other = make_user(app_session, queues=["omaolo-porvoo"])
    late = make_item(
        app_session, queue="omaolo-porvoo", title="Selkäkipu", due_in=timedelta(hours=3)
    )
    urgent = make_item(
        app_session,
        queue="omaolo-porvoo",
        title="Rintakipu",
        emergency=True,
        due_in=timedelta(minutes=10),
    )
    overdue = make_item(
        app_session, queue="omaolo-porvoo", title="Virtsatieinfektio", due_in=timedelta(minutes=-30)
    )
    held = make_item(app_session, queue="omaolo-porvoo", title="Oma työ")
    taken_by_other = make_item(app_session, queue="omaolo-porvoo", title="Kollegan työ")
    elsewhere = make_item(app_session, queue="social-sipoo", title="Toimeentulotuki")
    browser.login(nurse)
    assert browser.post(f"/items/{held.id}/take").status_code == 200
    lifecycle.take(app_session, taken_by_other, other)
    page = text(browser.get("/work"))
    # Emergencies waiting come above everything, the items I hold next, then the rest.
    emergency_section, rest = page.split('id="held-heading"')
    held_section, available_section = rest.split('id="available-heading"')
    assert 'id="emergencies-heading"' in emergency_section and urgent.title in emergency_section
    assert "Oma työ" in held_section and urgent.title not in rest
    order = [available_section.index(t.title) for t in (overdue, late)]
    assert order == sorted(order)
    assert "Kollegan työ" not in page and elsewhere.title not in page
    assert "Myöhässä 30 min" in available_section or "Myöhässä 29 min" in available_section


def test_take_transfer_note_wait_and_resolve_an_item(browser, app_session):
    nurse = make_user(app_session, name="Hanna Hoitaja")
    item = make_item(app_session, title="Ajanvaraus hammaslääkärille")
    browser.login(nurse)
    page = text(browser.get(f"/items/{item.id}"))
    assert "Ajanvaraus hammaslääkärille" in page and 'data-action="take"' in page

    response = browser.post(f"/items/{item.id}/take")
    assert response.status_code == 200
    assert "Otit asian itsellesi." in text(response)

    response = browser.post(f"/items/{item.id}/note", {"text": "Soitan iltapäivällä."})
    assert "Soitan iltapäivällä." in text(response)

    response = browser.post(f"/items/{item.id}/wait", {"version": version(response)})
    assert response.status_code == 200
    assert "Odottaa asukasta" in text(response)

    response = browser.post(f"/items/{item.id}/resume", {"version": version(response)})
    response = browser.post(
        f"/items/{item.id}/resolve",
        {
            "outcome": "appointment-booked",
            "text": "Aika varattu 2.12.",
            "version": version(response),
        },
    )
    assert response.status_code == 200
    body = text(response)
    assert "Ratkaistu" in body and "Aika varattu" in body
    kinds = app_session.scalars(
        select(ItemEvent.kind).where(ItemEvent.item_id == item.id).order_by(ItemEvent.id)
    ).all()
    assert kinds == ["taken", "noted", "waiting", "resumed", "resolved"]


def test_transfer_from_regional_chat_to_an_identified_chat_queue(browser, app_session):
    nurse = make_user(app_session, queues=["chat-regional", "chat-id-porvoo"])
    item = make_item(app_session, queue="chat-regional")
    browser.login(nurse)
    browser.post(f"/items/{item.id}/take")
    response = browser.post(
        f"/items/{item.id}/transfer",
        {"queue": "chat-id-porvoo", "reason": "Tunnistautui, asuu Porvoossa"},
    )
    assert response.status_code == 200
    body = text(response)
    assert "Siirretty jonosta Chat, koko alue (anonyymi) jonoon Tunnistettu chat: Porvoo" in body
    assert "Tunnistautui, asuu Porvoossa" in body


def test_a_transfer_out_of_my_queues_says_where_it_went_and_shows_nothing_more(
    app, browser, app_session
):
    """Issue 15: not "Not found (404)" but where the item went; nothing of the item itself,
    to the person who sent it only, by htmx, by a plain form and on a later visit."""
    nurse = make_user(app_session, queues=["chat-regional"])
    colleague = make_user(app_session, queues=["chat-regional"])
    item = make_item(app_session, queue="chat-regional", title="Siirrettävä asia")
    browser.login(nurse)
    browser.post(f"/items/{item.id}/take")
    reason = "Tunnistautui, asuu Porvoossa"
    response = browser.post(
        f"/items/{item.id}/transfer", {"queue": "chat-id-porvoo", "reason": reason}
    )
    assert response.status_code == 200
    where = f"Asia #{item.id} on nyt jonossa Tunnistettu chat: Porvoo."
    body = text(response)
    assert where in body and "Sinulla ei ole enää siihen käyttöoikeutta." in body
    assert "Siirrettävä asia" not in body and reason not in body
    assert 'id="presence"' in body and "hx-get" not in body, "the presence poll stops"
    later = browser.get(f"/items/{item.id}")
    assert later.status_code == 200 and where in text(later)
    assert "Siirrettävä asia" not in text(later)
    # Someone who never had it, and the nurse for anything else of it: refused as before.
    assert browser.get(f"/items/{item.id}/summary").status_code == 404
    other = Browser(app.test_client()).login(colleague)
    assert other.get(f"/items/{item.id}").status_code == 404

    # A plain form (no JavaScript): to My work, with the same words.
    back = make_item(app_session, queue="chat-regional", title="Toinen asia")
    browser.post(f"/items/{back.id}/take")
    answer = browser.post(
        f"/items/{back.id}/transfer", {"queue": "chat-id-porvoo", "reason": reason}, htmx=False
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/work")
    assert f"Asia #{back.id} on nyt jonossa Tunnistettu chat: Porvoo." in text(browser.get("/work"))


def test_refused_action_is_shown_in_place_and_changes_nothing(browser, app_session):
    nurse = make_user(app_session, name="Hanna Hoitaja")
    colleague = make_user(app_session, name="Sara Sjöberg")
    item = make_item(app_session)
    lifecycle.take(app_session, item, colleague)
    browser.login(nurse)
    response = browser.post(f"/items/{item.id}/take")
    assert response.status_code == 409
    assert "Sara Sjöberg on jo ottanut tämän asian." in text(response)
    response = browser.post(f"/items/{item.id}/transfer", {"queue": "chat-id-porvoo", "reason": ""})
    assert response.status_code == 409
    app_session.refresh(item)
    assert item.assignee_id == colleague.id and item.queue_code == "chat-regional"


def test_take_from_my_work_without_javascript_opens_the_item(browser, app_session):
    nurse = make_user(app_session)
    item = make_item(app_session)
    browser.login(nurse)
    response = browser.post(f"/items/{item.id}/take", {"back": "work"}, htmx=False)
    assert response.status_code == 302 and response.location.endswith(f"/items/{item.id}")


def test_take_next_opens_the_most_urgent_item(browser, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    make_item(app_session, queue="omaolo-porvoo", due_in=timedelta(hours=2))
    urgent = make_item(
        app_session, queue="omaolo-porvoo", emergency=True, due_in=timedelta(minutes=5)
    )
    browser.login(nurse)
    response = browser.post("/work/take-next", htmx=False)
    assert response.location.endswith(f"/items/{urgent.id}")
    app_session.refresh(urgent)
    assert urgent.assignee_id == nurse.id


def test_resident_text_is_shown_as_typed_never_as_markup(browser, app_session):
    nurse = make_user(app_session)
    now = "2026-11-25T09:00:00+02:00"
    item = make_item(
        app_session,
        title="<b>kuume</b>",
        content={
            "conversation": [
                {"sender": "resident", "sent_at": now, "text": "<script>alert(1)</script> > 38 😷"}
            ]
        },
    )
    browser.login(nurse)
    body = text(browser.get(f"/items/{item.id}"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &gt; 38 😷" in body
    assert "<script>alert" not in body and "<b>kuume</b>" not in body


def test_personal_id_is_masked_until_revealed_and_the_reveal_is_recorded(browser, app_session):
    nurse = make_user(app_session)
    item = make_item(app_session, personal_id="131052-308T")
    browser.login(nurse)
    body = text(browser.get(f"/items/{item.id}"))
    assert "131052-****" in body and "131052-308T" not in body
    body = text(browser.post(f"/items/{item.id}/reveal"))
    assert "131052-308T" in body
    assert "Henkilötunnus näytetty" in body
    assert "131052-308T" not in text(browser.get(f"/items/{item.id}"))


def test_items_outside_my_queues_are_not_found(browser, app_session):
    social = make_user(app_session, queues=["social-porvoo"])
    item = make_item(app_session, queue="chat-regional")
    browser.login(social)
    response = browser.get(f"/items/{item.id}")
    assert response.status_code == 404
    assert "Takaisin etusivulle" in text(response)  # the error page is in the app's layout
    assert browser.post(f"/items/{item.id}/take").status_code == 404


def test_a_trainer_cannot_act_on_real_items(browser, app_session):
    trainer = make_user(app_session, role="trainer", queues=[])
    item = make_item(app_session)
    browser.login(trainer)
    assert browser.post(f"/items/{item.id}/take").status_code == 403
    app_session.refresh(item)
    assert item.assignee_id is None


def test_a_post_without_the_csrf_token_changes_nothing(browser, app_session):
    nurse = make_user(app_session)
    item = make_item(app_session)
    browser.login(nurse)
    response = browser.client.post(f"/items/{item.id}/take")
    assert response.status_code == 400
    app_session.refresh(item)
    assert item.assignee_id is None


def test_language_choice_sticks_to_the_account(browser, app_session):
    nurse = make_user(app_session)
    browser.login(nurse)
    response = browser.post("/language", {"language": "sv", "next": "/work"}, htmx=False)
    assert response.status_code == 302
    body = text(browser.get("/work"))
    assert '<html lang="sv">' in body and "Mitt arbete" in body
    app_session.refresh(nurse)
    assert nurse.language == "sv"
    browser.post("/language", {"language": "en", "next": "/work"}, htmx=False)
    assert "My work" in text(browser.get("/work"))


def test_pages_carry_a_strict_content_security_policy(browser, app_session):
    response = browser.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in text(response)
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("language", "pattern"),
    [
        # Finland-Swedish writes dates and times as Finnish does, not as Sweden (2026-12-04 23:11)
        ("fi", r"^\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}\.\d{2}$"),
        ("sv", r"^\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}\.\d{2}$"),
        ("en", r"^\d{1,2} [A-Z][a-z]{2,3} \d{4}, \d{2}:\d{2}$"),
    ],
)
def test_times_are_written_as_in_finland_in_each_language(browser, app_session, language, pattern):
    nurse = make_user(app_session, language=language)
    item = make_item(app_session)
    browser.login(nurse)
    body = text(browser.get(f"/items/{item.id}"))
    received = body.split('<time datetime="')[1].split("</time>")[0].split(">")[1]
    assert re.search(pattern, received), received


def test_an_unexpected_error_shows_the_500_page_in_the_layout(tmp_path, monkeypatch):
    from desk import create_app
    from desk.policy import ACCESS, PUBLIC

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
            "SECRET_KEY": "t",
            "REDIS_URL": None,
            "DESK_JOBS_INLINE": True,
        }
    )

    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/broken", view_func=broken)
    monkeypatch.setitem(ACCESS, "broken", PUBLIC)
    response = app.test_client().get("/broken", headers={"Accept-Language": "sv"})
    assert response.status_code == 500
    body = text(response)
    assert '<html lang="sv">' in body and "Något gick fel" in body
    assert "boom" not in body


def test_situation_view_counts_my_queues_and_lists_the_items_behind_a_number(browser, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    late = make_item(
        app_session, queue="omaolo-porvoo", title="Myöhässä oleva", due_in=timedelta(minutes=-20)
    )
    make_item(app_session, queue="omaolo-porvoo", title="Ajallaan", due_in=timedelta(hours=4))
    make_item(
        app_session, queue="social-sipoo", title="Toisen jonon asia", due_in=timedelta(minutes=-20)
    )
    browser.login(nurse)
    page = text(browser.get("/situation"))
    assert "Omaolo-arviot: Porvoo" in page and "Sosiaalipalvelut: Sipoo" not in page
    link = re.search(r'href="(/situation/items\?[^"]*state=overdue[^"]*)"', page).group(1)
    listed = text(browser.get(link.replace("&amp;", "&")))
    assert late.title in listed and "Ajallaan" not in listed
    assert "Toisen jonon asia" not in listed
    assert browser.get("/situation/items?queue=social-sipoo").status_code == 404


def test_situation_view_totals_my_queues_by_service_area(browser, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo", "health-porvoo", "social-porvoo"])
    for queue in ("omaolo-porvoo", "omaolo-porvoo", "health-porvoo", "social-porvoo"):
        make_item(app_session, queue=queue)
    make_item(app_session, queue="social-sipoo")  # not the nurse's
    browser.login(nurse)
    page = text(browser.get("/situation"))
    table = re.search(r"<caption>Palvelualueittain</caption>.*?</table>", page, re.S).group(0)
    first_number = r'<th scope="row">([^<]+)</th>\s*<td class="num"><a [^>]*>(\d+)<'
    rows = dict(re.findall(first_number, table))
    assert rows == {"Terveyspalvelut": "3", "Sosiaalipalvelut": "1"}
    listed = text(browser.get("/situation/items?state=waiting&service_area=social"))
    assert listed.count("data-item-row") == 1


def test_situation_list_pages_with_a_next_link(browser, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    for n in range(55):
        make_item(
            app_session, queue="omaolo-porvoo", title=f"Asia {n:02d}", due_in=timedelta(hours=1)
        )
    browser.login(nurse)
    first = text(browser.get("/situation/items?queue=omaolo-porvoo&state=waiting"))
    assert first.count("data-item-row") == 50
    next_link = re.search(r'href="([^"]*after=\d+[^"]*)" rel="next"', first).group(1)
    second = text(browser.get(next_link.replace("&amp;", "&")))
    assert second.count("data-item-row") == 5 and 'rel="next"' not in second


def test_a_saved_view_returns_from_the_navigation_and_is_mine_alone(browser, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    make_item(app_session, queue="omaolo-porvoo", title="Myöhässä", due_in=timedelta(minutes=-5))
    browser.login(nurse)
    response = browser.post(
        "/situation/views",
        {
            "name": "Porvoon myöhässä olevat",
            "queue": "omaolo-porvoo",
            "state": "overdue",
            "channel": "omaolo",
            "bogus": "x",
        },
        htmx=False,
    )
    assert response.status_code == 302
    page = text(browser.get("/work"))
    link = re.search(r'href="([^"]+)" class="saved-view">Porvoon myöhässä olevat<', page)
    url = link.group(1).replace("&amp;", "&")
    assert "state=overdue" in url and "bogus" not in url
    assert "Myöhässä" in text(browser.get(url))
    from desk.models import SavedView

    view = app_session.scalars(select(SavedView)).one()
    other = make_user(app_session)
    app_session.commit()
    stranger = Browser(browser.client.application.test_client()).login(other)
    assert stranger.post(f"/situation/views/{view.id}/delete", htmx=False).status_code == 404
    assert "Porvoon myöhässä olevat" not in text(stranger.get("/work"))
    assert browser.post(f"/situation/views/{view.id}/delete", htmx=False).status_code == 302


def test_a_view_saved_or_removed_elsewhere_shows_at_the_next_page(browser, app_session):
    """Each process keeps the saved views it read while their version stands. A change made
    through another process (here: in the database, as that process's request leaves it)
    moves the version, and the next page shows it."""
    from sqlalchemy import update

    from desk.models import SavedView, User

    def bump() -> None:
        app_session.execute(
            update(User)
            .where(User.id == nurse.id)
            .values(saved_views_version=User.saved_views_version + 1)
        )

    def shown() -> list[str]:
        return re.findall(r'class="saved-view">([^<]+)<', text(browser.get("/work")))

    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    app_session.commit()
    browser.login(nurse)
    assert shown() == []  # read, and kept
    view = SavedView(user_id=nurse.id, name="Toisen prosessin näkymä", params={"state": "overdue"})
    app_session.add(view)
    bump()
    app_session.commit()
    assert shown() == ["Toisen prosessin näkymä"]
    app_session.delete(view)
    bump()
    app_session.commit()
    assert shown() == []
    # And saved and removed here, after the process kept the views it read.
    browser.post("/situation/views", {"name": "Omat", "state": "waiting"}, htmx=False)
    assert shown() == ["Omat"]
    saved = app_session.scalars(select(SavedView).where(SavedView.user_id == nurse.id)).one()
    browser.post(f"/situation/views/{saved.id}/delete", htmx=False)
    assert shown() == []


def test_the_live_refresh_of_the_situation_view_gets_only_its_numbers(browser, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    make_item(app_session, queue="omaolo-porvoo")
    browser.login(nurse)
    fragment = text(browser.get("/situation", headers={"HX-Request": "true"}))
    assert fragment.lstrip().startswith('<div id="situation-live"')
    assert "<html" not in fragment and "Omaolo-arviot: Porvoo" in fragment


def test_each_role_lands_on_its_own_start_page_and_an_error_page_leads_there(app, app_session):
    auditor = Browser(app.test_client()).login(make_user(app_session, role="auditor", queues=[]))
    assert auditor.get("/").headers["Location"].endswith("/audit")
    refused = auditor.get("/work")
    assert refused.status_code == 403
    # The way back from an error leads to the start page, never to the page that refused.
    back = re.search(r'<a href="([^"]+)">[^<]*</a></p>', text(refused)).group(1)
    assert back == "/" and auditor.get(back).headers["Location"].endswith("/audit")
    nurse = Browser(app.test_client()).login(make_user(app_session))
    assert nurse.get("/").headers["Location"].endswith("/work")
