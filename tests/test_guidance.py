"""Instructions, the service matrix and response templates through the real app on
PostgreSQL, with the seeded content."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from desk.inbound.deadlines import HELSINKI
from desk.models import (
    Instruction,
    InstructionVersion,
    ItemEvent,
    ResponseTemplate,
    SystemAreaMembership,
    TemplateUse,
    utcnow,
)
from desk.views.guidance import _version_values
from tests.factories import make_item, make_user
from tests.web import Browser, text

SEED = json.loads((Path(__file__).parents[1] / "desk/data/instructions.json").read_text())


def seeded(code: str) -> dict:
    return next(row for row in SEED if row["code"] == code)


def omaolo_item(session, municipality="porvoo", code="respiratory-infection", urgency="P4", **kw):
    return make_item(
        session,
        channel="omaolo",
        queue=f"omaolo-{municipality}",
        municipality=municipality,
        content={
            "assessment": {
                "kind": "symptom",
                "code": code,
                "title": "Hengitystieinfektio",
                "urgency": urgency,
                "recommendation": "Hakeudu kiireettömälle vastaanotolle.",
            }
        },
        **kw,
    )


def instructions_panel(page: str) -> str:
    return re.search(
        r'<section aria-labelledby="instructions-heading".*?</section>', page, re.S
    ).group(0)


def test_the_item_shows_the_instructions_for_its_municipality_channel_and_topic(
    browser, app_session
):
    porvoo = seeded("omaolo-respiratory-porvoo")
    sipoo = seeded("omaolo-respiratory-sipoo")
    regional = seeded("omaolo-chest-pain")
    nurse = make_user(app_session, queues=["omaolo-porvoo", "omaolo-sipoo"])
    item = omaolo_item(app_session)
    browser.login(nurse)
    panel = instructions_panel(text(browser.get(f"/items/{item.id}")))
    assert porvoo["title_fi"] in panel
    assert sipoo["title_fi"] not in panel
    assert porvoo["title_sv"] in panel  # the other language is one click away
    assert regional["title_fi"] not in panel  # another topic
    # The same item in Sipoo gets Sipoo's.
    other = omaolo_item(app_session, municipality="sipoo")
    panel = instructions_panel(text(browser.get(f"/items/{other.id}")))
    assert sipoo["title_fi"] in panel and porvoo["title_fi"] not in panel


def _instruction_id(session, code: str) -> int:
    return session.scalar(select(Instruction.id).where(Instruction.code == code))


def _form(version: InstructionVersion, **changes) -> dict:
    """The editor's form as it is filled for this version, with some fields changed."""
    return {**_version_values(version), **changes}


def test_an_edit_is_a_new_version_and_the_item_says_what_changed_since_it_arrived(app, app_session):
    lead = make_user(app_session, role="team_lead", queues=["omaolo-porvoo"])
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    item = omaolo_item(app_session)
    instruction_id = _instruction_id(app_session, "omaolo-respiratory-porvoo")
    first = app_session.get(Instruction, instruction_id).current
    editor = Browser(app.test_client()).login(lead)
    editor.get(f"/instructions/{instruction_id}/edit")
    answer = editor.post(
        f"/instructions/{instruction_id}",
        _form(first, body_fi="Uusi ohje: **soita** asukkaalle ennen ajanvarausta."),
        htmx=False,
    )
    assert answer.status_code == 302
    versions = app_session.scalars(
        select(InstructionVersion)
        .where(InstructionVersion.instruction_id == instruction_id)
        .order_by(InstructionVersion.number)
    ).all()
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].body_fi == first.body_fi, "the earlier version is kept as it was"
    assert versions[1].author_id == lead.id

    viewer = Browser(app.test_client()).login(nurse)
    panel = instructions_panel(text(viewer.get(f"/items/{item.id}")))
    assert "Uusi ohje: <strong>soita</strong> asukkaalle" in panel
    assert "Muuttunut asian saapumisen jälkeen" in panel
    assert "versio 1" in panel  # what it said when the item arrived, one click away

    history = text(viewer.get(f"/instructions/{instruction_id}"))
    assert "Versio 2" in history and "Versio 1" in history and lead.display_name in history


def test_a_bad_edit_changes_nothing_and_only_leads_and_admins_edit(app, app_session):
    lead = make_user(app_session, role="team_lead")
    nurse = make_user(app_session)
    instruction_id = _instruction_id(app_session, "income-support-porvoo")
    current = app_session.get(Instruction, instruction_id).current
    editor = Browser(app.test_client()).login(lead)
    editor.get("/instructions/new")
    for bad in (
        {"title_fi": ""},
        {"municipality": "porvoo", "system_area": "sipoo"},
        {"valid_to": "2020-01-01"},
        {"channel": "fax"},
        {"valid_from": "31.12.2026"},
    ):
        answer = editor.post(f"/instructions/{instruction_id}", _form(current, **bad), htmx=False)
        assert answer.status_code == 422, bad
        assert "Ohjetta ei tallennettu" in text(answer)
    count = app_session.scalar(
        select(func.count()).where(InstructionVersion.instruction_id == instruction_id)
    )
    assert count == 1

    professional = Browser(app.test_client()).login(nurse)
    assert professional.get(f"/instructions/{instruction_id}/edit").status_code == 403
    answer = professional.post(f"/instructions/{instruction_id}", _form(current), htmx=False)
    assert answer.status_code == 403
    assert professional.get(f"/instructions/{instruction_id}").status_code == 200  # may read


def test_two_instructions_for_the_same_scope_and_day_are_flagged(app, app_session):
    lead = make_user(app_session, role="team_lead")
    editor = Browser(app.test_client()).login(lead)
    editor.get("/instructions/new")
    existing = app_session.get(
        Instruction, _instruction_id(app_session, "income-support-porvoo")
    ).current
    answer = editor.post(
        "/instructions",
        _form(existing, title_fi="Toinen toimeentulotukiohje", valid_from="2026-12-01"),
        htmx=False,
    )
    assert answer.status_code == 302
    page = text(editor.get(answer.headers["Location"]))
    assert "menee päällekkäin" in page and existing.title_fi in page
    listing = text(editor.get("/instructions"))
    assert "Päällekkäin:" in listing


def test_a_resident_asking_service_elsewhere_gets_that_instruction(browser, app_session):
    nurse = make_user(app_session, queues=["omaolo-sipoo"])
    item = omaolo_item(app_session, municipality="sipoo")
    browser.login(nurse)
    general = seeded("other-municipality-general")
    porvoo = seeded("other-municipality-porvoo")
    page = text(browser.get(f"/items/{item.id}"))
    assert general["title_fi"] not in page and porvoo["title_fi"] not in page
    answer = browser.post(f"/items/{item.id}/elsewhere", {"municipality": "porvoo"})
    assert answer.status_code == 200
    panel = instructions_panel(text(answer))
    assert porvoo["title_fi"] in panel and general["title_fi"] not in panel
    event = app_session.scalars(
        select(ItemEvent).where(
            ItemEvent.item_id == item.id, ItemEvent.kind == "requested_elsewhere"
        )
    ).one()
    assert event.municipality_code == "porvoo"
    answer = browser.post(f"/items/{item.id}/elsewhere", {"municipality": "askola"})
    assert general["title_fi"] in instructions_panel(text(answer))
    assert browser.post(f"/items/{item.id}/elsewhere", {"municipality": "x"}).status_code == 409


def test_templates_are_filled_from_the_item_and_counted_when_saved(app, browser, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"], name="Hanna Hoitaja")
    item = omaolo_item(app_session)
    item.resident_name = "Aino Virtanen"
    app_session.flush()
    browser.login(nurse)
    page = text(browser.get(f"/items/{item.id}"))
    dialog = re.search(r'<dialog id="template-dialog".*?</dialog>', page, re.S).group(0)
    # The resident is told the name the professional shows residents: her first name.
    assert "Hei Aino," in dialog and "Terveisin Hanna<" in dialog and "Hanna Hoitaja" not in dialog
    assert "{first_name}" not in dialog and "{professional}" not in dialog

    template = app_session.scalars(
        select(ResponseTemplate).where(ResponseTemplate.body_fi.contains("{first_name}"))
    ).first()
    # A placeholder left in: refused with its name, the text kept, nothing counted.
    answer = browser.post(
        f"/items/{item.id}/note",
        {"text": "Hei {first_name}, soitan huomenna.", "template_ids": str(template.id)},
    )
    assert answer.status_code == 409
    assert "{first_name}" in text(
        answer
    ) and "Hei {first_name}, soitan huomenna.</textarea>" in text(answer)
    assert app_session.scalar(select(func.count()).select_from(TemplateUse)) == 0

    answer = browser.post(
        f"/items/{item.id}/note",
        {"text": "Hei Aino, soitan huomenna.", "template_ids": f"{template.id},{template.id}"},
    )
    assert answer.status_code == 200
    uses = app_session.scalars(select(TemplateUse)).all()
    assert [(u.template_id, u.item_id, u.user_id) for u in uses] == [
        (template.id, item.id, nurse.id)
    ]
    listing = text(browser.get("/templates"))
    row = re.search(rf"{re.escape(template.title_fi)}.*?</tr>", listing, re.S).group(0)
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["1", "1"]


def test_the_service_matrix_on_a_day_and_two_side_by_side(browser, app_session):
    browser.login(make_user(app_session))
    before = text(browser.get("/services?on=2026-12-31"))
    after = text(browser.get("/services?on=2027-01-01"))

    def offered(page: str, name: str) -> bool:
        return re.search(rf"<li>\s*(<a [^>]*>)?{name}\b", page) is not None

    assert offered(before, "Oma asiointi -lomakkeet") and not offered(before, "Case M")
    assert offered(after, "Case M") and not offered(after, "Oma asiointi -lomakkeet")
    compared = text(browser.get("/services?on=2026-12-01&compare=sipoo&compare=askola"))
    head = re.search(r"<thead>.*?</thead>", compared, re.S).group(0)
    assert "Sipoo" in head and "Askola" in head and "Porvoo" not in head
    assert "eroaa" in compared


def test_a_service_row_is_checked_and_its_last_day_kept_as_the_day_after():
    from datetime import date

    from desk.guidance import check_service

    form = {
        "municipality_code": "askola",
        "kind": "self_booking",
        "name": "Askolan ajanvaraus",
        "url": "https://askola.example/ajanvaraus",
        "valid_from": "2027-02-01",
        "last_day": "2027-06-30",
    }
    values, problems = check_service(form, municipalities={"askola"})
    assert problems == {}
    assert (values["valid_from"], values["valid_to"]) == (date(2027, 2, 1), date(2027, 7, 1))
    bad = {
        **form,
        "kind": "telepathy",
        "url": "javascript:alert(1)",
        "last_day": "2027-01-31",
        "name": " ",
    }
    assert check_service(bad, municipalities={"askola"}) == (
        None,
        {"kind": "unknown", "url": "bad_url", "last_day": "ends_before_start", "name": "required"},
    )
    assert check_service({**form, "municipality_code": "turku"}, municipalities={"askola"})[1] == {
        "municipality_code": "unknown"
    }


def test_leads_add_and_end_services_and_the_seed_keeps_their_changes(app, app_session):
    from desk.guidance import content
    from desk.models import DigitalService

    # A service that starts in three months and one that ends in five, whatever the day.
    today = utcnow().astimezone(HELSINKI).date()
    starts, last_day = today + timedelta(days=90), today + timedelta(days=150)
    lead = Browser(app.test_client()).login(make_user(app_session, role="team_lead"))
    nurse = Browser(app.test_client()).login(make_user(app_session))
    assert nurse.get("/services/new").status_code == 403
    assert "/services/new" not in text(nurse.get("/services"))
    form = {
        "municipality_code": "askola",
        "kind": "remote_reception",
        "name": "Askolan etävastaanotto",
        "url": "https://askola.example/eta",
        "note_fi": "Ajanvaraus chatissa.",
        "note_sv": "",
        "valid_from": starts.isoformat(),
        "last_day": "",
    }
    refused = lead.post("/services", {**form, "url": "javascript:alert(1)"}, htmx=False)
    assert refused.status_code == 422 and "https:// tai http://" in text(refused)
    saved = lead.post("/services", form, htmx=False)
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"on={starts}")

    def matrix(day: str) -> str:
        page = text(lead.get(f"/services?on={day}"))
        return re.search(r'<table class="matrix.*?</table>', page, re.S).group(0)

    assert "Askolan etävastaanotto" in matrix(starts.isoformat())
    assert "Askolan etävastaanotto" not in matrix((starts - timedelta(days=1)).isoformat())
    service = app_session.scalar(
        select(DigitalService).where(DigitalService.name == "Askolan etävastaanotto")
    )
    assert service.updated_by and service.updated_at
    # A seeded row: a lead gives it a last day; loading the seed again keeps the change.
    seeded = app_session.scalar(
        select(DigitalService)
        .where(
            DigitalService.municipality_code == "porvoo",
            DigitalService.kind == "self_booking",
            DigitalService.valid_from.is_(None),
            DigitalService.valid_to.is_(None),
        )
        .limit(1)
    )
    edit = text(lead.get(f"/services/{seeded.id}/edit"))
    assert f'value="{seeded.name}"' in edit
    changed = {
        "municipality_code": seeded.municipality_code,
        "kind": seeded.kind,
        "name": seeded.name,
        "url": seeded.url or "",
        "note_fi": "Muutettu.",
        "note_sv": seeded.note_sv,
        "valid_from": seeded.valid_from.isoformat() if seeded.valid_from else "",
        "last_day": last_day.isoformat(),
    }
    assert lead.post(f"/services/{seeded.id}", changed, htmx=False).status_code == 302
    content.load_services(app_session)
    app_session.flush()
    app_session.refresh(seeded)
    assert seeded.note_fi == "Muutettu." and seeded.valid_to == last_day + timedelta(days=1)
    row = f'href="/services/{seeded.id}/edit"'  # the row's own edit link
    assert row in matrix(last_day.isoformat())
    assert row not in matrix((last_day + timedelta(days=1)).isoformat())


def test_the_preview_shows_what_the_item_page_shows(browser, app_session):
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    item = omaolo_item(app_session)
    browser.login(nurse)
    on_item = instructions_panel(text(browser.get(f"/items/{item.id}")))
    preview = instructions_panel(
        text(
            browser.get(
                "/instructions/preview?municipality=porvoo&channel=omaolo&service_area=health"
                "&topic=respiratory-infection"
            )
        )
    )
    titles = re.compile(r'<h3 id="instruction-\d+" lang="fi">(.*?)</h3>')
    assert titles.findall(on_item) == titles.findall(preview) != []


def test_team_leads_write_templates_and_an_unused_one_is_not_offered(app, app_session):
    lead = make_user(app_session, role="team_lead")
    nurse = make_user(app_session, queues=["omaolo-porvoo"])
    item = omaolo_item(app_session)
    editor = Browser(app.test_client()).login(lead)
    editor.get("/templates/new")
    form = {
        "title_fi": "Korvakipu: kotihoito-ohje",
        "title_sv": "Öronvärk: egenvård",
        "body_fi": "Hei {first_name}, tässä ohje kotihoitoon.",
        "body_sv": "Hej {first_name}, här är anvisningen.",
        "municipality": "porvoo",
        "channel": "omaolo",
        "active": "on",
    }
    refused = editor.post("/templates", {**form, "body_fi": "Hei {etunimi}"}, htmx=False)
    assert refused.status_code == 422 and "Käytä vain" in text(refused)
    assert editor.post("/templates", form, htmx=False).status_code == 302
    template = app_session.scalars(
        select(ResponseTemplate).where(ResponseTemplate.title_fi == form["title_fi"])
    ).one()
    professional = Browser(app.test_client()).login(nurse)
    assert professional.get(f"/templates/{template.id}/edit").status_code == 403
    assert professional.post("/templates", form, htmx=False).status_code == 403
    assert form["title_fi"] in text(professional.get(f"/items/{item.id}"))

    editor.get(f"/templates/{template.id}/edit")
    answer = editor.post(f"/templates/{template.id}", {**form, "active": ""}, htmx=False)
    assert answer.status_code == 302
    assert form["title_fi"] not in text(professional.get(f"/items/{item.id}"))


def test_a_municipality_moved_to_another_system_area_gets_that_areas_instructions(
    browser, app_session
):
    """The system areas' memberships are kept with the other reference tables (desk.kept):
    a new one is read at the next page, not the kept one."""
    sipoo = seeded("omaolo-respiratory-sipoo")
    nurse = make_user(app_session, queues=["omaolo-askola"])
    item = omaolo_item(app_session, municipality="askola")
    browser.login(nurse)
    assert sipoo["title_fi"] not in instructions_panel(text(browser.get(f"/items/{item.id}")))

    yesterday = utcnow().astimezone(HELSINKI).date() - timedelta(days=1)
    app_session.add(
        SystemAreaMembership(
            municipality_code="askola", system_area_code="sipoo", valid_from=yesterday
        )
    )
    app_session.commit()
    assert sipoo["title_fi"] in instructions_panel(text(browser.get(f"/items/{item.id}")))
