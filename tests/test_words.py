"""Words and dates as a Finnish, a Finland-Swedish and an English-speaking professional
expect them (issue 15): formats, the order of names, instructions in the reader's language
with emergencies first, templates in the resident's language, dates already past."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from desk import formats, guidance, i18n
from desk.guidance import content
from desk.guidance.instructions import Scope, applicable
from desk.guidance.responses import fill
from desk.models import DigitalService, ResponseTemplate, utcnow
from tests.factories import make_item, make_user
from tests.test_guidance import omaolo_item
from tests.test_instructions import instruction
from tests.web import text

TEMPLATES = json.loads((Path(__file__).parents[1] / "desk/data/templates.json").read_text())

# --- formats (plain) -------------------------------------------------------------------------

# 23.11 in Helsinki on Friday 4 December 2026 (UTC+2)
EVENING = datetime(2026, 12, 4, 21, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "day", "moment", "in_text", "decimal"),
    [
        ("fi", "4.12.2026", "4.12.2026 23.11", "4.12.2026 klo 23.11", "0,3"),
        ("sv", "4.12.2026", "4.12.2026 23.11", "4.12.2026 kl. 23.11", "0,3"),
        ("en", "4 Dec 2026", "4 Dec 2026, 23:11", "4 December 2026 at 23:11", "0.3"),
    ],
)
def test_each_language_writes_days_moments_and_decimals_as_in_finland(
    language, day, moment, in_text, decimal
):
    assert formats.day(date(2026, 12, 4), language) == day
    assert formats.day(EVENING, language) == day  # a moment's day is Finland's
    assert formats.moment(EVENING, language) == moment
    assert formats.moment(EVENING, language, text=True) == in_text
    assert formats.decimal(0.3, language) == decimal


def test_finland_swedish_is_not_written_as_in_sweden():
    # What Babel's sv_FI gives on its own, and what the issue saw on the screen.
    assert formats.day(date(2027, 1, 31), "sv") == "31.1.2027"
    assert "-" not in formats.moment(EVENING, "sv") and ":" not in formats.moment(EVENING, "sv")
    assert formats.decimal(1234.5, "sv") == "1\xa0234,5"


def test_names_sort_as_finnish_and_swedish_dictionaries_do():
    swedish = ["Sibbo", "Åbo", "Lovisa", "Mörskom", "Askola", "Zürich", "Ängelby", "Borgå"]
    assert sorted(swedish, key=lambda n: formats.sort_key(n, "sv")) == [
        "Askola",
        "Borgå",
        "Lovisa",
        "Mörskom",
        "Sibbo",
        "Zürich",
        "Åbo",
        "Ängelby",
    ]
    finnish = ["Myrskylä", "Lapinjärvi", "Äänekoski", "Porvoo", "askola", "Öja", "Loviisa"]
    assert sorted(finnish, key=lambda n: formats.sort_key(n, "fi")) == [
        "askola",
        "Lapinjärvi",
        "Loviisa",
        "Myrskylä",
        "Porvoo",
        "Äänekoski",
        "Öja",
    ]
    # English reads å, ä, ö as their base letters
    assert sorted(["Örebro", "Porvoo", "Ähtäri"], key=lambda n: formats.sort_key(n, "en")) == [
        "Ähtäri",
        "Örebro",
        "Porvoo",
    ]


# --- instructions (plain) --------------------------------------------------------------------


def test_an_emergency_instruction_comes_before_the_municipality_s_own_text():
    emergency = instruction("Omaolo P0: hätätilanne", channel="omaolo", topic="P0")
    transition = instruction("Myrskylä: siirtymävaihe", municipality_code="myrskyla")
    general = instruction("Omaolo-arviot: yleisohje", channel="omaolo")
    elsewhere = instruction("Palvelu toisesta kunnasta", kind="other_municipality")
    scope = Scope(
        municipality="myrskyla",
        system_area="porvoo",
        channel="omaolo",
        service_area="health",
        topics=frozenset({"chest-pain", "P0"}),
        requested_municipality="sipoo",
        requested_system_area="sipoo",
    )
    found = applicable([general, transition, elsewhere, emergency], scope, date(2026, 12, 4))
    assert [v.title_fi for v in found] == [
        "Omaolo P0: hätätilanne",
        "Palvelu toisesta kunnasta",
        "Myrskylä: siirtymävaihe",
        "Omaolo-arviot: yleisohje",
    ]


@pytest.mark.parametrize(
    ("interface", "item", "first"),
    [("sv", "fi", "sv"), ("fi", "sv", "fi"), ("sv", "sv", "sv"), ("en", "sv", "sv")]
    + [("en", "fi", "fi"), ("en", "en", "fi")],
)
def test_instructions_are_read_in_the_professional_s_language_first(interface, item, first):
    assert guidance.reading_language(interface, item) == first


# --- filling templates (plain) ---------------------------------------------------------------


def test_a_date_already_past_is_marked_as_a_problem_of_the_filled_text():
    values = {"first_name": "Aino", "deadline": "2.12.2026"}
    filled = fill("Hei {first_name}, soitamme viimeistään {deadline}.", values, {"deadline"})
    assert filled.text == "Hei Aino, soitamme viimeistään 2.12.2026."
    assert filled.past == ["deadline"] and filled.missing == []
    # A text that does not use the date has nothing past; a future date is no problem.
    assert fill("Hei {first_name}.", values, {"deadline"}).past == []
    assert fill("Viimeistään {deadline}.", values).past == []


def test_a_deadline_is_promised_as_a_day_at_office_closing_else_with_its_time():
    closing = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)  # 16.00 in Helsinki
    urgent = datetime(2026, 12, 4, 13, 30, tzinfo=UTC)
    assert guidance.deadline_text(closing, "sv") == "4.12.2026"
    assert guidance.deadline_text(urgent, "fi") == "4.12.2026 klo 15.30"
    assert guidance.deadline_text(urgent, "sv") == "4.12.2026 kl. 15.30"
    assert guidance.deadline_text(urgent, "en") == "4 December 2026 at 15:30"


def test_the_seed_templates_are_written_in_english_too_and_name_no_queue_to_a_resident():
    for row in TEMPLATES:
        if row["code"].startswith("note-"):
            continue  # internal notes are the record's, in Finnish or Swedish
        assert row.get("title_en") and row.get("body_en"), row["code"]
        for language in ("fi", "sv", "en"):
            assert set(re.findall(r"\{(\w+)\}", row[f"body_{language}"])) == set(
                re.findall(r"\{(\w+)\}", row["body_fi"])
            ), (row["code"], language)
    # The anonymous chat's two templates promised a move to {queue}: the queue it is in.
    for code in ("chat-ask-identification", "chat-transferred"):
        row = next(r for r in TEMPLATES if r["code"] == code)
        assert not any("{queue}" in row[f"body_{lang}"] for lang in ("fi", "sv", "en")), code


# --- through the app -------------------------------------------------------------------------


def _dialog(page: str) -> str:
    return re.search(r'<dialog id="template-dialog".*?</dialog>', page, re.S).group(0)


def _instructions(page: str) -> str:
    return re.search(
        r'<section aria-labelledby="instructions-heading".*?</section>', page, re.S
    ).group(0)


def test_a_swedish_speaking_nurse_reads_a_finnish_item_s_instructions_in_swedish_first(
    browser, app_session
):
    nurse = make_user(app_session, queues=["omaolo-porvoo"], language="sv")
    item = omaolo_item(app_session)
    browser.login(nurse)
    page = text(browser.get(f"/items/{item.id}"))
    panel = _instructions(page)
    first = re.search(r'<h3 id="instruction-\d+" lang="(\w+)">([^<]*)</h3>', panel)
    assert first.group(1) == "sv"
    assert first.group(2) == "Omaolo: luftvägsinfektion (Borgå)"
    assert "<summary>På finska</summary>" in panel  # Finnish one click away
    assert "ämne luftvägsinfektion" in panel and "respiratory-infection" not in panel
    # The templates speak to the resident: in Finnish.
    dialog = _dialog(page)
    assert 'lang="fi"' in dialog and "Hei " in dialog


def test_an_english_speaking_resident_gets_english_templates_with_english_dates(
    browser, app_session
):
    nurse = make_user(app_session, queues=["omaolo-porvoo"], language="sv", name="Sara Sjöberg")
    item = omaolo_item(app_session, due_in=timedelta(hours=2))
    item.language = "en"
    item.resident_name = "John Smith"
    app_session.flush()
    browser.login(nurse)
    dialog = _dialog(text(browser.get(f"/items/{item.id}")))
    callback = re.search(r"Hello John, thank you for your Omaolo symptom assessment[^<]*", dialog)
    assert callback, dialog[:2000]
    promised = re.search(r"by (\d{1,2} \w+ \d{4} at \d{2}:\d{2}) at the latest", callback.group(0))
    assert promised, callback.group(0)
    assert 'lang="en"' in dialog


def test_a_past_deadline_in_a_template_is_shown_as_a_problem_before_it_is_used(
    browser, app_session
):
    nurse = make_user(app_session, queues=["omaolo-porvoo"], language="sv")
    item = omaolo_item(app_session, due_in=timedelta(hours=-3))
    item.language = "sv"
    item.resident_name = "Elsa Lindqvist"
    app_session.flush()
    browser.login(nurse)
    dialog = _dialog(text(browser.get(f"/items/{item.id}")))
    choice = re.search(r"En sjukskötare ringer dig senast.*?</li>", dialog, re.S).group(0)
    assert re.search(r"senast \d{1,2}\.\d{1,2}\.\d{4}", choice)  # in the resident's Swedish
    warning = re.search(r'<p class="alert alert-warning template-past" id="([^"]+)">', choice)
    assert warning and "har redan passerat" in choice
    assert warning.group(1) in re.search(r"data-insert-template[^>]*", choice).group(0)
    # A template without the date has nothing to warn about.
    greeting = re.search(r"Hej Elsa, jag har gått igenom.*?</li>", dialog, re.S).group(0)
    assert "template-past" not in greeting
    # The same item, not yet due: no warning anywhere.
    item.due_at = utcnow() + timedelta(hours=1)
    app_session.flush()
    assert "template-past" not in _dialog(text(browser.get(f"/items/{item.id}")))


def test_the_matrix_names_services_and_sorts_municipalities_in_swedish(browser, app_session):
    nurse = make_user(app_session, language="sv")
    browser.login(nurse)
    page = text(browser.get("/services?on=2026-12-04"))
    assert "eHälsa – tidsbokning" in page and "eTerveys – ajanvaraus" not in page
    assert "PHHYKY:s e-tjänster" in page and "PHHYKY:n sähköiset palvelut" not in page
    heads = re.search(r"<thead>.*?</thead>", page, re.S).group(0)
    names = re.findall(r'<th scope="col">([^<]+)</th>', heads)[1:]
    assert names == sorted(names, key=lambda n: formats.sort_key(n, "sv"))
    assert names.index("Mörskom") < names.index("Pukkila") < names.index("Sibbo")
    assert names[0] == "Askola" and names.index("Borgå") < names.index("Lappträsk")


def test_reports_say_one_item_in_the_singular(browser, app_session):
    lead = make_user(app_session, role="team_lead", language="sv")
    item = make_item(
        app_session, submitted_at=utcnow() - timedelta(hours=3), due_in=timedelta(hours=-1)
    )
    item.first_action_at = item.submitted_at + timedelta(minutes=5)  # in time
    app_session.flush()
    browser.login(lead)
    page = " ".join(text(browser.get("/reports")).split())
    deadlines = re.search(r"Under perioden gick (\d+) tidsfrist(er)? ut\.", page)
    assert deadlines, "the sentence on deadlines"
    assert deadlines.group(0) == "Under perioden gick 1 tidsfrist ut."
    assert "Den första åtgärden hann i tid i 1 ärende, avgörandet i 0." in page


def test_seeding_again_brings_english_and_corrected_texts_but_keeps_the_editors(app_session):
    rows = {
        t.code: t
        for t in app_session.scalars(
            select(ResponseTemplate).where(
                ResponseTemplate.code.in_(
                    ["chat-ask-identification", "chat-transferred", "omaolo-callback"]
                )
            )
        )
    }
    asking, moved, callback = (
        rows["chat-ask-identification"],
        rows["chat-transferred"],
        rows["omaolo-callback"],
    )
    # As an older desk has them: the superseded text, no English; one edited by an editor.
    old = next(r for r in TEMPLATES if r["code"] == "chat-ask-identification")["superseded"]
    asking.body_fi, asking.body_sv = old["body_fi"], old["body_sv"]
    asking.title_en = asking.body_en = None
    moved.body_fi = "Oma tekstimme {queue}."
    callback.title_en, callback.body_en = "", ""  # an editor took the English away
    service = app_session.scalars(
        select(DigitalService).where(DigitalService.name == "eTerveys – ajanvaraus")
    ).first()
    service.name_sv = None
    app_session.flush()
    content.load(app_session)
    assert "tunnistautuneiden asukkaiden chattiin" in asking.body_fi
    assert "{queue}" not in asking.body_sv and asking.body_en.startswith("To look at")
    assert moved.body_fi == "Oma tekstimme {queue}."  # the editors' text stays theirs
    assert callback.body_en == ""
    assert service.name_sv == "eHälsa – tidsbokning"


def test_english_is_optional_in_a_template_but_a_title_needs_its_text():
    from desk.guidance.responses import check_template

    known = dict(municipalities=set(), channels=set(), service_areas=set())
    good = {"title_fi": "Kiitos", "title_sv": "Tack", "body_fi": "Kiitos!", "body_sv": "Tack!"}
    values, problems = check_template(good, **known)
    assert problems == {} and values["title_en"] == "" and values["body_en"] == ""
    _, problems = check_template({**good, "title_en": "Thanks"}, **known)
    assert problems == {"body_en": "required"}
    _, problems = check_template({**good, "body_en": "Hi {etunimi}"}, **known)
    assert problems == {"title_en": "required", "body_en": "unknown_placeholder"}
    values, _ = check_template({**good, "title_en": "Thanks", "body_en": "Thank you!"}, **known)
    template = ResponseTemplate(**{k: v for k, v in values.items() if k != "active"})
    assert template.text_language("en") == "en" and template.body("en") == "Thank you!"
    template.body_en = ""  # without English, an English-speaking resident gets Finnish
    assert template.text_language("en") == "fi" and template.title("en") == "Thanks"


def test_an_editor_names_a_service_in_swedish_and_english(app, app_session):
    from tests.web import Browser

    lead = Browser(app.test_client()).login(make_user(app_session, role="team_lead"))
    form = {
        "municipality_code": "askola",
        "kind": "remote_reception",
        "name": "Askolan etävastaanotto",
        "name_sv": "Askolas distansmottagning",
        "name_en": "",
        "url": "https://askola.example/eta",
        "note_fi": "",
        "note_sv": "",
        "valid_from": "",
        "last_day": "",
    }
    assert lead.post("/services", form, htmx=False).status_code == 302
    service = app_session.scalar(
        select(DigitalService).where(DigitalService.name == "Askolan etävastaanotto")
    )
    assert service.name_sv == "Askolas distansmottagning" and service.name_en is None
    assert service.name_in("en") == "Askolan etävastaanotto"
    swedish = Browser(app.test_client()).login(make_user(app_session, language="sv"))
    assert "Askolas distansmottagning" in text(swedish.get("/services"))
    edit = text(lead.get(f"/services/{service.id}/edit"))
    assert 'value="Askolas distansmottagning"' in edit


@pytest.mark.parametrize(
    ("singular", "plural", "swedish"),
    [
        ("%(num)d item moved.", "%(num)d items moved.", "1 ärende flyttades."),
        (
            "You are offline. %(num)d untouched item went back to its queue.",
            "You are offline. %(num)d untouched items went back to their queues.",
            "Du är frånvarande. 1 orört ärende gick tillbaka till sin kö.",
        ),
        ("and %(num)d more line", "and %(num)d more lines", "och 1 rad till"),
        (
            "%(num)d day of phone calls imported.",
            "%(num)d days of phone calls imported.",
            "Samtalsmängder importerades för 1 dag.",
        ),
        ("%(num)d template", "%(num)d templates", "1 svarsmall"),
    ],
)
def test_one_of_a_kind_is_said_in_the_singular_in_swedish(app, singular, plural, swedish):
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale("sv_FI"):
        assert ngettext(singular, plural, 1) == swedish
        assert ngettext(singular, plural, 2) != swedish.replace("1", "2")


# --- templates compiled per language (i18n.Environment) ---------------------------------------

PAGE = """<h1>{{ _("My work") }}</h1>
<p>{{ _("90 %% within") }} · {{ gettext("Status: %(status)s", status=status) }}</p>
<p>{% trans %}Sign out{% endtrans %} · {% trans n=3 %}{{ n }} min{% endtrans %}</p>
<p>{{ ngettext("%(num)d item is waiting in your queues.",
               "%(num)d items are waiting in your queues.", 2) }}</p>
<p>{{ _("Not in the catalogue & <kept> as written") }}</p>"""


@pytest.mark.parametrize("name", ["page.html", "page.txt"])
def test_a_template_translated_when_compiled_shows_what_translating_when_shown_does(
    app, name, monkeypatch
):
    """Constant texts are translated once, when a template is compiled for a language; the
    page is the same as when every text is translated as it is shown: escaped or not (HTML,
    plain text), "%%" written as "%", placeholders filled, in each language apart."""
    from flask_babel import force_locale
    from jinja2 import DictLoader

    environment = app.jinja_env.overlay(loader=DictLoader({name: PAGE}))
    autoescape = name.endswith(".html")  # as Flask chooses
    shown = environment.overlay(autoescape=autoescape).from_string(PAGE)
    looked_up = []
    catalogue = i18n._translations
    monkeypatch.setattr(i18n, "_translations", lambda: looked_up.append(1) or catalogue())
    words = {"fi_FI": "Oma työ", "sv_FI": "Mitt arbete", "en_FI": "My work"}
    for locale, heading in [*words.items(), ("fi_FI", words["fi_FI"])]:
        with app.test_request_context(), force_locale(locale):
            compiled = environment.get_template(name)
            looked_up.clear()
            folded = compiled.render(status="<b>")
            assert len(looked_up) == 3, "only the texts with something to fill in are looked up"
            assert environment.get_template(name) is compiled, "kept for this language"
            assert folded == shown.render(status="<b>")
        assert f"<h1>{heading}</h1>" in folded
        assert ("<b>" in folded) != autoescape and ("&lt;b&gt;" in folded) == autoescape
        assert "%%" not in folded
