"""A professional's first day (issue 15): nobody starts the day "away" by surprise. My work
tells someone who has never chosen a status what theirs is and what it means, the top bar shows
a status under which the desk gives nothing on every page, and the first-day tour opens by
itself until it has been closed once, remembered on the server (in each space's database)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy.orm import Session

from desk.extensions import db
from desk.models import User
from desk.training.spaces import TRAINING
from tests.factories import make_user
from tests.web import Browser, text


def _notice(page: str) -> str | None:
    found = re.search(r'<div class="status-notice" id="status-notice">(.*?)</div>', page, re.S)
    return (
        html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))))
        if found
        else None
    )


def _indicator(page: str) -> str | None:
    found = re.search(r'<a id="status-indicator"[^>]*href="([^"]+)"[^>]*>(.*?)</a>', page, re.S)
    if not found:
        return None
    return found.group(1) + " " + html.unescape(re.sub(r"<[^>]+>", "", found.group(2)))


def _tour(page: str) -> str | None:
    found = re.search(r'<dialog id="tour"[^>]*>', page)
    return found.group(0) if found else None


def test_a_new_professional_is_told_their_status_and_how_to_change_it(app, app_session):
    nurse = make_user(app_session, name="Uusi Hoitaja")
    browser = Browser(app.test_client()).login(nurse)
    app_session.refresh(nurse)
    # Signing in is not starting a shift: the status stays as it was.
    assert (nurse.status, nurse.status_since) == ("offline", None)

    work = text(browser.get("/work"))
    notice = _notice(work)
    assert notice is not None
    assert "Tilasi: Poissa." in notice
    assert "Työpöytä ei anna sinulle asioita" in notice
    assert "Oma tavoitettavuus" in notice  # where to change it
    assert "Aloita työ: Vapaana" in notice  # and one button to start
    assert 'aria-describedby="status-effect"' in work  # the select is described by it
    assert _indicator(work) == "/work#availability Tila: Poissa · vaihda"

    # The notice's button makes the nurse available: the notice and the top bar's status go.
    answer = browser.post("/me/status", {"status": "available"}, htmx=False)
    assert answer.status_code == 302
    app_session.refresh(nurse)
    assert nurse.status == "available"
    work = text(browser.get("/work"))
    assert _notice(work) is None
    assert _indicator(work) is None
    assert "Työpöytä voi antaa sinulle asioita" in work  # what "available" means, beside it


@pytest.mark.parametrize(
    ("status", "label"), [("offline", "Poissa"), ("break", "Tauolla"), ("busy", "Varattu")]
)
def test_a_status_under_which_the_desk_gives_nothing_shows_on_every_page(
    app, app_session, status, label
):
    nurse = make_user(app_session)
    browser = Browser(app.test_client()).login(nurse)
    browser.post("/me/status", {"status": status}, htmx=False)
    for url in ("/work", "/situation", "/instructions", "/templates", "/services"):
        page = text(browser.get(url))
        assert _indicator(page) == f"/work#availability Tila: {label} · vaihda", url
    # Once chosen, My work no longer explains it at length; the effect stays beside the control.
    work = text(browser.get("/work"))
    assert _notice(work) is None
    assert "Voit silti ottaa asioita itse." in work


def test_the_notice_is_in_swedish_for_a_swedish_speaking_nurse(app, app_session):
    nurse = make_user(app_session, language="sv")
    work = text(Browser(app.test_client()).login(nurse).get("/work"))
    notice = _notice(work)
    assert "Din status: Frånvarande." in notice
    assert "Skrivbordet ger dig inga ärenden" in notice
    assert "Börja arbeta: Ledig" in notice
    assert _indicator(work) == "/work#availability Status: Frånvarande · byt"


def test_what_every_page_carries_is_in_each_readers_own_language(app, app_session):
    # The shortcuts, the tour and desk.js's texts are rendered once per language and kept
    # (views/fixed.py): a Finnish page first must not give a Swedish reader Finnish.
    pages = {
        language: text(
            Browser(app.test_client()).login(make_user(app_session, language=language)).get("/work")
        )
        for language in ("fi", "sv", "en", "fi")
    }
    for language, words in {
        "fi": ("Pikanäppäimet", "Työpöydän esittely", "Toiminto epäonnistui"),
        "sv": ("Kortkommandon", "Introduktion till skrivbordet", "Åtgärden misslyckades"),
        "en": ("Keyboard shortcuts", "Tour of the desk", "The action failed"),
    }.items():
        shortcuts, tour, failed = words
        page = pages[language]
        assert f'<h2 id="shortcut-help-title">{shortcuts}</h2>' in page, language
        assert re.search(rf'<h2 id="tour-title">{tour}', page), language
        assert re.search(rf'<body[^>]*data-error-text="{failed}', page, re.S), language


def test_an_auditor_has_no_status_and_no_tour(app, app_session):
    auditor = make_user(app_session, role="auditor", queues=[])
    page = text(Browser(app.test_client()).login(auditor).get("/audit"))
    assert _indicator(page) is None
    assert _tour(page) is None
    assert 'id="tour-button"' not in page


def test_the_first_day_tour_opens_on_my_work_until_closed_once(app, app_session):
    nurse = make_user(app_session)
    browser = Browser(app.test_client()).login(nurse)
    work = text(browser.get("/work"))
    assert "data-tour-opens" in _tour(work)
    assert 'id="tour-button"' in work  # "Tour" in the top bar opens it again
    # Its steps name the real controls of My work and the top bar.
    targets = re.findall(r'data-tour-target="([^"]+)"', work)
    assert targets[0].startswith("#my-status") and 'id="my-status"' in work
    assert targets[1].startswith("#available-heading") and 'id="available-heading"' in work
    assert targets[2].startswith("[data-shortcut=take-next]")
    assert 'data-shortcut="take-next"' in work
    # On other pages the tour is there for the button, but does not open by itself.
    situation = text(browser.get("/situation"))
    assert _tour(situation) is not None and "data-tour-opens" not in _tour(situation)

    assert browser.post("/me/tour-seen").status_code == 204
    app_session.refresh(nurse)
    assert nurse.tour_seen_at is not None
    work = text(browser.get("/work"))
    assert "data-tour-opens" not in _tour(work)  # on any computer: it is the account's
    assert "data-tour-opens" not in _tour(
        text(Browser(app.test_client()).login(nurse).get("/work"))
    )


def test_closing_the_tour_needs_the_csrf_token_and_a_signed_in_user(app, app_session):
    nurse = make_user(app_session)
    browser = Browser(app.test_client()).login(nurse)
    assert browser.client.post("/me/tour-seen").status_code == 400  # no token
    browser.client.get("/login")
    signed_out = app.test_client()
    assert signed_out.post("/me/tour-seen").status_code in (302, 400, 401)
    app_session.refresh(nurse)
    assert nurse.tour_seen_at is None


def test_the_training_tour_is_remembered_in_the_training_space_only(two_spaces):
    app = two_spaces
    with app.app_context(), Session(db.engine, expire_on_commit=False) as real:
        trainee = make_user(real, role="trainee", queues=[])
        trainee.username = "harjoittelija-uusi"
        real.commit()
    browser = Browser(app.test_client()).login(trainee)
    work = text(browser.get("/work"))
    assert "data-tour-opens" in _tour(work)
    assert "Esittelykierros" in work
    assert _indicator(work) == "/work#availability Tila: Poissa · vaihda"
    assert browser.post("/me/tour-seen").status_code == 204
    assert "data-tour-opens" not in _tour(text(browser.get("/work")))
    with app.app_context():
        with Session(db.engines[TRAINING]) as training:
            assert training.get(User, trainee.id).tour_seen_at is not None
        with Session(db.engine) as real:
            assert real.get(User, trainee.id).tour_seen_at is None  # the real desk's is its own
